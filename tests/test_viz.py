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


def test_a_killed_writers_temporary_file_is_cleaned_by_the_next_write(tmp_path):
    """A grid write killed between its temporary file and the rename leaves
    `.name.tmp<pid>.png`; the next write of that file removes it when the
    process is gone, and leaves a living writer's alone."""
    import os
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".g.png.tmp{dead.pid}.png"
    living = tmp_path / f".g.png.tmp{os.getppid()}.png"
    other = tmp_path / f".h.png.tmp{dead.pid}.png"  # another target: not ours to clean
    for p in (stale, living, other):
        p.write_bytes(b"partial")
    viz.save_image_grid(np.zeros((4, 8, 8, 1)), tmp_path / "g.png", rows=2, cols=2)
    assert (tmp_path / "g.png").is_file()
    assert not stale.exists() and living.exists() and other.exists()
