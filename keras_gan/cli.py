"""The `keras-gan` command line: `keras-gan train|sample|evaluate ...`.

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
        probe = out / f".keras_gan_write_test{os.getpid()}"  # workers may share OUT
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


DISTRIBUTE_HELP = (
    "how to train: none, the classic loop on one device; mirrored, "
    "tf.distribute.MirroredStrategy over this machine's GPUs (or its CPU); "
    "multi-worker, MultiWorkerMirroredStrategy over the machines listed in the TF_CONFIG "
    "environment variable (start the same command on every machine). mirrored and "
    "multi-worker run the fused fit() step in keras_gan.distribute.train_distributed, "
    "splitting each batch of --batch-size over all replicas (for dcgan, --epochs still "
    "counts iterations; for aae, passes over the data, logged as epoch means); only the "
    "chief writes files. Default: none"
)


def _add_device_flags(p, mixed_precision=True, classic_xla=False):
    p.set_defaults(classic_xla=classic_xla)
    p.add_argument(
        "--distribute",
        choices=("none", "mirrored", "multi-worker"),
        default="none",
        help=DISTRIBUTE_HELP,
    )
    if mixed_precision:
        p.add_argument(
            "--mixed-precision",
            action="store_true",
            help="compute in float16 on a GPU (with loss scaling) or bfloat16 on a CPU, "
            "keeping float32 weights",
        )
    fused = (
        "the fused step of --distribute mirrored or multi-worker with a single replica "
        "(XLA cannot compile the all-reduces of several, keras-team/keras#19246)"
    )
    p.add_argument(
        "--xla",
        action="store_true",
        help=(
            "compile each training iteration with XLA (jit_compile): the classic loop's "
            "(which does so by default on one device) or " + fused
            if classic_xla
            else "compile the fused training step with XLA (jit_compile); needs " + fused
        ),
    )


def _check_tf_config():
    """Validates TF_CONFIG for --distribute multi-worker; returns (type, index, n)."""
    text = os.environ.get("TF_CONFIG")
    example = (
        'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\''
    )
    if not text:
        raise CLIError(
            "--distribute multi-worker reads the cluster from TF_CONFIG, which is not set; "
            + example
        )
    try:
        config = json.loads(text)
    except ValueError as e:
        raise CLIError(f"TF_CONFIG is not valid JSON ({e}); {example}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    ok = (
        isinstance(cluster, dict)
        and cluster
        and all(
            isinstance(a, list) and a and all(isinstance(h, str) and ":" in h for h in a)
            for a in cluster.values()
        )
        and isinstance(task, dict)
        and task.get("type") in cluster
        and isinstance(task.get("index"), int)
        and 0 <= task["index"] < len(cluster[task["type"]])
    )
    if not ok:
        raise CLIError(
            "TF_CONFIG must hold a cluster (job name -> list of host:port) and this "
            f"process's task (a job of the cluster and an index into it). Received: {text}; "
            f"{example}"
        )
    return task["type"], task["index"], sum(len(a) for a in cluster.values())


def _check_device_flags(args):
    """Checks the flag combination before TensorFlow starts (fast errors)."""
    if args.xla and args.distribute == "none" and not args.classic_xla:
        raise CLIError(
            "--xla compiles the fused step that --distribute mirrored or multi-worker "
            "runs; the classic loop (--distribute none) does not use it"
        )
    if args.distribute == "multi-worker":
        _check_tf_config()


def _make_strategy(args):
    """Returns the tf.distribute strategy of --distribute (None for none)."""
    import tensorflow as tf

    if args.distribute == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif args.distribute == "multi-worker":
        # A stopped worker is detected by the coordination service's
        # heartbeats: the others fail with UnavailableError instead of hanging.
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        return None
    from keras_gan.distribute import is_chief

    role = "chief" if is_chief(strategy) else "not the chief: writes no files"
    print(
        f"keras-gan: {type(strategy).__name__} with {strategy.num_replicas_in_sync} "
        f"replica(s) in sync ({role})",
        flush=True,
    )
    return strategy


def _grid_callback(sample, path_of, interval, chief, rows, steps=None):
    """A Keras callback writing sample grids during `train_distributed`.

    Grid k is written after epoch k (`steps=None`), or after batch k counted
    over the whole run (`steps` batches per epoch). Every worker draws the
    samples, since drawing advances the shared noise stream and workers must
    stay alike; only the chief writes the PNG.
    """
    import keras

    from keras_gan import viz

    class Grids(keras.callbacks.Callback):
        epoch = 0

        def _write(self, index):
            if interval and index % interval == 0:
                images = sample()
                if chief:
                    viz.save_image_grid(images, path_of(index), rows=rows, cols=rows)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_epoch_end(self, epoch, logs=None):
            if steps is None:
                self._write(epoch)

        def on_train_batch_end(self, batch, logs=None):
            if steps is not None:
                self._write(self.epoch * steps + batch)

    return Grids()


def _batch_counter():
    """A Keras callback counting the training batches of a run (`.count`)."""
    import keras

    class Counter(keras.callbacks.Callback):
        count = 0

        def on_train_batch_end(self, batch, logs=None):
            self.count += 1

    return Counter()


def _iteration_progress(total):
    """A progress bar over `train_distributed` epochs of one step (iterations)."""
    import keras

    class Progress(keras.callbacks.Callback):
        bar = start = None

        def on_epoch_end(self, epoch, logs=None):
            if self.bar is None:  # a resumed run starts at its checkpoint
                self.start = epoch
                self.bar = keras.utils.Progbar(  # GAN losses jump: the latest, not a mean
                    total - epoch, stateful_metrics=list(logs or ()), unit_name="iteration"
                )
            self.bar.update(epoch + 1 - self.start, values=list((logs or {}).items()))

    return Progress()


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
    p.add_argument(
        "--settings",
        choices=("document", "improved", "improved-decay", "improved-r1"),
        default="document",
        help="document: the tutorial exactly. improved: the same networks with no dropout "
        "in D, real labels smoothed to 0.9, learning rates 4e-4 and samples from a moving "
        "average of G's weights. improved-decay: improved with rates 8e-4 falling "
        "linearly to 0 over the last half of the run. improved-r1: improved-decay with an "
        "R1 gradient penalty (gamma 0.3) on D's real images (README, 'Measuring quality'). "
        "Default: document",
    )
    p.add_argument(
        "--fast-upsampling",
        action="store_true",
        help="compute each of G's upsampling + 3x3 convolution pairs as one transposed "
        "convolution: the same function and weights with 4/9 of the multiply-adds "
        "(generator.keras then needs keras_gan to load)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_checkpoint_flags(p)
    _add_device_flags(p)


def _checkpoint_args(args, out):
    """The training keyword arguments of the checkpoint flags (OUT/checkpoints)."""
    return {
        "checkpoint_dir": out / "checkpoints",
        "checkpoint_interval": args.checkpoint_interval,
        "keep_checkpoints": args.keep_checkpoints,
        "resume": args.resume,
    }


def _add_checkpoint_flags(p, unit="iterations", default_interval=500):
    p.add_argument(
        "--checkpoint-interval",
        type=_positive_int,
        default=default_interval,
        help=f"write an atomic checkpoint of the whole training state to OUT/checkpoints "
        f"every N {unit} and at the end. Default: {default_interval}",
    )
    p.add_argument(
        "--keep-checkpoints",
        type=_positive_int,
        default=3,
        help="checkpoints kept (older ones are pruned). Default: 3",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help=f"continue from the latest checkpoint in OUT/checkpoints: {unit}, history, "
        f"sample numbering and random streams carry on; --epochs is the total",
    )


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


class _IterationCounter:
    """A minimal callback counting the iterations a run performs."""

    count = 0

    def on_train_begin(self, logs=None):
        self.count = 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1

    def on_train_end(self, logs=None):
        pass


def train_dcgan(args):
    """`keras-gan train dcgan`: trains and writes grids, model, plots, GIF."""
    _check_device_flags(args)
    from keras_gan import DCGAN, viz
    from keras_gan.distribute import is_chief, train_distributed

    out = _prepare_out(args.out)
    x = _load_user_images(args)
    strategy = _make_strategy(args)
    gan = DCGAN(
        latent_dim=args.latent_dim,
        img_shape=x.shape[1:],
        seed=args.seed,
        strategy=strategy,
        mixed_precision=args.mixed_precision,
        fast_upsampling=args.fast_upsampling,
        settings=args.settings,
    )
    samples = out / "samples"
    chief = strategy is None or is_chief(strategy)
    counter = _IterationCounter() if strategy is None else _batch_counter()
    start = time.perf_counter()
    if strategy is None:
        history = gan.train(
            args.epochs,
            batch_size=args.batch_size,
            save_interval=args.save_interval,
            x_train=x,
            sample_dir=samples,
            verbose=0 if args.quiet else 1,
            **_checkpoint_args(args, out),
            callbacks=[counter],
        )
    else:
        # One fused iteration per train_distributed "epoch", so --epochs,
        # --save-interval and --checkpoint-interval keep counting iterations.
        callbacks = [
            counter,
            _grid_callback(
                lambda: gan.generate(25),
                lambda i: samples / f"mnist_{i}.png",
                args.save_interval,
                chief,
                rows=5,
            ),
        ]
        if not args.quiet:
            callbacks.append(_iteration_progress(args.epochs))
        history = train_distributed(
            gan,
            x,
            epochs=args.epochs,
            batch_size=args.batch_size,
            steps_per_epoch=1,
            jit_compile=args.xla,
            **_checkpoint_args(args, out),
            callbacks=callbacks,
            verbose=0,
        )
        gan.iterations = len(history.epoch)
        gan.sample_dir = str(samples)
    seconds = time.perf_counter() - start
    if not chief:
        print(f"keras-gan: trained {counter.count} iterations; the chief writes the outputs")
        return 0
    final = gan.save_imgs(gan.iterations)
    gan.sampling_generator.save(out / "generator.keras")  # the weight average, if any
    gan.discriminator.save(out / "discriminator.keras")
    viz.plot_history(history, out / "losses.png", title="DCGAN losses")
    frames = sorted(samples.glob("mnist_*.png"), key=lambda p: int(p.stem.split("_")[1]))
    viz.make_gif(frames, out / "training.gif")
    _write_json(out / "history.json", history.history)
    summary = {
        "model": "dcgan",
        "iterations": gan.iterations,
        "iterations_this_run": counter.count,
        "batch_size": args.batch_size,
        "settings": args.settings,
        "distribute": args.distribute,
        "replicas": 1 if strategy is None else strategy.num_replicas_in_sync,
        "mixed_precision": args.mixed_precision,
        "fast_upsampling": args.fast_upsampling,
        "xla": args.xla,
        "seconds": round(seconds, 2),
        "ms_per_iteration": round(1000 * seconds / max(counter.count, 1), 2),
        "final_d_loss": history.history["d_loss"][-1],
        "final_g_loss": history.history["g_loss"][-1],
        "final_grid": str(final),
    }
    _write_json(out / "summary.json", summary)
    print(
        f"keras-gan: trained {counter.count} iterations in {seconds:.1f} s "
        f"({summary['ms_per_iteration']} ms/iteration). Wrote {out}/: samples/, "
        "generator.keras, discriminator.keras, losses.png, training.gif, "
        "history.json, summary.json"
    )
    return 0


def _add_aae_flags(p):
    p.add_argument(
        "--epochs",
        type=_positive_int,
        default=10,
        help="passes over the shuffled data (the document's full run is 200). "
        "Default: 10, about 938 batches each on MNIST",
    )
    p.add_argument(
        "--batch-size", type=_positive_int, default=64, help="images per batch. Default: 64"
    )
    p.add_argument(
        "--sample-interval",
        type=_non_negative_int,
        default=400,
        help="write a 10x10 grid of decoded prior samples every N batches (0: never). Default: 400",
    )
    p.add_argument(
        "--latent-dim", type=_positive_int, default=10, help="code dimensionality. Default: 10"
    )
    p.add_argument(
        "--image-size",
        type=_positive_int,
        default=32,
        help="square size images are resized to (bilinear). Default: 32, as the document",
    )
    p.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        default=1,
        help="1 (grayscale) or 3 (RGB) for a folder of images. Default: 1",
    )
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        help="random seed for weights, shuffling and noise. Default: unseeded",
    )
    p.add_argument(
        "--data",
        default=None,
        help="your own images: a .npy/.npz array (n, H, W[, C]), uint8 0..255 "
        "or float in [-1, 1], or a folder of image files. Default: MNIST",
    )
    p.add_argument(
        "--out",
        default="runs/aae",
        help="output directory for grids, models and plots. Default: runs/aae",
    )
    p.add_argument(
        "--settings",
        choices=("document", "improved"),
        default="document",
        help="document: the document's code exactly. improved: the code's adversarial loss "
        "weighted 0.01 (L1 0.99) and a moving average of the encoder's and decoder's weights "
        "for encoding and sampling: codes that match the prior and a lower L1 (README, "
        "'The adversarial autoencoder'). Default: document",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_checkpoint_flags(p, unit="epochs", default_interval=1)
    _add_device_flags(p, classic_xla=True)


def train_aae(args):
    """`keras-gan train aae`: trains and writes grids, models, plots, pictures."""
    import numpy as np

    _check_device_flags(args)
    from keras_gan import AAE, data, viz
    from keras_gan.distribute import is_chief, train_distributed

    out = _prepare_out(args.out)
    x = _load_user_images(args)
    strategy = _make_strategy(args)
    aae = AAE(
        latent_dim=args.latent_dim,
        img_size=args.image_size,
        channels=x.shape[-1],
        seed=args.seed,
        strategy=strategy,
        mixed_precision=args.mixed_precision,
        settings=args.settings,
    )
    samples = out / "samples"
    aae.sample_dir = str(samples)
    chief = strategy is None or is_chief(strategy)
    start = time.perf_counter()
    if strategy is None:
        history = aae.train(
            args.epochs,
            batch_size=args.batch_size,
            sample_interval=args.sample_interval,
            x_train=x,
            sample_dir=samples,
            verbose=0 if args.quiet else 1,
            jit_compile=True if args.xla else "auto",
            **_checkpoint_args(args, out),
        )
        batches = len(history.epoch)
    else:
        steps = len(x) // args.batch_size  # fused batches are whole: the remainder is dropped
        grids = _grid_callback(
            lambda: aae.generate(100),
            lambda i: samples / f"{i}.png",
            args.sample_interval,
            chief,
            rows=10,
            steps=steps,
        )
        history = train_distributed(
            aae,
            x,
            epochs=args.epochs,
            batch_size=args.batch_size,
            jit_compile=args.xla,
            **_checkpoint_args(args, out),
            callbacks=[grids],
            verbose=0 if args.quiet else 1,
        )
        batches = args.epochs * steps
        aae.iterations = batches
    seconds = time.perf_counter() - start
    if not chief:
        print(f"keras-gan: trained {args.epochs} epochs; the chief writes the outputs")
        return 0
    final = aae.sample_images(aae.iterations)
    aae.sampling_encoder.save(out / "encoder.keras")  # the weight averages, if any
    aae.sampling_decoder.save(out / "decoder.keras")
    aae.discriminator.save(out / "discriminator.keras")
    xlabel = "batch" if strategy is None else "epoch"  # fused runs log epoch means
    viz.plot_history(history, out / "losses.png", title="AAE losses", xlabel=xlabel)
    frames = sorted(samples.glob("*.png"), key=lambda p: int(p.stem))
    viz.make_gif(frames, out / "training.gif")
    # Held-out pictures: MNIST's test set, or the first 1000 of the user's images.
    if args.data is None:
        _, (x_test, y_test) = data.load_mnist()
    else:
        x_test, y_test = x[:1000], None
    originals = aae.prepare(x_test, name="x_test")
    recon = aae.reconstruct(originals)
    codes = aae.encode(originals)
    n = min(50, len(originals))
    cols = min(10, n)
    viz.save_reconstructions(
        originals[:n], recon[:n], out / "reconstructions.png", rows=n // cols, cols=cols
    )
    if args.latent_dim >= 2:
        viz.plot_latent_codes(
            codes, out / "latent_codes.png", labels=y_test, title="AAE codes of held-out images"
        )
    _write_json(out / "history.json", history.history)
    mean, std = codes.mean(axis=0), codes.std(axis=0)
    summary = {
        "model": "aae",
        "settings": args.settings,
        "epochs": args.epochs,
        "batches": batches,
        "batch_size": args.batch_size,
        "distribute": args.distribute,
        "replicas": 1 if strategy is None else strategy.num_replicas_in_sync,
        "mixed_precision": args.mixed_precision,
        "xla": args.xla,
        "seconds": round(seconds, 2),
        "ms_per_batch": round(1000 * seconds / batches, 2),
        "final_d_loss": history.history["d_loss"][-1],
        "final_g_loss": history.history["g_loss"][-1],
        "heldout_l1": float(np.abs(recon - originals).mean()),
        "heldout_code_mean": mean.round(4).tolist(),
        "heldout_code_std": std.round(4).tolist(),
        "prior_matched": bool(np.all(np.abs(mean) <= 0.15) and np.all(abs(std - 1) <= 0.2)),
        "final_grid": str(final),
    }
    _write_json(out / "summary.json", summary)
    print(
        f"keras-gan: trained {args.epochs} epochs ({summary['batches']} batches) in "
        f"{seconds:.1f} s ({summary['ms_per_batch']} ms/batch); held-out L1 "
        f"{summary['heldout_l1']:.4f}. Wrote {out}/: samples/, encoder.keras, "
        "decoder.keras, discriminator.keras, losses.png, training.gif, "
        "reconstructions.png, latent_codes.png, history.json, summary.json"
    )
    return 0


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _finite_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _add_gaussian_flags(p):
    p.add_argument(
        "--variant",
        choices=("bce", "softmax"),
        default="bce",
        help="bce: the d2l document (sigmoid, binary cross-entropy, lr 0.05/0.005); "
        "softmax: the two-way softmax document (lr 0.05/0.01). Default: bce",
    )
    p.add_argument(
        "--epochs", type=_positive_int, default=20, help="passes over the data. Default: 20"
    )
    p.add_argument("--batch-size", type=_positive_int, default=8, help="rows per batch. Default: 8")
    p.add_argument(
        "--latent-dim", type=_positive_int, default=2, help="noise dimensionality. Default: 2"
    )
    p.add_argument(
        "--lr-d", type=_positive_float, default=None, help="D's Adam rate. Default: 0.05"
    )
    p.add_argument(
        "--lr-g",
        type=_positive_float,
        default=None,
        help="G's Adam rate. Default: 0.005 (0.01 for softmax with --settings document)",
    )
    p.add_argument(
        "--settings",
        choices=("document", "stable"),
        default="stable",
        help="stable: PyTorch's default init, Adam beta_1 0, rates falling linearly to 0 "
        "over the last three quarters of the run (seeds nearer the target); document: the "
        "documents' init N(0, 0.02), Adam beta_1 0.9, constant rates. Default: stable",
    )
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        help="random seed for weights, data and noise. Default: unseeded",
    )
    p.add_argument(
        "--data",
        default=None,
        help="your own points: a .npy file holding an (n, d) float array. "
        "Default: 1000 points of X·A + b, A = [[1, 2], [-0.1, 0.5]], b = [1, 2]",
    )
    p.add_argument(
        "--n-generate",
        type=_positive_int,
        default=10000,
        help="generated points the summary's statistics use. Default: 10000",
    )
    p.add_argument(
        "--out",
        default="runs/gaussian",
        help="output directory for plots, models and summary. Default: runs/gaussian",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_checkpoint_flags(p, unit="epochs", default_interval=5)


def _load_points(path):
    import numpy as np

    p = Path(path)
    if not p.is_file() or p.suffix != ".npy":
        raise CLIError(
            f"--data must be an existing .npy file of shape (n, d). Received: {str(p)!r}"
        )
    try:
        return np.load(p, allow_pickle=False)
    except Exception as e:
        raise CLIError(f"could not read {str(p)!r}: {type(e).__name__}: {e}") from None


def _rounded(a):
    import numpy as np

    return np.round(np.asarray(a, dtype=float), 4).tolist()


def train_gaussian(args):
    """`keras-gan train gaussian`: trains, then writes plots, models, summary."""
    import numpy as np

    from keras_gan import GaussianGAN, data, viz

    out = _prepare_out(args.out)
    if args.data is None:
        x = data.gaussian_2d(seed=args.seed)
        target_mean, target_cov = data.gaussian_2d_moments()
        target = "population mean b and covariance AᵀA of X·A + b"
    else:
        x = data.prepare_points(_load_points(args.data), name="--data")
        target_mean, target_cov = x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))
        target = f"sample mean and covariance of {args.data}"
    gan = GaussianGAN(
        args.variant,
        latent_dim=args.latent_dim,
        data_dim=x.shape[1],
        lr_d=args.lr_d,
        lr_g=args.lr_g,
        seed=args.seed,
        settings=args.settings,
    )
    start = time.perf_counter()
    history = gan.train(
        x,
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=0 if args.quiet else 1,
        **_checkpoint_args(args, out),
    )
    seconds = time.perf_counter() - start
    fake = gan.generate(args.n_generate).astype(np.float64)
    mean, cov = fake.mean(axis=0), np.atleast_2d(np.cov(fake, rowvar=False))
    gan.generator.save(out / "generator.keras")
    gan.discriminator.save(out / "discriminator.keras")
    viz.plot_history(
        history, out / "losses.png", title=f"GaussianGAN ({args.variant}) losses", xlabel="epoch"
    )
    if x.shape[1] == 2:
        viz.plot_scatter_2d(
            x, fake, out / "scatter.png", title=f"GaussianGAN ({args.variant}), real vs generated"
        )
    _write_json(out / "history.json", history.history)
    iterations = args.epochs * math.ceil(len(x) / args.batch_size)
    summary = {
        "model": "gaussian",
        "variant": args.variant,
        "settings": args.settings,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr_d": gan.lr_d,
        "lr_g": gan.lr_g,
        "seed": args.seed,
        "seconds": round(seconds, 2),
        "iterations_per_second": round(iterations / seconds, 1),
        "target": target,
        "target_mean": _rounded(target_mean),
        "achieved_mean": _rounded(mean),
        "target_cov": _rounded(target_cov),
        "achieved_cov": _rounded(cov),
        "max_abs_mean_error": round(float(np.abs(mean - target_mean).max()), 4),
        "max_abs_cov_error": round(float(np.abs(cov - target_cov).max()), 4),
        "n_generated": args.n_generate,
        "final_d_loss": history.history["d_loss"][-1],
        "final_g_loss": history.history["g_loss"][-1],
    }
    _write_json(out / "summary.json", summary)
    print(
        f"keras-gan: trained {args.epochs} epochs ({iterations} iterations) in {seconds:.1f} s; "
        f"max |mean error| {summary['max_abs_mean_error']}, max |cov error| "
        f"{summary['max_abs_cov_error']}. Wrote {out}/: losses.png"
        + (", scatter.png" if x.shape[1] == 2 else "")
        + ", generator.keras, discriminator.keras, history.json, summary.json"
    )
    return 0


def _add_moments_flags(p):
    p.add_argument(
        "--preprocess",
        choices=("raw", "diffs", "variances", "moments"),
        default="moments",
        help="what D sees of each minibatch: the raw values, values and (x - mean), "
        "values and (x - mean)^2, or the 4 moments. Default: moments",
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        default=5000,
        help="epochs of d-steps D updates and g-steps G updates. Default: 5000, the document's",
    )
    p.add_argument("--d-steps", type=_positive_int, default=20, help="D updates per epoch")
    p.add_argument("--g-steps", type=_positive_int, default=20, help="G updates per epoch")
    p.add_argument(
        "--print-interval",
        type=_non_negative_int,
        default=100,
        help="print the document's progress line every N epochs (0: never). Default: 100",
    )
    p.add_argument(
        "--minibatch-size",
        type=_positive_int,
        default=500,
        help="values D reads as one example. Default: 500",
    )
    p.add_argument("--data-mean", type=_finite_float, default=4.0, help="real mean. Default: 4")
    p.add_argument(
        "--data-stddev", type=_positive_float, default=1.25, help="real std. Default: 1.25"
    )
    p.add_argument(
        "--init",
        choices=("pytorch", "keras"),
        default="pytorch",
        help="weight initialisation: PyTorch's nn.Linear default (the document's) "
        "or Keras's Dense default. Default: pytorch",
    )
    p.add_argument(
        "--settings",
        choices=("document", "stable"),
        default="stable",
        help="stable: the document's settings with label smoothing 0.1 (every measured "
        "seed within 0.1 of the targets); document: the 50-line code exactly. "
        "Default: stable",
    )
    p.add_argument(
        "--label-smoothing",
        type=float,
        default=None,
        help="one-sided label smoothing: D's target for real minibatches is 1 - this, "
        "in [0, 0.5). Default: the settings' (0.1 stable, 0 document)",
    )
    p.add_argument(
        "--d-weight-decay",
        type=_positive_float,
        default=None,
        help="decoupled weight decay of D's SGD (keeps its sigmoid units from "
        "saturating). Default: none (the document's)",
    )
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        help="random seed for weights, data and noise. Default: unseeded",
    )
    p.add_argument(
        "--n-generate",
        type=_positive_int,
        default=10000,
        help="generated values the summary and histogram use. Default: 10000",
    )
    p.add_argument(
        "--out",
        default="runs/moments",
        help="output directory for plots, models and summary. Default: runs/moments",
    )
    p.add_argument("--quiet", action="store_true", help="print no progress lines")
    _add_checkpoint_flags(p, unit="epochs", default_interval=500)


def train_moments(args):
    """`keras-gan train moments`: trains, then writes plots, models, summary."""
    import numpy as np

    from keras_gan import MomentsGAN, viz

    out = _prepare_out(args.out)
    gan = MomentsGAN(
        preprocess=args.preprocess,
        data_mean=args.data_mean,
        data_stddev=args.data_stddev,
        seed=args.seed,
        minibatch_size=args.minibatch_size,
        init=args.init,
        label_smoothing=args.label_smoothing,
        d_weight_decay=args.d_weight_decay,
        settings=args.settings,
    )
    start = time.perf_counter()
    history = gan.train(
        epochs=args.epochs,
        d_steps=args.d_steps,
        g_steps=args.g_steps,
        print_interval=0 if args.quiet else args.print_interval,
        **_checkpoint_args(args, out),
    )
    seconds = time.perf_counter() - start
    fake = gan.generate(args.n_generate).astype(np.float64)
    real = gan.real_samples(args.n_generate)
    gan.generator.save(out / "generator.keras")
    gan.discriminator.save(out / "discriminator.keras")
    h = history.history
    viz.plot_histogram_1d(
        real,
        fake,
        out / "histogram.png",
        args.data_mean,
        args.data_stddev,
        title=f"MomentsGAN ({args.preprocess}) after {args.epochs} epochs",
    )
    viz.plot_stats_over_training(
        history.epoch,
        h["fake_mean"],
        h["fake_std"],
        out / "stats.png",
        args.data_mean,
        args.data_stddev,
        title=f"MomentsGAN ({args.preprocess}): generated minibatch mean and std",
    )
    viz.plot_history(
        {k: h[k] for k in ("d_real_error", "d_fake_error", "g_error")},
        out / "losses.png",
        title=f"MomentsGAN ({args.preprocess}) errors",
        xlabel="epoch",
    )
    _write_json(out / "history.json", h)
    summary = {
        "model": "moments",
        "preprocess": args.preprocess,
        "init": args.init,
        "settings": args.settings,
        "label_smoothing": gan.label_smoothing,
        "d_weight_decay": args.d_weight_decay,
        "epochs": args.epochs,
        "d_steps": args.d_steps,
        "g_steps": args.g_steps,
        "minibatch_size": args.minibatch_size,
        "seed": args.seed,
        "seconds": round(seconds, 2),
        "target_mean": args.data_mean,
        "achieved_mean": round(float(fake.mean()), 4),
        "target_std": args.data_stddev,
        "achieved_std": round(float(fake.std()), 4),
        "abs_mean_error": round(abs(float(fake.mean()) - args.data_mean), 4),
        "abs_std_error": round(abs(float(fake.std()) - args.data_stddev), 4),
        "n_generated": args.n_generate,
    }
    _write_json(out / "summary.json", summary)
    print(
        f"keras-gan: trained {args.epochs} epochs in {seconds:.1f} s; generated mean "
        f"{summary['achieved_mean']} (target {args.data_mean}), std {summary['achieved_std']} "
        f"(target {args.data_stddev}). Wrote {out}/: histogram.png, stats.png, losses.png, "
        "generator.keras, discriminator.keras, history.json, summary.json"
    )
    return 0


# name -> (flag adder, runner, help)
TRAINERS = {
    "dcgan": (_add_dcgan_flags, train_dcgan, "the DCGAN on MNIST (or your images)"),
    "aae": (_add_aae_flags, train_aae, "the adversarial autoencoder on MNIST (or your images)"),
    "gaussian": (_add_gaussian_flags, train_gaussian, "the 2-D Gaussian GAN (bce or softmax)"),
    "moments": (_add_moments_flags, train_moments, "the 50-line GAN on a 1-D Gaussian"),
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


# ------------------------------------------------------------------ evaluate


def _generate_images(model, n, seed):
    """Draws `n` images from a generator model, 500 per call, inference mode."""
    import keras
    import numpy as np

    latent_dim = model.inputs[0].shape[-1]
    z = keras.random.normal((n, latent_dim), seed=seed)
    return np.concatenate(
        [np.asarray(model(z[i : i + 500], training=False)) for i in range(0, n, 500)]
    )


def evaluate(args):
    """`keras-gan evaluate`: MNIST quality figures of a generator or samples."""
    p = Path(args.source)
    if p.is_dir():
        if not (p / "generator.keras").is_file():
            raise CLIError(f"the run directory {str(p)!r} holds no generator.keras")
        p = p / "generator.keras"
    if not p.exists():
        raise CLIError(f"not found: {str(p)!r}")
    from keras_gan import data, metrics  # after the path checks: TensorFlow loads slowly

    if p.suffix == ".keras":
        images = _generate_images(load_generator(p), args.n, args.seed)
        what = f"{args.n} samples of {p}"
    elif p.suffix in (".npy", ".npz"):
        images = data.load_images(p)
        if args.n < len(images):
            images = images[: args.n]
        what = f"{len(images)} images of {p}"
    else:
        raise CLIError(
            f"expected a generator .keras file, a .npy/.npz of images or a run directory, "
            f"got {str(p)!r}"
        )
    try:
        quality = metrics.image_quality(images, reference=args.reference)
    except ValueError as e:
        raise CLIError(f"cannot score {what}: {e}") from None
    if args.json:
        print(json.dumps({"source": str(p), "reference": args.reference, **quality}))
        return 0
    shares = " ".join(f"{d}:{s:.2f}" for d, s in enumerate(quality["shares"]))
    print(
        f"keras-gan: quality of {what} (MNIST classifier, Fréchet reference: "
        f"MNIST {args.reference} set)\n"
        f"  classifier score  {quality['classifier_score']:.3f}   (1..10, higher is better)\n"
        f"  Fréchet distance  {quality['frechet_distance']:.3f}   (0 is best)\n"
        f"  modes             {quality['modes']} / 10   "
        f"(entropy {quality['mode_entropy']:.3f} nats, ln 10 = 2.303)\n"
        f"  digit shares      {shares}"
    )
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
    e = commands.add_parser(
        "evaluate",
        help="print MNIST quality figures of a generator or of samples",
        description="Print the classifier score, Fréchet distance and modes (keras_gan.metrics) "
        "of a generator .keras file, a .npy/.npz of images or a run directory's generator.",
    )
    e.add_argument(
        "source",
        help="generator .keras file, .npy/.npz of images (n, 28|32, 28|32[, 1]), "
        "or a run directory holding generator.keras",
    )
    e.add_argument(
        "-n",
        type=_positive_int,
        default=10000,
        help="samples to draw (or the first N images of an array). Default: 10000",
    )
    e.add_argument(
        "--reference",
        choices=("test", "train"),
        default="test",
        help="MNIST set the Fréchet distance compares with. Default: test",
    )
    e.add_argument("--seed", type=_non_negative_int, default=None, help="noise seed")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(run=evaluate)
    return parser


def main(argv=None):
    """Entry point of `keras-gan`; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            if hasattr(args, "distribute"):
                _check_device_flags(args)  # before TensorFlow starts: fast errors
            _print_devices()
        return args.run(args)
    except (CLIError, ValueError) as e:
        print(f"keras-gan: error: {e}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
