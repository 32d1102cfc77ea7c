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


def _temporary_path(path):
    """The file `path` is written to before its atomic rename.

    Named after this process, so two writers never share one; temporary
    files that killed writers of the same target left behind (their process
    is gone) are removed first, so a crash leaves no litter after the next
    write (POSIX: a process's existence is checked with signal 0).
    """
    if os.name == "posix":
        for stale in path.parent.glob(f".{path.name}.tmp*{path.suffix}"):
            pid = stale.name[len(f".{path.name}.tmp") : -len(path.suffix) or None]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                stale.unlink(missing_ok=True)
    return path.with_name(f".{path.name}.tmp{os.getpid()}{path.suffix}")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


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
    tmp = _temporary_path(path)
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
    tmp = _temporary_path(path.with_suffix(".gif"))
    frames[0].save(tmp, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    os.replace(tmp, path)
    return str(path)


# ------------------------------------------------- Gaussian GAN pictures


def _ellipse_2sigma(ax, points, color):
    """Draws the mean (a cross) and the 2-sigma covariance ellipse of points."""
    from matplotlib.patches import Ellipse

    mean = points.mean(axis=0)
    cov = np.cov(points, rowvar=False)
    vals, vecs = np.linalg.eigh(cov)  # ascending; the last is the major axis
    vals = np.clip(vals, 0.0, None)
    angle = np.degrees(np.arctan2(vecs[1, -1], vecs[0, -1]))
    ax.add_patch(
        Ellipse(
            mean,
            width=4 * np.sqrt(vals[-1]),  # full axis length: 2 sigma each side
            height=4 * np.sqrt(vals[0]),
            angle=angle,
            fill=False,
            color=color,
            lw=2,
        )
    )
    ax.plot(*mean, marker="x", color=color, ms=12, mew=3)


def plot_scatter_2d(real, fake, path, title="Real vs generated", max_points=1000):
    """Scatter of real and generated 2-D points with means and 2-sigma ellipses.

    Each distribution's sample mean is marked with a cross and its sample
    covariance drawn as the ellipse holding points within 2 standard
    deviations (Mahalanobis distance 2).

    Args:
        real: Array `(n, 2)` of real points.
        fake: Array `(m, 2)` of generated points.
        path: Destination PNG path.
        title: Figure title.
        max_points: At most this many points of each set are drawn; the
            means and ellipses use all of them.

    Returns:
        The path written, as a string.
    """
    real, fake = np.asarray(real, dtype=float), np.asarray(fake, dtype=float)
    for name, a in (("real", real), ("fake", fake)):
        if a.ndim != 2 or a.shape[1] != 2 or len(a) < 2:
            raise ValueError(f"{name} must be (n >= 2, 2) points. Received: shape {a.shape}")
    fig = _new_figure((6, 5))
    ax = fig.subplots()
    for a, color, label in ((real, "tab:blue", "real"), (fake, "tab:orange", "generated")):
        ax.scatter(a[:max_points, 0], a[:max_points, 1], s=6, alpha=0.4, color=color, label=label)
        _ellipse_2sigma(ax, a, color)
    ax.set_title(f"{title}\n(x: mean, ellipse: 2-sigma covariance)", fontsize=10)
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_histogram_1d(real, fake, path, mean, std, title="Generated vs real", bins=50):
    """Histograms of real and generated 1-D values over the target density.

    Args:
        real: Array of real values (any shape; flattened).
        fake: Array of generated values (any shape; flattened).
        path: Destination PNG path.
        mean: Target normal mean.
        std: Target normal standard deviation.
        title: Figure title.
        bins: Number of histogram bins.

    Returns:
        The path written, as a string.
    """
    real = np.asarray(real, dtype=float).ravel()
    fake = np.asarray(fake, dtype=float).ravel()
    lo = min(real.min(), fake.min(), mean - 4 * std)
    hi = max(real.max(), fake.max(), mean + 4 * std)
    edges = np.linspace(lo, hi, bins + 1)
    fig = _new_figure((7, 4.5))
    ax = fig.subplots()
    ax.hist(real, bins=edges, density=True, alpha=0.45, label="real", color="tab:blue")
    ax.hist(fake, bins=edges, density=True, alpha=0.45, label="generated", color="tab:orange")
    t = np.linspace(lo, hi, 400)
    density = np.exp(-0.5 * ((t - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))
    ax.plot(t, density, color="k", lw=2, label=f"target N({mean:g}, {std:g}²)")
    ax.set_xlabel("value")
    ax.set_ylabel("density")
    ax.set_title(f"{title}\ngenerated mean {fake.mean():.3f}, std {fake.std():.3f}", fontsize=10)
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_stats_over_training(epochs, means, stds, path, target_mean, target_std, title=None):
    """Generated mean and std over training against their targets.

    Args:
        epochs: Sequence of epoch numbers (x axis).
        means: Generated mean at each epoch.
        stds: Generated standard deviation at each epoch.
        path: Destination PNG path.
        target_mean: The real distribution's mean (dashed line).
        target_std: The real distribution's std (dashed line).
        title: Optional figure title.

    Returns:
        The path written, as a string.
    """
    epochs = np.asarray(epochs, dtype=float)
    means, stds = np.asarray(means, dtype=float), np.asarray(stds, dtype=float)
    if not (len(epochs) == len(means) == len(stds)) or not len(epochs):
        raise ValueError(
            "epochs, means and stds must be non-empty and equally long. Received: "
            f"{len(epochs)}, {len(means)}, {len(stds)}"
        )
    fig = _new_figure((8, 5.5))
    axs = fig.subplots(2, 1, sharex=True)
    for ax, values, target, name in (
        (axs[0], means, target_mean, "mean"),
        (axs[1], stds, target_std, "std"),
    ):
        ax.plot(epochs, values, lw=1.2, color="tab:orange", label=f"generated {name}")
        ax.axhline(target, ls="--", color="k", label=f"target {target:g}")
        ax.set_ylabel(name)
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    axs[-1].set_xlabel("epoch")
    axs[0].set_title(title or "Generated statistics over training")
    fig.tight_layout()
    return save_figure(fig, path)


# ------------------------------------------------- quality over training


def plot_quality(history, path, quality_keys=None, title="Losses and sample quality"):
    """Plots the losses beside the sample-quality figures over training.

    The left panel holds the loss curves (as `plot_history`); the right
    column holds one panel per quality figure (`classifier_score`,
    `frechet_distance`, `modes` as `keras_gan.callbacks.QualityLogger`
    logs them), drawn at the iterations where they were measured (the
    history's NaN entries between measurements are skipped).

    Args:
        history: A dict of name -> list of numbers, or a
            `keras.callbacks.History` (its `epoch` gives the x values).
        path: Destination PNG path.
        quality_keys: Names of the quality series. Defaults to those of
            the three above that the history holds.
        title: Figure title.

    Returns:
        The path written, as a string.

    Raises:
        ValueError: if the history holds no quality values.
    """
    series = getattr(history, "history", history)
    epochs = getattr(history, "epoch", None)
    if quality_keys is None:
        quality_keys = [k for k in ("classifier_score", "frechet_distance", "modes") if k in series]
    quality = {}
    for key in quality_keys:
        values = np.asarray(series.get(key, []), dtype=float)
        x = np.asarray(epochs if epochs and len(epochs) == len(values) else range(len(values)))
        keep = np.isfinite(values)
        if keep.any():
            quality[key] = (x[keep], values[keep])
    if not quality:
        raise ValueError(
            f"The history holds no values of {list(quality_keys)}; log them with "
            "keras_gan.callbacks.QualityLogger."
        )
    losses = {
        k: np.asarray(v, dtype=float)
        for k, v in series.items()
        if k not in quality_keys and "acc" not in k and len(v)
    }
    fig = _new_figure((11, 6))
    grid = fig.add_gridspec(len(quality), 2)
    ax = fig.add_subplot(grid[:, 0])
    for i, (name, values) in enumerate(losses.items()):
        x = np.asarray(epochs if epochs and len(epochs) == len(values) else range(len(values)))
        ax.plot(x, values, lw=0.6, alpha=0.35, color=f"C{i}")
        k = max(len(values) // 50, 5)
        if len(values) >= 20:  # a running mean makes noisy GAN losses readable
            smooth = np.convolve(values, np.ones(k) / k, "valid")
            ax.plot(x[k - 1 :], smooth, lw=1.6, color=f"C{i}", label=f"{name} (mean of {k})")
        else:
            ax.plot(x, values, lw=1.6, color=f"C{i}", label=name)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if losses:
        ax.legend(loc="best", fontsize=8)
    for row, (name, (x, values)) in enumerate(quality.items()):
        qax = fig.add_subplot(grid[row, 1])
        qax.plot(x, values, marker="o", ms=3, lw=1.4, color=f"C{row + 3}")
        qax.set_ylabel(name.replace("_", " "), fontsize=8)
        qax.grid(alpha=0.3)
        if row == len(quality) - 1:
            qax.set_xlabel("iteration")
    fig.tight_layout()
    return save_figure(fig, path)


def save_reconstructions(originals, reconstructions, path, rows=5, cols=5, title=None):
    """Saves originals next to their reconstructions as a grid PNG.

    Each of the `rows` x `cols` cells shows an original image (left) and
    its reconstruction (right), both in [-1, 1], so an autoencoder's errors
    can be seen pair by pair.

    Args:
        originals: Array `(n, H, W[, C])` in [-1, 1].
        reconstructions: Array of the same shape, in [-1, 1].
        path: Destination PNG path; parent directories are created.
        rows: Number of rows of pairs. Defaults to `5`.
        cols: Number of pairs per row. Defaults to `5`.
        title: Optional title above the grid.

    Returns:
        The path written, as a string.

    Raises:
        ValueError: if the arrays differ in shape or hold fewer than
            `rows * cols` images.
    """
    originals = np.asarray(originals, dtype=np.float32)
    reconstructions = np.asarray(reconstructions, dtype=np.float32)
    if originals.shape != reconstructions.shape:
        raise ValueError(
            "originals and reconstructions must have the same shape. Received: "
            f"{originals.shape} and {reconstructions.shape}"
        )
    if originals.ndim == 3:
        originals, reconstructions = originals[..., None], reconstructions[..., None]
    if originals.ndim != 4 or originals.shape[0] < rows * cols:
        raise ValueError(
            f"A {rows}x{cols} grid of pairs needs {rows * cols} images (n, H, W[, C]). "
            f"Received: shape {originals.shape}"
        )
    n = rows * cols
    gap = np.ones_like(originals[:n, :, :1])  # a white column between the two
    pairs = np.concatenate([originals[:n], gap, reconstructions[:n]], axis=2)
    pairs = np.clip(0.5 * pairs + 0.5, 0.0, 1.0)  # [-1, 1] -> [0, 1]
    fig = _new_figure((2 * cols, rows + 0.4))
    axs = fig.subplots(rows, cols, squeeze=False)
    for i in range(rows):
        for j in range(cols):
            img = pairs[i * cols + j]
            if img.shape[-1] == 1:
                axs[i, j].imshow(img[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
            else:
                axs[i, j].imshow(img)
            axs[i, j].axis("off")
    fig.suptitle(title or "original | reconstruction")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.9, wspace=0.08, hspace=0.08)
    return save_figure(fig, path)


def plot_latent_codes(codes, path, labels=None, title="Latent codes", max_points=5000):
    """Scatters codes in 2-D, coloured by label, against an N(0, I) prior.

    The first two dimensions are drawn (for an isotropic prior every pair of
    dimensions should look alike), with the prior's 1 and 2 sigma circles.

    Args:
        codes: Array `(n, d)` with `d >= 2`.
        path: Destination PNG path.
        labels: Optional integer array `(n,)` (digits, say) for the colours
            and legend.
        title: Figure title.
        max_points: Positive integer; at most this many points (the first
            ones) are drawn. Defaults to `5000`.

    Returns:
        The path written, as a string.

    Raises:
        ValueError: for codes that are not `(n, d >= 2)` or labels of
            another length.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] < 2 or len(codes) == 0:
        raise ValueError(f"codes must have shape (n, d) with d >= 2. Received: {codes.shape}")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(codes):
            raise ValueError(
                f"labels must have one entry per code ({len(codes)}). Received: {len(labels)}"
            )
        labels = labels[:max_points]
    codes = codes[:max_points]
    fig = _new_figure((6.5, 6))
    ax = fig.subplots()
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=3, alpha=0.5, color="tab:blue")
    else:
        for k, value in enumerate(np.unique(labels)):
            m = labels == value
            ax.scatter(
                codes[m, 0], codes[m, 1], s=3, alpha=0.6, color=f"C{k % 10}", label=str(value)
            )
        ax.legend(loc="upper right", fontsize=7, markerscale=3, title="label")
    t = np.linspace(0, 2 * np.pi, 200)
    for r, style in ((1, "-"), (2, "--")):
        ax.plot(r * np.cos(t), r * np.sin(t), "k" + style, lw=1, label=None)
    lim = max(3.5, float(np.percentile(np.abs(codes[:, :2]), 99.5)))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(f"{title}\n(circles: the N(0, I) prior's 1 and 2 sigma)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)
