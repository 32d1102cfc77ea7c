import os
import warnings

import numpy as np
import pytest

from keras_gan import data


def fake_mnist(path, marker, **overrides):
    """Writes a valid-layout (zeros) mnist.npz whose x_train[0,0,0] = marker."""
    arrays = {
        "x_train": np.zeros((60000, 28, 28), np.uint8),
        "y_train": np.zeros((60000,), np.uint8),
        "x_test": np.zeros((10000, 28, 28), np.uint8),
        "y_test": np.zeros((10000,), np.uint8),
    }
    arrays["x_train"][0, 0, 0] = marker
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez_compressed(path, **arrays)
    return path


@pytest.fixture
def no_sources(monkeypatch, tmp_path):
    """No env var, an empty Keras home, and a download that must not happen."""
    monkeypatch.delenv("KERAS_GAN_MNIST", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    import keras

    def no_download(*a, **k):
        raise OSError("URL fetch failure: network unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_download)
    return tmp_path


def test_real_mnist_matches_keras_layout(mnist_path):
    (x_train, y_train), (x_test, y_test) = data.load_mnist(mnist_path)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert list(y_train[:5]) == [5, 0, 4, 1, 9] and list(y_test[:5]) == [7, 2, 1, 0, 4]
    assert abs(float(x_train.mean()) - 33.318) < 0.01


def test_lookup_order(no_sources, monkeypatch):
    tmp = no_sources
    cache = tmp / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    arg, env = fake_mnist(tmp / "arg.npz", 1), fake_mnist(tmp / "env.npz", 2)
    fake_mnist(cache / "mnist.npz", 3)
    monkeypatch.setenv("KERAS_GAN_MNIST", str(env))
    assert data.load_mnist(arg)[0][0][0, 0, 0] == 1
    assert data.load_mnist()[0][0][0, 0, 0] == 2
    monkeypatch.delenv("KERAS_GAN_MNIST")
    assert data.load_mnist()[0][0][0, 0, 0] == 3
    os.remove(cache / "mnist.npz")
    import keras

    marker = ((np.full((1, 28, 28), 4, np.uint8), None), (None, None))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda *a, **k: marker)
    assert data.load_mnist()[0][0][0, 0, 0] == 4


def test_missing_file_names_it_and_the_ways_out(no_sources):
    with pytest.raises(
        ValueError, match=r"not found: '.*nope.npz' \(from the `path` argument\).*KERAS_GAN_MNIST"
    ):
        data.load_mnist(no_sources / "nope.npz")


def test_missing_env_file(no_sources, monkeypatch):
    monkeypatch.setenv("KERAS_GAN_MNIST", str(no_sources / "gone.npz"))
    with pytest.raises(ValueError, match=r"gone.npz.*KERAS_GAN_MNIST environment variable"):
        data.load_mnist()


def test_corrupt_file(no_sources):
    bad = no_sources / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(ValueError, match=r"Could not read the MNIST file '.*bad.npz'"):
        data.load_mnist(bad)


def test_wrong_keys_shapes_dtypes(no_sources):
    p = fake_mnist(no_sources / "k.npz", 0, y_test=None)
    with pytest.raises(ValueError, match=r"no array 'y_test'"):
        data.load_mnist(p)
    p = fake_mnist(no_sources / "s.npz", 0, x_test=np.zeros((10, 28, 28), np.uint8))
    with pytest.raises(
        ValueError, match=r"x_test of shape \(10, 28, 28\).*expected shape \(10000, 28, 28\)"
    ):
        data.load_mnist(p)
    p = fake_mnist(no_sources / "d.npz", 0, y_train=np.zeros((60000,), np.int64))
    with pytest.raises(ValueError, match=r"dtype int64; expected .* dtype uint8"):
        data.load_mnist(p)


def test_failed_download_says_how_to_supply_data(no_sources):
    with pytest.raises(
        ValueError, match=r"could not download it \(OSError: URL fetch failure.*KERAS_GAN_MNIST"
    ):
        data.load_mnist()


def test_prepare_images_scaling_and_channels():
    x = np.array([[[0, 255], [127, 128]]], dtype=np.uint8)
    out = data.prepare_images(x, (2, 2, 1))
    assert out.shape == (1, 2, 2, 1) and out.dtype == np.float32
    np.testing.assert_allclose(
        out[0, :, :, 0], [[-1, 1], [127 / 127.5 - 1, 128 / 127.5 - 1]], atol=1e-6
    )
    f = np.linspace(-1, 1, 8, dtype=np.float64).reshape(2, 2, 2, 1)
    np.testing.assert_allclose(data.prepare_images(f, (2, 2, 1)), f)


def test_prepare_images_warns_on_zero_one_floats():
    with pytest.warns(UserWarning, match=r"\[0, 1\].*expects \[-1, 1\]"):
        data.prepare_images(np.full((1, 2, 2), 0.5), (2, 2, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.prepare_images(np.full((1, 2, 2), -0.5), (2, 2, 1))


@pytest.mark.parametrize(
    "x, match",
    [
        (np.zeros((2, 3, 3), np.uint8), r"Received: shape \(2, 3, 3, 1\)"),
        (np.full((1, 2, 2), np.inf), r"NaN or infinite"),
        (np.full((1, 2, 2), 300, np.int32), r"0..255. Received: values in \[300, 300\]"),
        (np.ones((1, 2, 2), bool), r"dtype bool"),
    ],
)
def test_prepare_images_errors(x, match):
    with pytest.raises(ValueError, match=match):
        data.prepare_images(x, (2, 2, 1))


def test_load_images_from_npy_npz_and_folder(tmp_path):
    from PIL import Image

    x = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    np.save(tmp_path / "a.npy", x)
    np.testing.assert_array_equal(data.load_images(tmp_path / "a.npy"), x)
    np.savez(tmp_path / "b.npz", x_train=x, other=x)
    np.testing.assert_array_equal(data.load_images(tmp_path / "b.npz"), x)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((10, 10, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    out = data.load_images(folder, (8, 8, 1))
    assert out.shape == (3, 8, 8, 1) and out.dtype == np.uint8
    with pytest.raises(ValueError, match=r"not found"):
        data.load_images(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"No image files"):
        data.load_images(tmp_path / "empty")
