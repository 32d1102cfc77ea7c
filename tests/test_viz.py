import numpy as np
import pytest

from keras_gan import viz

from .conftest import png_pixels


def test_grid_png_size_and_content(tmp_path):
    imgs = np.linspace(-1, 1, 25 * 28 * 28).reshape(25, 28, 28, 1)
    path = viz.save_image_grid(imgs, tmp_path / "sub" / "g.png", rows=5, cols=5)
    px = png_pixels(path)
    assert px.shape == (500, 500)  # 5 inches x 100 dpi
    assert px.std() > 5 and px.max() > 200


def test_grid_needs_enough_images(tmp_path):
    with pytest.raises(ValueError, match=r"needs 25 images. Received: 3"):
        viz.save_image_grid(np.zeros((3, 4, 4)), tmp_path / "g.png")


def test_history_plot_and_gif(tmp_path):
    hist = {
        "d_loss": list(np.random.default_rng(0).random(100)),
        "d_acc": [0.5] * 100,
        "g_loss": list(np.linspace(2, 1, 100)),
    }
    px = png_pixels(viz.plot_history(hist, tmp_path / "h.png"))
    assert px.std() > 5
    frames = [
        viz.save_image_grid(np.full((4, 4, 4), v), tmp_path / f"{i}.png", 2, 2)
        for i, v in enumerate((-1.0, 0.0, 1.0))
    ]
    from PIL import Image

    with Image.open(viz.make_gif(frames, tmp_path / "a.gif")) as gif:
        assert gif.n_frames == 3
