"""The `keras-gan` command line: `keras-gan train|sample ...`.

argparse lives only here. Each `train` subcommand is a function registered in
`TRAINERS`; it builds a model from the parsed flags, trains it and writes its
outputs under `--out`.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

USAGE_ERROR = 2


class CLIError(Exception):
    """A user error: printed as `keras-gan: error: ...`, exit status 2."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _prepare_out(out):
    """Creates the output directory, or fails with a clear message."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".keras_gan_write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise CLIError(
            f"cannot write to the output directory {str(out)!r}: {e.strerror or e}"
        ) from None
    return out


def _write_json(path, obj):
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def _print_devices():
    import tensorflow as tf

    devices = [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices()]
    print(f"keras-gan: devices: {', '.join(devices)}", flush=True)


# --------------------------------------------------------------------- train


def _add_dcgan_flags(p):
    p.add_argument(
        "--epochs",
        type=_positive_int,
        default=1000,
        help="training iterations (the tutorial calls one iteration an "
        "epoch; its full run is 4000). Default: 1000, ~3 min on a 2-core CPU",
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=32,
        help="images per batch. Default: 32 (the tutorial's)",
    )
    p.add_argument(
        "--save-interval",
        type=_non_negative_int,
        default=50,
        help="write a 5x5 sample grid every N iterations (0: never). Default: 50",
    )
    p.add_argument(
        "--latent-dim",
        type=_positive_int,
        default=100,
        help="dimensionality of the noise vector. Default: 100",
    )
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        help="random seed for weights, batches and noise. Default: unseeded",
    )
    p.add_argument(
        "--data",
        default=None,
        help="your own images: a .npy/.npz array (n, H, W[, C]), uint8 0..255 "
        "or float in [-1, 1], or a folder of image files. Default: MNIST",
    )
    p.add_argument(
        "--image-size",
        type=_positive_int,
        default=None,
        help="resize a folder of images to this square size (a multiple of 4)",
    )
    p.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        default=1,
        help="1 (grayscale) or 3 (RGB) for a folder of images. Default: 1",
    )
    p.add_argument(
        "--out",
        default="runs/dcgan",
        help="output directory for grids, model and plots. Default: runs/dcgan",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _load_user_images(args):
    from keras_gan import data

    if args.data is None:
        (x, _), _ = data.load_mnist()
    else:
        shape = None
        if args.image_size:
            shape = (args.image_size, args.image_size, args.channels)
        x = data.load_images(args.data, shape)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise CLIError(f"--data must hold images (n, H, W[, C]); got an array of shape {x.shape}")
    return x


def train_dcgan(args):
    """`keras-gan train dcgan`: trains and writes grids, model, plots, GIF."""
    from keras_gan import DCGAN, viz

    out = _prepare_out(args.out)
    x = _load_user_images(args)
    gan = DCGAN(latent_dim=args.latent_dim, img_shape=x.shape[1:], seed=args.seed)
    samples = out / "samples"
    start = time.perf_counter()
    history = gan.train(
        args.epochs,
        batch_size=args.batch_size,
        save_interval=args.save_interval,
        x_train=x,
        sample_dir=samples,
        verbose=0 if args.quiet else 1,
    )
    seconds = time.perf_counter() - start
    final = gan.save_imgs(gan.iterations)
    gan.generator.save(out / "generator.keras")
    gan.discriminator.save(out / "discriminator.keras")
    viz.plot_history(history, out / "losses.png", title="DCGAN losses")
    frames = sorted(samples.glob("mnist_*.png"), key=lambda p: int(p.stem.split("_")[1]))
    viz.make_gif(frames, out / "training.gif")
    _write_json(out / "history.json", history.history)
    summary = {
        "model": "dcgan",
        "iterations": args.epochs,
        "batch_size": args.batch_size,
        "seconds": round(seconds, 2),
        "ms_per_iteration": round(1000 * seconds / args.epochs, 2),
        "final_d_loss": history.history["d_loss"][-1],
        "final_g_loss": history.history["g_loss"][-1],
        "final_grid": str(final),
    }
    _write_json(out / "summary.json", summary)
    print(
        f"keras-gan: trained {args.epochs} iterations in {seconds:.1f} s "
        f"({summary['ms_per_iteration']} ms/iteration). Wrote {out}/: samples/, "
        "generator.keras, discriminator.keras, losses.png, training.gif, "
        "history.json, summary.json"
    )
    return 0


# name -> (flag adder, runner, help)
TRAINERS = {
    "dcgan": (_add_dcgan_flags, train_dcgan, "the DCGAN on MNIST (or your images)"),
}


# -------------------------------------------------------------------- sample


def load_generator(path):
    """Loads a generator `.keras` file (safe mode on) with a clear error."""
    import keras

    p = Path(path)
    if not p.is_file():
        raise CLIError(f"generator file not found: {str(p)!r}")
    if p.suffix != ".keras":
        raise CLIError(f"expected a .keras model file, got {str(p)!r}")
    try:
        model = keras.saving.load_model(p)
    except Exception as e:
        raise CLIError(
            f"could not load {str(p)!r} as a Keras model: {type(e).__name__}: {e}"
        ) from None
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 2:
        raise CLIError(
            f"{str(p)!r} is not a generator: expected one input of shape (batch, latent_dim), "
            f"got {[tuple(i.shape) for i in model.inputs]}"
        )
    return model


def sample(args):
    """`keras-gan sample`: writes a grid of images from a saved generator."""
    import keras
    import numpy as np

    from keras_gan import viz

    model = load_generator(args.generator)
    latent_dim = model.inputs[0].shape[-1]
    z = keras.random.normal((args.n, latent_dim), seed=args.seed)
    images = np.asarray(model(z, training=False))
    if images.ndim not in (3, 4):
        raise CLIError(f"the generator returned shape {images.shape}, not images")
    rows = args.rows or max(1, int(math.sqrt(args.n)))
    cols = math.ceil(args.n / rows)
    path = viz.save_image_grid(images, args.output, rows=rows, cols=cols)
    print(f"keras-gan: wrote {args.n} samples to {path}")
    return 0


# ---------------------------------------------------------------------- main


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-gan",
        description="Train the classic GANs on Keras 3 and sample from them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="train a model", description="Train a model.")
    models = train.add_subparsers(dest="model", required=True, metavar="MODEL")
    for name, (add_flags, run, help_text) in TRAINERS.items():
        p = models.add_parser(name, help=help_text, description=f"Train {help_text}.")
        add_flags(p)
        p.set_defaults(run=run)
    s = commands.add_parser(
        "sample",
        help="write a grid of samples from a saved generator",
        description="Write a grid of samples from a saved generator (.keras).",
    )
    s.add_argument(
        "generator", help="path to a generator .keras file (e.g. runs/dcgan/generator.keras)"
    )
    s.add_argument("-n", type=_positive_int, default=25, help="number of samples. Default: 25")
    s.add_argument("-o", "--output", default="samples.png", help="output PNG. Default: samples.png")
    s.add_argument(
        "--rows", type=_positive_int, default=None, help="grid rows. Default: about sqrt(n)"
    )
    s.add_argument("--seed", type=_non_negative_int, default=None, help="noise seed")
    s.set_defaults(run=sample)
    return parser


def main(argv=None):
    """Entry point of `keras-gan`; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            _print_devices()
        return args.run(args)
    except (CLIError, ValueError) as e:
        print(f"keras-gan: error: {e}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
