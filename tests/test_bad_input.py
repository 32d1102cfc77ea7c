"""Bad input everywhere: a clear ValueError (or exit status 2 on the CLI)
naming what was received, raised before any training starts — never a raw
TensorFlow traceback."""

import json

import numpy as np
import pytest

from keras_gan import DCGAN
from keras_gan.cli import main
from keras_gan.data import load_mnist


@pytest.fixture(scope="module")
def gan():
    return DCGAN(latent_dim=6, img_shape=(8, 8, 1), seed=0)


@pytest.fixture(scope="module")
def good():
    return np.random.default_rng(0).integers(0, 256, (32, 8, 8), dtype=np.uint8)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, good):
    """A finished tiny run: checkpoints and a generator file."""
    d = tmp_path_factory.mktemp("run")
    np.save(d / "x.npy", good)
    argv = [
        "train",
        "dcgan",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--latent-dim",
        "6",
        "--seed",
        "0",
        "--data",
        str(d / "x.npy"),
        "--out",
        str(d),
        "--quiet",
    ]
    assert main(argv) == 0
    return d


def corrupt_copy(run_dir, tmp_path, edit):
    import shutil

    dst = tmp_path / "ckpts"
    shutil.copytree(run_dir / "checkpoints", dst)
    for path in dst.glob("ckpt-*"):  # every one, so there is nothing to fall back to
        edit(path)
    return dst


def file_in_the_way(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    return blocker / "sub"


CASES = {
    "latent_dim 0": (lambda g, x, t, r: DCGAN(latent_dim=0), r"Received: latent_dim=0"),
    "img_shape not /4": (lambda g, x, t, r: DCGAN(img_shape=(30, 30, 1)), r"\(30, 30, 1\)"),
    "img_shape 2-D": (lambda g, x, t, r: DCGAN(img_shape=(28, 28)), r"img_shape=\(28, 28\)"),
    "fast_upsampling a string": (
        lambda g, x, t, r: DCGAN(fast_upsampling="False"),
        r"fast_upsampling must be True or False. Received: fast_upsampling='False'",
    ),
    "mixed_precision a number": (
        lambda g, x, t, r: DCGAN(mixed_precision=1),
        r"mixed_precision must be True or False. Received: mixed_precision=1",
    ),
    "wrong image shape": (
        lambda g, x, t, r: g.train(1, 4, x_train=np.zeros((9, 28, 28), "uint8"), verbose=0),
        r"Received: shape \(9, 28, 28, 1\)",
    ),
    "wrong dtype": (
        lambda g, x, t, r: g.train(1, 1, x_train=np.full((2, 8, 8), "a"), verbose=0),
        r"dtype <U1",
    ),
    "NaN pixels": (
        lambda g, x, t, r: g.train(1, 1, x_train=np.full((2, 8, 8), np.nan), verbose=0),
        r"NaN or infinite",
    ),
    "inf pixels": (
        lambda g, x, t, r: g.train(1, 1, x_train=np.full((2, 8, 8), np.inf), verbose=0),
        r"NaN or infinite",
    ),
    "empty data": (
        lambda g, x, t, r: g.train(1, 1, x_train=np.zeros((0, 8, 8), "uint8"), verbose=0),
        r"empty",
    ),
    "float out of range": (
        lambda g, x, t, r: g.train(1, 1, x_train=np.full((2, 8, 8), 255.0), verbose=0),
        r"\[-1, 1\].*Received: values in \[255, 255\]",
    ),
    "integers beyond 255": (
        lambda g, x, t, r: g.train(1, 1, x_train=np.full((2, 8, 8), 256), verbose=0),
        r"0..255. Received: values in \[256, 256\]",
    ),
    "batch larger than data": (
        lambda g, x, t, r: g.train(1, 33, x_train=x, verbose=0),
        r"number of images \(32\). Received: batch_size=33",
    ),
    "fit batch larger than data": (
        lambda g, x, t, r: g.fit(x, batch_size=33, verbose=0),
        r"number of images \(32\). Received: batch_size=33",
    ),
    "epochs 0": (lambda g, x, t, r: g.train(0, x_train=x), r"Received: epochs=0"),
    "fit epochs negative": (lambda g, x, t, r: g.fit(x, epochs=-1), r"Received: epochs=-1"),
    "generate 0": (lambda g, x, t, r: g.generate(0), r"Received: n=0"),
    "unwritable sample_dir": (
        lambda g, x, t, r: g.train(1, 4, x_train=x, sample_dir=file_in_the_way(t), verbose=0),
        r"sample_dir must be a writable directory",
    ),
    "unwritable checkpoint_dir": (
        lambda g, x, t, r: g.train(
            1, 4, x_train=x, save_interval=0, checkpoint_dir=file_in_the_way(t), verbose=0
        ),
        r"checkpoint_dir must be a writable directory",
    ),
    "resume without directory": (
        lambda g, x, t, r: g.fit(x, batch_size=8, resume=True, verbose=0),
        r"resume=True needs a checkpoint_dir",
    ),
    "corrupt checkpoint": (
        lambda g, x, t, r: DCGAN(latent_dim=6, img_shape=(8, 8, 1)).restore_checkpoint(
            corrupt_copy(r, t, lambda c: (c / "state.npz").write_bytes(b"x"))
        ),
        r"No readable checkpoint",
    ),
    "checkpoint of another configuration": (
        lambda g, x, t, r: DCGAN(latent_dim=5, img_shape=(8, 8, 1)).restore_checkpoint(
            r / "checkpoints"
        ),
        r"this model has \{'latent_dim': 5",
    ),
    "checkpoint of another class": (
        lambda g, x, t, r: DCGAN(latent_dim=6, img_shape=(8, 8, 1)).restore_checkpoint(
            corrupt_copy(
                r,
                t,
                lambda c: (c / "manifest.json").write_text(
                    json.dumps(
                        {
                            **json.loads((c / "manifest.json").read_text()),
                            "meta": {"class": "AAE", "config": {}},
                        }
                    )
                ),
            )
        ),
        r"written by AAE, not DCGAN",
    ),
    "missing MNIST file": (lambda g, x, t, r: load_mnist(t / "none.npz"), r"not found"),
}


def _nothing():
    import contextlib

    return contextlib.nullcontext()


@pytest.mark.parametrize("name", sorted(CASES))
def test_api_bad_input_is_a_clear_value_error(name, gan, good, tmp_path, run_dir):
    fn, match = CASES[name]
    with pytest.warns() if name == "corrupt checkpoint" else _nothing():
        with pytest.raises(ValueError, match=match) as info:
            fn(gan, good, tmp_path, run_dir)
    assert "tensorflow" not in type(info.value).__module__


CLI_CASES = {
    "unknown model": (["train", "wgan"], "invalid choice: 'wgan'"),
    "negative epochs": (["train", "dcgan", "--epochs", "-1"], "got '-1'"),
    "text batch size": (["train", "dcgan", "--batch-size", "ten"], "got 'ten'"),
    "unknown flag": (["train", "dcgan", "--epoch", "3", "--lr", "1"], "unrecognized arguments"),
    "bad channels": (["train", "dcgan", "--channels", "2"], "invalid choice: 2"),
    "sample missing n": (["sample", "g.keras", "-n", "0"], "got '0'"),
}


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_cli_usage_errors_exit_2(name, capsys):
    argv, message = CLI_CASES[name]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_file_errors_exit_2_in_one_line(tmp_path, run_dir, capsys):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"PK not really")
    not_images = tmp_path / "v.npy"
    np.save(not_images, np.zeros((5,)))
    for argv, message in [
        (["sample", str(tmp_path / "none.keras")], "generator file not found"),
        (["sample", str(bad)], "could not load"),
        (["sample", str(run_dir / "discriminator.keras")], "is not a generator"),
        (["train", "dcgan", "--data", str(not_images), "--out", str(tmp_path / "o")], "shape (5,)"),
        (
            [
                "train",
                "dcgan",
                "--data",
                str(run_dir / "x.npy"),
                "--out",
                str(tmp_path / "o2"),
                "--latent-dim",
                "7",
                "--epochs",
                "2",
                "--resume",
                "--quiet",
            ],
            None,
        ),
    ]:
        code = main(argv)
        err = capsys.readouterr().err
        if message is None:  # resuming into a fresh directory just starts
            assert code == 0
            continue
        assert code == 2, (argv, err)
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
