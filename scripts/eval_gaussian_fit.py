"""Fixed-seed quality of GaussianGAN.fit() beside the classic train(), per variant.

For each variant and seed: `GaussianGAN(variant, seed=seed, settings=...)`
trained on the documents' 1000 points (`keras_gan.data.gaussian_2d(seed=seed)`)
for the documents' 20 epochs at batch 8, once with `fit()` (its defaults otherwise:
shuffled batches of exactly 8 rows, noise from the seed generator) and once,
from a fresh object, with the classic `train()`. Each run then generates
10,000 points, scored by max |mean - b| and max |cov - AᵀA| against the
population moments (`keras_gan.metrics.gaussian_errors`). Every seed is
printed, then the medians beside the target: the d2l PyTorch code's 5-seed
medians on this machine (issue 7), 0.171 and 0.226
(scripts/eval_gaussian_quality.py --pytorch reproduces them).

    python scripts/eval_gaussian_fit.py                  # ~3 min on 2 cores
    python scripts/eval_gaussian_fit.py --paths fit --seeds $(seq 0 19)
    python scripts/eval_gaussian_fit.py --settings stable --seeds $(seq 0 19) \\
        --steps-per-execution 125 --jit-compile true
    python scripts/eval_gaussian_fit.py --seeds 0 1 --variants softmax \\
        --steps-per-execution 125 --json runs/gaussian_fit.json
"""

import argparse
import json
import statistics
import time

import numpy as np

TARGET = {"max_abs_mean_error": 0.171, "max_abs_cov_error": 0.226}
EPOCHS, BATCH_SIZE, N_GENERATE = 20, 8, 10_000


def max_abs_errors(points):
    """(max |mean - b|, max |cov - AᵀA|) of generated points."""
    from keras_gan import data, metrics

    b, cov = data.gaussian_2d_moments()
    e = metrics.gaussian_errors(np.asarray(points, np.float64), b, cov)
    return (
        float(np.abs(np.asarray(e["mean"]) - b).max()),
        float(np.abs(np.asarray(e["cov"]) - cov).max()),
    )


def run(variant, seed, path, steps_per_execution, jit_compile, settings="stable"):
    from keras_gan import GaussianGAN, data

    gan = GaussianGAN(variant, seed=seed, settings=settings)
    x = data.gaussian_2d(seed=seed)
    start = time.perf_counter()
    if path == "fit":
        gan.fit(
            x,
            epochs=EPOCHS,
            batch_size=BATCH_SIZE,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            verbose=0,
        )
    else:
        gan.train(x, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
    seconds = time.perf_counter() - start
    return max_abs_errors(gan.generate(N_GENERATE)), seconds


def cells(errors, seconds=None):
    s = "" if seconds is None else f"{seconds:5.1f}"
    return f" {errors[0]:15.3f} {errors[1]:10.3f} {s:>5s}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--variants", nargs="+", choices=("bce", "softmax"), default=None)
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument(
        "--settings",
        choices=("document", "stable"),
        default="stable",
        help="GaussianGAN's settings (see keras_gan.gaussian.SETTINGS). Default: stable "
        "(the package default)",
    )
    parser.add_argument(
        "--jit-compile", choices=("auto", "true", "false"), default="auto", help="for fit()"
    )
    parser.add_argument(
        "--paths", nargs="+", choices=("fit", "train"), default=["fit", "train"], help="to run"
    )
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args()
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    variants = args.variants or ["bce", "softmax"]
    results = {"settings": args.settings}
    for variant in variants:
        rows = []
        print(
            f"\nGaussianGAN {variant!r}, settings {args.settings!r}: {EPOCHS} epochs, "
            f"batch {BATCH_SIZE}, "
            f"{N_GENERATE} points (fit: steps_per_execution={args.steps_per_execution}, "
            f"jit_compile={jit})"
        )
        print(
            f"{'seed':>4s}"
            + "".join(f" {p + ' |mean-b|':>15s} {'|cov-AᵀA|':>10s} {'s':>5s}" for p in args.paths)
        )
        for seed in args.seeds:
            row = {"seed": seed}
            for path in args.paths:
                errors, seconds = run(
                    variant, seed, path, args.steps_per_execution, jit, args.settings
                )
                row[path] = [round(e, 4) for e in errors]
                row[f"{path}_seconds"] = round(seconds, 1)
            rows.append(row)
            print(
                f"{seed:4d}" + "".join(cells(row[p], row[f"{p}_seconds"]) for p in args.paths),
                flush=True,
            )
        summary = {"seeds": rows, "target": TARGET}
        for path in args.paths:
            worst = [max(r[path][k] for r in rows) for k in (0, 1)]
            summary[f"{path}_worst"] = dict(zip(TARGET, (round(m, 4) for m in worst)))
        for path in args.paths:
            med = [statistics.median(r[path][k] for r in rows) for k in (0, 1)]
            summary[f"{path}_median"] = dict(zip(TARGET, (round(m, 4) for m in med)))
            summary[f"{path}_meets_target"] = all(m <= t for m, t in zip(med, TARGET.values()))
        medians = [summary[f"{p}_median"] for p in args.paths]
        print(f"{'med':>4s}" + "".join(cells(list(m.values())) for m in medians))
        worst = [summary[f"{p}_worst"] for p in args.paths]
        print(f"{'max':>4s}" + "".join(cells(list(m.values())) for m in worst))
        print(
            f"target (PyTorch d2l medians): {TARGET['max_abs_mean_error']} and "
            f"{TARGET['max_abs_cov_error']}; "
            + ", ".join(f"{p} meets it: {summary[f'{p}_meets_target']}" for p in args.paths)
        )
        results[variant] = summary
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
