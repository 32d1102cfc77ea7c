"""Data: MNIST loading, image validation and scaling, user image files.

Nothing here trains or plots; model code calls these helpers so every model
validates its input the same way and says what it received.
"""

import os
import warnings
from pathlib import Path

import numpy as np

MNIST_ENV = "KERAS_GAN_MNIST"

# The layout `keras.datasets.mnist.load_data()` returns and caches.
_MNIST_LAYOUT = {
    "x_train": ((60000, 28, 28), np.uint8),
    "y_train": ((60000,), np.uint8),
    "x_test": ((10000, 28, 28), np.uint8),
    "y_test": ((10000,), np.uint8),
}

_HOW_TO_SUPPLY = (
    "Supply MNIST in one of these ways: pass `path=` (CLI: `--data`), set the "
    f"{MNIST_ENV} environment variable to an mnist.npz file, place Keras's "
    "cache file at ~/.keras/datasets/mnist.npz, or let Keras download it "
    "(needs internet access)."
)


def keras_cache_file():
    """Returns the path where Keras caches `mnist.npz`.

    Keras keeps datasets under `$KERAS_HOME/datasets` (default `~/.keras`).

    Returns:
        A `pathlib.Path` (the file may not exist).
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def _read_mnist_file(path, source):
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"MNIST file not found: {str(path)!r} (from {source}). {_HOW_TO_SUPPLY}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
    except Exception as e:  # zip errors, truncated files, permissions...
        raise ValueError(
            f"Could not read the MNIST file {str(path)!r} (from {source}): "
            f"{type(e).__name__}: {e}. Expected an .npz file with keys "
            f"{sorted(_MNIST_LAYOUT)}. {_HOW_TO_SUPPLY}"
        ) from None
    for key, (shape, dtype) in _MNIST_LAYOUT.items():
        if key not in arrays:
            raise ValueError(
                f"The MNIST file {str(path)!r} (from {source}) has no array "
                f"{key!r}; it holds {sorted(arrays)}. Expected keys "
                f"{sorted(_MNIST_LAYOUT)}. {_HOW_TO_SUPPLY}"
            )
        a = arrays[key]
        if a.shape != shape or a.dtype != dtype:
            raise ValueError(
                f"The MNIST file {str(path)!r} (from {source}) has {key} of "
                f"shape {a.shape} and dtype {a.dtype}; expected shape {shape} "
                f"and dtype {np.dtype(dtype)}. {_HOW_TO_SUPPLY}"
            )
    return (arrays["x_train"], arrays["y_train"]), (
        arrays["x_test"],
        arrays["y_test"],
    )


def load_mnist(path=None):
    """Loads MNIST exactly as `keras.datasets.mnist.load_data()` returns it.

    Looks, in order, at: the `path` argument; the `KERAS_GAN_MNIST`
    environment variable; the file Keras caches
    (`~/.keras/datasets/mnist.npz`, read directly, so a copy whose bytes
    differ from Keras's download is accepted); then Keras's own download.

    Args:
        path: Optional path to an `mnist.npz` file with Keras's layout.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes
        `(60000, 28, 28)`, `(60000,)`, `(10000, 28, 28)`, `(10000,)`.

    Raises:
        ValueError: if a file named by `path` or the environment variable
            is missing, unreadable or malformed (the message names the file,
            what was wrong and how to supply the data), or if no local copy
            exists and the download fails.

    Example:

    >>> from keras_gan.data import load_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()
    >>> x_train.shape, x_train.dtype
    ((60000, 28, 28), dtype('uint8'))
    """
    if path is not None:
        return _read_mnist_file(path, "the `path` argument")
    env = os.environ.get(MNIST_ENV)
    if env:
        return _read_mnist_file(env, f"the {MNIST_ENV} environment variable")
    cached = keras_cache_file()
    if cached.is_file():
        return _read_mnist_file(cached, "Keras's dataset cache")
    import keras

    try:
        return keras.datasets.mnist.load_data()
    except Exception as e:
        raise ValueError(
            f"MNIST is not on this machine and Keras could not download it "
            f"({type(e).__name__}: {e}). {_HOW_TO_SUPPLY}"
        ) from None


def check_int(name, value, minimum=1):
    """Returns `value` as an int if it is an integer >= `minimum`.

    Raises:
        ValueError: naming the argument and the value received.
    """
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be {what}. Received: {name}={value!r}")
    return int(value)


def check_fraction(name, value):
    """Returns `value` as a float in [0, 1]; booleans and non-numbers are refused.

    Raises:
        ValueError: naming `name` and the value received.
    """
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if not ok or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1]. Received: {name}={value!r}")
    return float(value)


def check_unit(name, value, upper):
    """Returns `value` as a float in [0, upper); booleans and non-numbers are refused.

    Raises:
        ValueError: naming `name` and the value received.
    """
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if not ok or not 0.0 <= float(value) < upper:
        raise ValueError(f"{name} must be a number in [0, {upper:g}). Received: {name}={value!r}")
    return float(value)


def check_bool(name, value):
    """Returns `value` as a bool if it is `True` or `False` (Python or numpy).

    A string such as `"False"` or a number would otherwise pass as truthy.

    Raises:
        ValueError: naming `name` and the value received.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False. Received: {name}={value!r}")
    return bool(value)


def check_choice(name, value, choices):
    """Returns `value` if it is one of `choices` (names, or a dict's keys).

    Raises:
        ValueError: naming `name`, the choices and the value received.
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}. Received: {name}={value!r}"
        )
    return value


def check_writable_dir(path, name):
    """Creates directory `path` if needed and checks it can be written to.

    Called before training starts, so a bad output path fails at once
    instead of after the first hour.

    Returns:
        The path as a `pathlib.Path`.

    Raises:
        ValueError: naming the argument, the path and the reason.
    """
    p = Path(path).expanduser()
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".keras_gan_write_test{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ValueError(
            f"{name} must be a writable directory. Received: {name}={str(path)!r} "
            f"({e.strerror or e})"
        ) from None
    return p


def prepare_images(x, img_shape, name="x_train"):
    """Validates images and scales them to float32 in [-1, 1].

    Integer images (uint8 MNIST, say) are taken as 0..255 and scaled with
    `x / 127.5 - 1`, as the DCGAN document does. Float images must already
    be in [-1, 1]; float images that all lie in [0, 1] are accepted with a
    warning, since they were probably scaled to [0, 1] by mistake. Images of
    shape `(n, H, W)` get a channel axis when `img_shape` has one channel.

    Args:
        x: Array-like of images, `(n, H, W)` or `(n, H, W, C)`.
        img_shape: Tuple `(H, W, C)` the model expects.
        name: Name used in error messages.

    Returns:
        A float32 NumPy array of shape `(n, H, W, C)` in [-1, 1].

    Raises:
        ValueError: for an empty array, a wrong shape, a non-numeric dtype,
            NaN or infinite values, or values outside the accepted range.

    Example:

    >>> import numpy as np
    >>> x = prepare_images(np.zeros((2, 28, 28), "uint8"), (28, 28, 1))
    >>> x.shape, float(x.min())
    ((2, 28, 28, 1), -1.0)
    """
    img_shape = tuple(int(d) for d in img_shape)
    try:
        x = np.asarray(x)
    except Exception as e:
        raise ValueError(f"{name} must be an array of images: {e}") from None
    if x.dtype == bool or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise ValueError(
            f"{name} must hold integer (0..255) or float ([-1, 1]) pixels. "
            f"Received: dtype {x.dtype}"
        )
    if x.ndim == 3 and img_shape[-1] == 1:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != img_shape:
        raise ValueError(
            f"{name} must have shape (n, {', '.join(map(str, img_shape))})"
            + (f" or (n, {img_shape[0]}, {img_shape[1]})" if img_shape[-1] == 1 else "")
            + f" to match img_shape={img_shape}. Received: shape {x.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty. Received: shape {x.shape}")
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"Integer {name} must be pixels in 0..255. Received: values in [{lo}, {hi}]"
            )
        return (x.astype(np.float32) / 127.5 - 1.0).astype(np.float32)
    x = x.astype(np.float32, copy=False)
    finite = np.isfinite(x)
    if not finite.all():
        bad = int(x.size - finite.sum())
        raise ValueError(
            f"{name} holds {bad} NaN or infinite values; clean or drop those images first."
        )
    lo, hi = float(x.min()), float(x.max())
    if lo < -1.0 - 1e-6 or hi > 1.0 + 1e-6:
        raise ValueError(
            f"Float {name} must be scaled to [-1, 1] (uint8 images are "
            f"scaled automatically). Received: values in [{lo:.4g}, {hi:.4g}]. "
            "Rescale with `x / 127.5 - 1` for 0..255 data."
        )
    if lo >= 0.0 and hi > 0.0:
        warnings.warn(
            f"Float {name} lies in [{lo:.3g}, {hi:.3g}]: it looks scaled to "
            "[0, 1], but keras_gan expects [-1, 1]. Use `x * 2 - 1`.",
            stacklevel=3,
        )
    return np.clip(x, -1.0, 1.0)


_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


def load_images(path, img_shape=None):
    """Loads user images from an `.npy`/`.npz` file or a folder of images.

    Args:
        path: A `.npy` file (one array), an `.npz` file (key `x_train`, or
            its only array) or a directory of PNG/JPEG/BMP/GIF/WebP files.
        img_shape: `(H, W, C)` to resize and convert folder images to.
            Defaults to the first image's size, grayscale. Ignored for arrays
            (they are validated by the model).

    Returns:
        A NumPy array of images, `(n, H, W)` or `(n, H, W, C)`.

    Raises:
        ValueError: if the path does not exist, holds no images, or cannot
            be read.

    Example:

    >>> x = load_images("my_digits.npy")  # doctest: +SKIP
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ValueError(f"Image path not found. Received: {str(p)!r}")
    if p.is_dir():
        return _load_image_folder(p, img_shape)
    try:
        if p.suffix == ".npy":
            return np.load(p, allow_pickle=False)
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as f:
                if "x_train" in f.files:
                    return f["x_train"]
                if len(f.files) == 1:
                    return f[f.files[0]]
                raise ValueError(
                    f"{str(p)!r} holds arrays {f.files}; name the images "
                    "`x_train` or store a single array."
                )
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(
            f"Could not read images from {str(p)!r}: {type(e).__name__}: {e}"
        ) from None
    raise ValueError(
        f"Images must be a .npy or .npz file or a directory of image files. Received: {str(p)!r}"
    )


def _load_image_folder(folder, img_shape):
    from PIL import Image

    files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise ValueError(
            f"No image files ({', '.join(sorted(_IMAGE_SUFFIXES))}) found under {str(folder)!r}."
        )
    images = []
    for f in files:
        try:
            with Image.open(f) as im:
                if img_shape is None:
                    img_shape = (im.height, im.width, 1)
                mode = "L" if img_shape[-1] == 1 else "RGB"
                im = im.convert(mode).resize((img_shape[1], img_shape[0]), Image.BILINEAR)
                images.append(np.asarray(im, dtype=np.uint8))
        except Exception as e:
            raise ValueError(f"Could not read image {str(f)!r}: {type(e).__name__}: {e}") from None
    x = np.stack(images)
    return x if img_shape[-1] != 1 else x[..., None]


def resize_images(x, size):
    """Resizes images bilinearly, as torchvision's `Resize` does when enlarging.

    Half-pixel centres and no antialiasing (`tf.image.resize` with
    `method="bilinear"`), which is what PIL's bilinear filter and
    `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`
    compute when upsampling, e.g. MNIST's 28x28 to the AAE's 32x32. Values
    are interpolated, so images in [-1, 1] stay in [-1, 1].

    Args:
        x: Float array of images `(n, H, W, C)`.
        size: Positive integer (square output) or a pair `(height, width)`.

    Returns:
        A float32 NumPy array `(n, height, width, C)`.

    Raises:
        ValueError: for a size that is not one or two positive integers, or
            an array that is not 4-D.

    Example:

    >>> import numpy as np
    >>> resize_images(np.zeros((2, 28, 28, 1), "float32"), 32).shape
    (2, 32, 32, 1)
    """
    import tensorflow as tf

    if isinstance(size, (tuple, list)) and len(size) == 2:
        height, width = (check_int("size", s) for s in size)
    else:
        height = width = check_int("size", size)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"resize_images needs images (n, H, W, C). Received: shape {x.shape}")
    out = np.empty((x.shape[0], height, width, x.shape[-1]), dtype=np.float32)
    for i in range(0, len(x), 4096):  # bounded memory for big arrays
        chunk = tf.image.resize(x[i : i + 4096], (height, width), method="bilinear")
        out[i : i + 4096] = chunk.numpy()
    return out


# ------------------------------------------------------------- Gaussians

# The Gaussian GAN documents' real data: X·A + b with X ~ N(0, I), 1000 x 2,
# so the target has mean b and covariance AᵀA = [[1.01, 1.95], [1.95, 4.25]].
GAUSSIAN_2D_A = np.array([[1.0, 2.0], [-0.1, 0.5]])
GAUSSIAN_2D_B = np.array([1.0, 2.0])
GAUSSIAN_2D_N = 1000


def gaussian_2d(n=GAUSSIAN_2D_N, seed=None, A=GAUSSIAN_2D_A, b=GAUSSIAN_2D_B):
    """Samples the Gaussian GAN documents' data: `X·A + b`, `X ~ N(0, I)`.

    Args:
        n: Positive integer, number of points. Defaults to `1000`.
        seed: Optional integer seed of the NumPy generator.
        A: `(k, d)` matrix. Defaults to `[[1, 2], [-0.1, 0.5]]`.
        b: Length-`d` offset. Defaults to `[1, 2]`.

    Returns:
        A float32 array `(n, d)` whose population mean is `b` and covariance
        `AᵀA` (see `gaussian_2d_moments`).

    Example:

    >>> gaussian_2d(5, seed=0).shape
    (5, 2)
    """
    n = check_int("n", n)
    A, b = np.asarray(A, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if A.ndim != 2 or b.shape != (A.shape[1],):
        raise ValueError(
            f"A must be a (k, d) matrix and b a length-d vector. Received: A of shape "
            f"{A.shape}, b of shape {b.shape}"
        )
    x = np.random.default_rng(seed).normal(size=(n, A.shape[0]))
    return (x @ A + b).astype(np.float32)


def gaussian_2d_moments(A=GAUSSIAN_2D_A, b=GAUSSIAN_2D_B):
    """Returns the target `(mean, covariance)` = `(b, AᵀA)` as float64 arrays."""
    A = np.asarray(A, dtype=np.float64)
    return np.asarray(b, dtype=np.float64), A.T @ A


def prepare_points(x, dim=None, name="data", min_rows=1):
    """Validates a real-valued point cloud `(n, d)` and returns it as float32.

    Args:
        x: Array-like `(n, d)` of integers or floats.
        dim: Optional integer `d` the model expects.
        name: Name used in error messages.
        min_rows: Smallest accepted `n` (a batch size, say).

    Returns:
        A float32 NumPy array `(n, d)`.

    Raises:
        ValueError: for a non-numeric, boolean or complex dtype, a shape
            other than `(n, dim)`, fewer than `min_rows` rows, or NaN or
            infinite values; the message shows what was received.
    """
    try:
        x = np.asarray(x)
    except Exception as e:
        raise ValueError(f"{name} must be a numeric array (n, d): {e}") from None
    if x.dtype == bool or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise ValueError(f"{name} must hold real numbers (float). Received: dtype {x.dtype}")
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        raise ValueError(f"{name} must have shape {want}. Received: shape {x.shape}")
    if x.shape[0] < min_rows:
        raise ValueError(
            f"{name} needs at least {min_rows} rows (one batch). Received: {x.shape[0]} rows"
        )
    x = x.astype(np.float32)
    finite = np.isfinite(x)
    if not finite.all():
        raise ValueError(
            f"{name} holds {int(x.size - finite.sum())} NaN or infinite values; "
            "clean or drop those rows first."
        )
    return x
