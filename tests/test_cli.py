import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_gan.cli import main

from .conftest import png_pixels


def test_train_dcgan_end_to_end_then_sample(tmp_path, tiny_images, capsys):
    data = tmp_path / "x.npy"
    np.save(data, tiny_images)
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "dcgan",
            "--epochs",
            "4",
            "--batch-size",
            "8",
            "--save-interval",
            "2",
            "--latent-dim",
            "6",
            "--seed",
            "0",
            "--data",
            str(data),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    for name in (
        "generator.keras",
        "discriminator.keras",
        "losses.png",
        "training.gif",
        "history.json",
        "summary.json",
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "mnist_0.png",
        "mnist_2.png",
        "mnist_4.png",
    ]
    history = json.loads((out / "history.json").read_text())
    assert len(history["g_loss"]) == 4
    assert png_pixels(out / "losses.png").std() > 5
    from PIL import Image

    with Image.open(out / "training.gif") as gif:
        assert gif.n_frames == 3
    assert "devices: CPU" in capsys.readouterr().out

    grid = tmp_path / "grid.png"
    assert (
        main(["sample", str(out / "generator.keras"), "-n", "9", "-o", str(grid), "--seed", "1"])
        == 0
    )
    assert png_pixels(grid).std() > 5


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "dcgan", "--epochs", "0"], "expected a positive integer, got '0'"),
        (["train", "dcgan", "--batch-size", "x"], "expected a positive integer, got 'x'"),
        (["train", "wgan"], "invalid choice: 'wgan'"),
        (["sample"], "the following arguments are required: generator"),
    ],
)
def test_bad_flags_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_user_errors_are_one_line_not_tracebacks(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "none.keras")]) == 2
    assert "generator file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    assert main(["sample", str(bad)]) == 2
    assert "could not load" in capsys.readouterr().err
    assert (
        main(["train", "dcgan", "--data", str(tmp_path / "none.npy"), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "Image path not found" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["train", "dcgan", "--out", str(blocker / "sub")]) == 2
    assert "cannot write to the output directory" in capsys.readouterr().err


def test_console_script_help_explains_every_flag():
    exe = os.path.join(os.path.dirname(sys.executable), "keras-gan")
    out = subprocess.run(
        [exe, "train", "dcgan", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in (
        "--epochs",
        "--batch-size",
        "--save-interval",
        "--latent-dim",
        "--seed",
        "--out",
        "--data",
    ):
        assert flag in out


def test_scripts_wrapper_runs(tmp_path, tiny_images):
    data = tmp_path / "x.npy"
    np.save(data, tiny_images)
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "train_dcgan.py")
    r = subprocess.run(
        [
            sys.executable,
            script,
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "r"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "r" / "generator.keras").is_file()
