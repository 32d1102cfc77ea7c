import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"


@pytest.fixture(scope="session")
def mnist_path():
    """The MNIST copy tests read: $KERAS_GAN_MNIST, else ../shared/data."""
    path = Path(os.environ.get("KERAS_GAN_MNIST") or SHARED_MNIST)
    if not path.is_file():
        pytest.fail(f"MNIST not found at {path}; set KERAS_GAN_MNIST")
    return path


@pytest.fixture
def tiny_images():
    """64 uint8 8x8 'images' with structure (a bright square per image)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 40, size=(64, 8, 8), dtype=np.uint8)
    for i in range(64):
        r, c = rng.integers(0, 5, size=2)
        x[i, r : r + 3, c : c + 3] = 255
    return x


def png_pixels(path):
    """Returns a PNG's pixels as a float array, asserting it is a real PNG."""
    from PIL import Image

    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32)


def from_the_same_start(variables, first, second):
    """Runs `first()`, records `variables`, puts them back and runs `second()`.

    Two ways of running one iteration (the classic loop's and the fused
    step's) from the same state, for the equivalence tests.

    Returns:
        `(start, after_first, first_result, second_result)`: the variables'
        values before and after `first()` as NumPy copies, and what the two
        calls returned.
    """
    start = [v.numpy().copy() for v in variables]
    first_result = first()
    after_first = [v.numpy().copy() for v in variables]
    for v, value in zip(variables, start):
        v.assign(value)
    return start, after_first, first_result, second()
