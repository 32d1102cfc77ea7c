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


def test_train_resume_continues_to_the_total(tmp_path, tiny_images):
    data = tmp_path / "x.npy"
    np.save(data, tiny_images)
    base = [
        "train",
        "dcgan",
        "--batch-size",
        "8",
        "--latent-dim",
        "6",
        "--seed",
        "0",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "run"),
        "--quiet",
        "--checkpoint-interval",
        "2",
        "--save-interval",
        "0",
    ]
    assert main([*base, "--epochs", "3"]) == 0
    assert main([*base, "--epochs", "5", "--resume"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["iterations"] == 5 and summary["iterations_this_run"] == 2
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history["g_loss"]) == 5
    assert (tmp_path / "run" / "checkpoints" / "latest").read_text().strip() == "ckpt-00000005"


def test_train_gaussian_end_to_end(tmp_path, capsys):
    out = tmp_path / "g"
    argv = ["train", "gaussian", "--variant", "softmax", "--epochs", "2", "--batch-size", "50"]
    assert main([*argv, "--seed", "0", "--n-generate", "500", "--out", str(out), "--quiet"]) == 0
    for name in ("losses.png", "scatter.png", "generator.keras", "discriminator.keras"):
        assert (out / name).stat().st_size > 0, name
    assert png_pixels(out / "scatter.png").std() > 10
    summary = json.loads((out / "summary.json").read_text())
    assert summary["target_mean"] == [1.0, 2.0] and len(summary["achieved_cov"]) == 2
    assert summary["seconds"] > 0 and summary["max_abs_cov_error"] >= 0
    assert len(json.loads((out / "history.json").read_text())["d_loss"]) == 2
    assert "max |cov error|" in capsys.readouterr().out
    # Own points of another dimension; the target is then their sample moments.
    points = tmp_path / "p.npy"
    np.save(points, np.random.default_rng(0).normal(size=(64, 3)))
    assert (
        main(
            [
                "train",
                "gaussian",
                "--data",
                str(points),
                "--epochs",
                "1",
                "--out",
                str(tmp_path / "h"),
                "--quiet",
            ]
        )
        == 0
    )
    assert len(json.loads((tmp_path / "h" / "summary.json").read_text())["target_mean"]) == 3
    bad = tmp_path / "bad.npy"
    np.save(bad, np.full((10, 2), np.nan))
    assert main(["train", "gaussian", "--data", str(bad), "--out", str(tmp_path / "b")]) == 2
    assert "NaN or infinite" in capsys.readouterr().err


def test_train_moments_end_to_end(tmp_path, capsys):
    out = tmp_path / "m"
    argv = ["train", "moments", "--epochs", "3", "--d-steps", "2", "--g-steps", "2"]
    argv += ["--minibatch-size", "50", "--print-interval", "1", "--seed", "0", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Epoch 0: D (" in printed and "Epoch 2: D (" in printed
    for name in (
        "histogram.png",
        "stats.png",
        "losses.png",
        "generator.keras",
        "discriminator.keras",
    ):
        assert (out / name).stat().st_size > 0, name
        if name.endswith(".png"):
            assert png_pixels(out / name).std() > 5, name
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["target_mean"], summary["target_std"]) == (4.0, 1.25)
    assert {"achieved_mean", "achieved_std", "seconds"} <= set(summary)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "moments", "--preprocess", "cubes"], "invalid choice: 'cubes'"),
        (["train", "gaussian", "--variant", "wgan"], "invalid choice: 'wgan'"),
        (["train", "gaussian", "--lr-d", "0"], "expected a positive number, got '0'"),
        (["train", "moments", "--data-stddev", "-1"], "expected a positive number, got '-1'"),
    ],
)
def test_gaussian_and_moments_bad_flags(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err
