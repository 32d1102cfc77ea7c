"""Measure the real-data floor of keras_gan's quality metrics (README table).

    python scripts/eval_quality.py                    # the floor and the sanity rows
    python scripts/eval_quality.py runs/dcgan runs/aae/generator.keras -n 10000

Prints a Markdown table: classifier score, Fréchet distance (to the MNIST test
set) and modes of real MNIST (the best a generator can be expected to reach,
at the same number of images), of degraded data (noise, shuffled pixels, one
digit) and of any generators, run directories or `.npy` files given.
Generators are sampled with N(0, I) noise of seed `--seed`.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", help="generator .keras, run directory or .npy")
    parser.add_argument("-n", type=int, default=10000, help="images per row. Default: 10000")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np

    from keras_gan import cli, metrics
    from keras_gan.data import load_images, load_mnist

    (x_train, _), (x_test, y_test) = load_mnist()
    n = args.n
    rng = np.random.default_rng(args.seed)
    rows = []

    def row(label, images, reference="test"):
        start = time.perf_counter()
        q = metrics.image_quality(images, reference=reference)
        seconds = time.perf_counter() - start
        rows.append((label, q["n"], reference, q, seconds))

    row(f"MNIST test set ({len(x_test)})", x_test, reference="train")
    row(f"MNIST train set, first {n}", x_train[:n])
    row("MNIST train set, first 2000", x_train[:2000])
    row("MNIST test set, first 2000", x_test[:2000], reference="train")
    row(f"uniform noise ({n})", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    perm = rng.permutation(28 * 28)
    row(
        f"test set, pixels shuffled ({len(x_test)})",
        x_test.reshape(len(x_test), -1)[:, perm].reshape(x_test.shape),
    )
    row(f"test set, only sevens ({int(np.sum(y_test == 7))})", x_test[y_test == 7])
    for source in args.sources:
        p = Path(source)
        if p.is_dir():
            p = p / "generator.keras"
        if p.suffix == ".keras":
            images = cli._generate_images(cli.load_generator(p), n, args.seed)
        else:
            images = load_images(p)[:n]
        row(str(source), images)

    print(
        "| images | n | Fréchet reference | classifier score | Fréchet distance | modes "
        "| entropy (nats) |"
    )
    print("|---|---:|---|---:|---:|---:|---:|")
    for label, count, reference, q, _ in rows:
        print(
            f"| {label} | {count} | MNIST {reference} | {q['classifier_score']:.2f} | "
            f"{q['frechet_distance']:.2f} | {q['modes']} | {q['mode_entropy']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
