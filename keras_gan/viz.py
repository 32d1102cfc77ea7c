"""Pictures: sample grids, loss curves and GIFs.

Plots are drawn on `matplotlib.figure.Figure` objects with the Agg canvas,
never through pyplot's global state, so they work headless, in threads and
inside training loops without leaking figures. Nothing here knows a model
class: functions take arrays and paths.
"""

import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _new_figure(figsize):
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path, dpi=100):
    """Saves a figure to `path` atomically (written beside, then renamed).

    Args:
        fig: A `matplotlib.figure.Figure`.
        path: Destination file; its parent directories are created.
        dpi: Resolution in dots per inch.

    Returns:
        The path as a string.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{path.suffix}")
    fig.savefig(tmp, dpi=dpi)
    os.replace(tmp, path)
    return str(path)


def save_image_grid(images, path, rows=5, cols=5, title=None):
    """Saves images in [-1, 1] as a `rows` x `cols` grid PNG.

    As in the DCGAN document: one subplot per image, gray colour map for
    one channel, axes off.

    Args:
        images: Array `(n, H, W, C)` or `(n, H, W)` with values in [-1, 1].
        path: Destination PNG path; parent directories are created.
        rows: Number of rows. Defaults to `5`.
        cols: Number of columns. Defaults to `5`.
        title: Optional title above the grid.

    Returns:
        The path written, as a string.

    Example:

    >>> import numpy as np
    >>> save_image_grid(np.zeros((25, 28, 28, 1)), "/tmp/grid.png")
    '/tmp/grid.png'
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[0] < rows * cols:
        raise ValueError(
            f"A {rows}x{cols} grid needs {rows * cols} images. Received: {images.shape[0]}"
        )
    images = np.clip(0.5 * images + 0.5, 0.0, 1.0)  # [-1, 1] -> [0, 1]
    fig = _new_figure((cols, rows))
    axs = fig.subplots(rows, cols, squeeze=False)
    for i in range(rows):
        for j in range(cols):
            img = images[i * cols + j]
            if img.shape[-1] == 1:
                axs[i, j].imshow(img[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
            else:
                axs[i, j].imshow(img)
            axs[i, j].axis("off")
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9 if title else 0.98)
    return save_figure(fig, path)


def plot_history(history, path, title="Training losses", xlabel="iteration"):
    """Plots every series of a history (loss curves) into one PNG.

    Args:
        history: A dict of name -> list of numbers, or a
            `keras.callbacks.History`.
        path: Destination PNG path.
        title: Figure title.
        xlabel: Label of the x axis.

    Returns:
        The path written, as a string.
    """
    series = getattr(history, "history", history)
    series = {k: np.asarray(v, dtype=float) for k, v in series.items() if len(v)}
    if not series:
        raise ValueError("The history holds no values to plot.")
    losses = {k: v for k, v in series.items() if "acc" not in k}
    others = {k: v for k, v in series.items() if "acc" in k}
    fig = _new_figure((8, 4.5 if not others else 6.5))
    axs = fig.subplots(2 if others else 1, 1, squeeze=False, sharex=True)[:, 0]
    for ax, group, ylabel in ((axs[0], losses, "loss"), (axs[-1], others, "accuracy")):
        for name, values in group.items():
            x = np.arange(1, len(values) + 1)
            ax.plot(x, values, lw=0.6, alpha=0.35)
            if len(values) >= 20:  # a running mean makes noisy GAN losses readable
                k = max(len(values) // 50, 5)
                smooth = np.convolve(values, np.ones(k) / k, mode="valid")
                ax.plot(x[k - 1 :], smooth, lw=1.6, label=f"{name} (mean of {k})")
            else:
                ax.plot(x, values, lw=1.6, label=name)
        ax.set_ylabel(ylabel)
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    axs[-1].set_xlabel(xlabel)
    axs[0].set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


def make_gif(image_paths, path, duration_ms=200):
    """Writes an animated GIF from image files, in the order given.

    Args:
        image_paths: Sequence of image file paths (PNG grids, say).
        path: Destination `.gif` path.
        duration_ms: Time each frame is shown, in milliseconds.

    Returns:
        The path written, as a string.
    """
    from PIL import Image

    image_paths = list(image_paths)
    if not image_paths:
        raise ValueError("make_gif needs at least one image file.")
    frames = []
    for p in image_paths:
        with Image.open(p) as im:
            frames.append(im.convert("P", palette=Image.ADAPTIVE))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.gif")
    frames[0].save(tmp, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    os.replace(tmp, path)
    return str(path)
