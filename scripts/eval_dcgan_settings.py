"""DCGAN sample quality per training setting, at the tutorial's budget (README table).

Each configuration trains a fresh `DCGAN` with the classic `train()` loop for
`--iterations` iterations of `--batch-size` MNIST images (the tutorial's
4000 x 32 by default), then scores `-n` generated images with
`keras_gan.metrics` (classifier score, Fréchet distance to the MNIST test
set, digit classes covered). Besides the configuration's own sampler, every
run also keeps moving averages of the generator at the `--ema` decays (a
callback updates them after every iteration), so one run measures the
effect of sampling from a weight average at several decays.

    python scripts/eval_dcgan_settings.py --configs document improved-no-ema
    python scripts/eval_dcgan_settings.py --configs improved --seed 1
    python scripts/eval_dcgan_settings.py --configs improved-r1 --fit   # fit() instead

With `--fit`, each configuration trains with `DCGAN.fit()` (the fused step,
XLA on) for the same `--iterations` steps of `--batch-size`: the training
images are repeated (each pass reshuffled) up to iterations x batch-size rows
and fit() runs one epoch over them, so the rates decay over the same
iterations as train()'s.

Prints one Markdown row per (configuration, sampler) and writes every
figure, plus a 5x5 grid per row, to `--out`.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# name -> DCGAN keyword arguments (the networks are the tutorial's in all)
CONFIGS = {
    "document": {"settings": "document"},
    "no-dropout+smoothing": {"dropout": 0.0, "label_smoothing": 0.1},
    "improved-no-ema": {"settings": "improved", "ema_decay": 0},
    "improved": {"settings": "improved"},
    "improved-decay": {"settings": "improved-decay"},
    "improved-r1": {"settings": "improved-r1"},
    # the R1 penalty's weight either side of improved-r1's 0.3: its earlier
    # 1, and 3
    "improved-r1+gamma1": {"settings": "improved-r1", "r1_gamma": 1.0},
    "improved-r1+gamma3": {"settings": "improved-r1", "r1_gamma": 3.0},
    # the same networks and settings, G's upsampling + convolutions computed fast
    "improved-r1+fast-upsampling": {"settings": "improved-r1", "fast_upsampling": True},
    # issue 8: D's normalisation and a learning-rate decay at the end of the run
    "improved+no-d-bn": {"settings": "improved", "d_normalization": "none"},
    "improved+d-layer-norm": {"settings": "improved", "d_normalization": "layer"},
    "improved+decay": {"settings": "improved", "lr_decay_fraction": 0.5},
    "improved+no-d-bn+decay": {
        "settings": "improved",
        "d_normalization": "none",
        "lr_decay_fraction": 0.5,
    },
    "improved+d-layer-norm+decay": {
        "settings": "improved",
        "d_normalization": "layer",
        "lr_decay_fraction": 0.5,
    },
    "improved-decay+d-layer-norm": {"settings": "improved-decay", "d_normalization": "layer"},
    "improved-decay+full-decay": {"settings": "improved-decay", "lr_decay_fraction": 1.0},
    "improved+lr8e-4+decay": {
        "settings": "improved",
        "learning_rate": 8e-4,
        "lr_decay_fraction": 0.5,
    },
    "improved+lr1.2e-3+decay": {
        "settings": "improved",
        "learning_rate": 1.2e-3,
        "lr_decay_fraction": 0.5,
    },
    "document+no-d-bn": {"settings": "document", "d_normalization": "none"},
    "document+decay": {"settings": "document", "lr_decay_fraction": 0.5},
    "document+no-d-bn+decay": {
        "settings": "document",
        "d_normalization": "none",
        "lr_decay_fraction": 0.5,
    },
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=["document"])
    parser.add_argument("--iterations", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--ema", type=float, nargs="*", default=[0.99, 0.995, 0.999])
    parser.add_argument("-n", type=int, default=10000, help="images scored per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/dcgan_settings")
    parser.add_argument(
        "--bn-batches",
        type=int,
        default=300,
        help="also score every sampler after update_batch_norm_statistics over this many "
        "noise batches of --batch-size (0: skip)",
    )
    parser.add_argument(
        "--fit",
        action="store_true",
        help="train with DCGAN.fit() (fused step, XLA) instead of the classic train()",
    )
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from keras_gan import DCGAN, metrics, viz
    from keras_gan.data import load_mnist
    from keras_gan.engine import WeightAverage, update_batch_norm_statistics

    class Averages(keras.callbacks.Callback):
        """Moving averages of the generator at several decays."""

        def __init__(self, generator, decays):
            super().__init__()
            self.averages = {d: WeightAverage(generator, d) for d in decays}
            self._update = tf.function(lambda: [a.update() for a in self.averages.values()])

        def on_train_batch_end(self, batch, logs=None):
            self._update()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (x_train, _), _ = load_mnist()
    rows = []
    for name in args.configs:
        gan = DCGAN(seed=args.seed, **CONFIGS[name])
        averages = Averages(gan.generator, args.ema)
        start = time.perf_counter()
        if args.fit:
            rows_needed = args.iterations * args.batch_size
            passes = -(-rows_needed // len(x_train))
            order = np.random.default_rng(args.seed)
            x = np.concatenate([x_train[order.permutation(len(x_train))] for _ in range(passes)])
            gan.fit(
                x[:rows_needed],
                epochs=1,
                batch_size=args.batch_size,
                jit_compile=True,
                verbose=0,
                callbacks=[averages],
            )
        else:
            gan.train(
                args.iterations,
                batch_size=args.batch_size,
                save_interval=0,
                x_train=x_train,
                verbose=0,
                callbacks=[averages],
            )
        seconds = time.perf_counter() - start
        samplers = {"G": gan.generator}
        if gan.ema_generator is not None:
            samplers[f"EMA {gan.ema_decay:g} (built in)"] = gan.ema_generator
        samplers.update({f"EMA {d:g}": a.average for d, a in averages.averages.items()})
        z = np.random.default_rng(args.seed).standard_normal((args.n, gan.latent_dim))
        z = z.astype("float32")
        bn_noise = (
            np.random.default_rng(args.seed + 1)
            .standard_normal((args.bn_batches, args.batch_size, gan.latent_dim))
            .astype("float32")
        )
        for label, net in samplers.items():
            variants = [(label, None)]
            if args.bn_batches:
                variants.append((f"{label}, precise BN", bn_noise))
            for row_label, noise in variants:
                if noise is not None:  # batch statistics averaged with the final weights
                    update_batch_norm_statistics(
                        [net], lambda b, net=net: net(b, training=True), noise
                    )
                images = np.concatenate(
                    [
                        np.asarray(net(z[i : i + 1000], training=False))
                        for i in range(0, args.n, 1000)
                    ]
                )
                q = metrics.image_quality(images)
                slug = row_label.replace(" (built in)", "").replace(" ", "").replace(",", "_")
                slug = f"{name}_{slug}" + ("_fit" if args.fit else "")
                viz.save_image_grid(images[:25], out / f"{slug}.png", rows=5, cols=5)
                if label == "G" or "built in" in label:
                    net.save(out / f"{slug}.keras")
                row = {
                    "config": name,
                    "path": "fit" if args.fit else "train",
                    "sampler": row_label,
                    "classifier_score": round(q["classifier_score"], 3),
                    "frechet_distance": round(q["frechet_distance"], 2),
                    "modes": q["modes"],
                    "seconds": round(seconds, 1),
                    "grid": str(out / f"{slug}.png"),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    suffix = "_fit" if args.fit else ""
    with open(out / f"results_seed{args.seed}{suffix}.json", "w") as f:
        json.dump({"args": vars(args), "rows": rows}, f, indent=2)
    path = "fit()" if args.fit else "train()"
    print(f"\n{args.iterations} iterations x {args.batch_size} images, {path}, seed {args.seed}\n")
    print("| configuration | sampler | classifier score | Fréchet distance | modes |")
    print("| --- | --- | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['config']} | {r['sampler']} | {r['classifier_score']:.2f} | "
            f"{r['frechet_distance']:.1f} | {r['modes']} |"
        )


if __name__ == "__main__":
    main()
