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
    # checkpointed at the end; --resume to a total of 3 epochs trains one more
    assert (out / "checkpoints" / "latest").read_text().strip() == "ckpt-00000002"
    argv[argv.index("--epochs") + 1] = "3"
    again = [*argv, "--seed", "0", "--n-generate", "500", "--out", str(out), "--quiet"]
    assert main([*again, "--resume"]) == 0
    assert len(json.loads((out / "history.json").read_text())["d_loss"]) == 3
    assert (out / "checkpoints" / "latest").read_text().strip() == "ckpt-00000003"
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
    # checkpointed at the end; --resume to a total of 4 epochs trains one more
    assert (out / "checkpoints" / "latest").read_text().strip() == "ckpt-00000003"
    argv[argv.index("--epochs") + 1] = "4"
    assert main([*argv, "--resume", "--quiet"]) == 0
    assert (out / "checkpoints" / "latest").read_text().strip() == "ckpt-00000004"


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


def test_train_dcgan_mirrored_fused_path(tmp_path, tiny_images, capsys):
    data = tmp_path / "x.npy"
    np.save(data, tiny_images)
    out = tmp_path / "m"
    argv = ["train", "dcgan", "--distribute", "mirrored", "--epochs", "3", "--batch-size", "8"]
    argv += ["--latent-dim", "4", "--seed", "0", "--data", str(data), "--out", str(out)]
    argv += ["--save-interval", "2", "--checkpoint-interval", "2", "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "devices: CPU" in printed and "MirroredStrategy with 1 replica(s)" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["distribute"] == "mirrored" and summary["iterations"] == 3
    # --epochs, --save-interval and --checkpoint-interval still count iterations
    assert len(json.loads((out / "history.json").read_text())["g_loss"]) == 3
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "mnist_0.png",
        "mnist_2.png",
        "mnist_3.png",
    ]
    assert (out / "checkpoints" / "latest").read_text().strip() == "ckpt-00000003"


@pytest.mark.parametrize(
    "tf_config, message",
    [
        (None, "reads the cluster from TF_CONFIG, which is not set"),
        ("{not json", "TF_CONFIG is not valid JSON"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', "TF_CONFIG must hold a cluster"),
        (
            '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 1}}',
            "TF_CONFIG must hold a cluster",
        ),
    ],
)
def test_multi_worker_needs_a_valid_tf_config(tf_config, message, monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    if tf_config is not None:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    for model in ("dcgan", "aae"):
        argv = ["train", model, "--distribute", "multi-worker", "--out", str(tmp_path)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def test_device_flag_errors_and_help(capsys):
    assert main(["train", "dcgan", "--xla"]) == 2
    assert "--xla compiles the fused step" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["train", "aae", "--distribute", "tpu"])
    assert e.value.code == 2 and "invalid choice: 'tpu'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "dcgan", "--help"])
    text = capsys.readouterr().out
    for flag in ("--distribute", "--mixed-precision", "--xla", "TF_CONFIG", "chief"):
        assert flag in text


def test_train_dcgan_improved_settings_saves_the_weight_average(tmp_path, tiny_images):
    """--settings improved saves the average; --fast-upsampling reaches the
    model, and its generator.keras loads in safe mode."""
    import keras

    from keras_gan.layers import UpSamplingConv2D

    data = tmp_path / "x.npy"
    np.save(data, tiny_images)
    out = tmp_path / "run"
    argv = ["train", "dcgan", "--epochs", "3", "--batch-size", "8", "--save-interval", "0"]
    argv += ["--latent-dim", "6", "--seed", "0", "--data", str(data), "--out", str(out)]
    assert main([*argv, "--settings", "improved", "--fast-upsampling", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"] == "improved" and summary["fast_upsampling"] is True
    saved = keras.saving.load_model(out / "generator.keras")
    assert sum(isinstance(layer, UpSamplingConv2D) for layer in saved.layers) == 2
    from keras_gan import DCGAN

    gan = DCGAN(
        latent_dim=6, img_shape=(8, 8, 1), seed=0, settings="improved", fast_upsampling=True
    )
    gan.restore_checkpoint(out / "checkpoints")
    z = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(saved(z), gan.ema_generator(z, training=False), atol=1e-6)
    assert not np.allclose(saved(z), gan.generator(z, training=False), atol=1e-4)


def test_train_gaussian_stable_settings(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["train", "gaussian", "--settings", "stable", "--epochs", "2", "--batch-size", "100"]
    assert main([*argv, "--seed", "0", "--n-generate", "200", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"] == "stable" and summary["lr_g"] == 0.005
    from keras_gan import GaussianGAN

    saved = keras_load(out / "generator.keras")
    gan = GaussianGAN(seed=0, settings="stable")
    gan.train(epochs=2, batch_size=100, verbose=0)
    z = np.random.default_rng(0).normal(size=(4, 2)).astype("float32")
    np.testing.assert_allclose(saved(z), gan.generator(z), atol=1e-5)
    argv = ["train", "gaussian", "--epochs", "1", "--batch-size", "100", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "d")]) == 0  # the default
    assert json.loads((tmp_path / "d" / "summary.json").read_text())["settings"] == "stable"
    assert main([*argv, "--settings", "document", "--out", str(tmp_path / "doc")]) == 0
    assert json.loads((tmp_path / "doc" / "summary.json").read_text())["settings"] == "document"
    # the discriminator, compiled with the stable rate schedules, loads back
    assert keras_load(out / "discriminator.keras").optimizer is not None
    with pytest.raises(SystemExit) as e:
        main(["train", "gaussian", "--settings", "fast"])
    assert e.value.code == 2 and "invalid choice: 'fast'" in capsys.readouterr().err


def keras_load(path):
    import keras

    return keras.saving.load_model(path)
