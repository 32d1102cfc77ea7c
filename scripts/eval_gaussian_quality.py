"""Fixed-seed quality runs of GaussianGAN and MomentsGAN at their defaults.

GaussianGAN, each variant, each `--settings` ("document": the documents'
own; "stable": PyTorch's default init, Adam beta_1 = 0, rates decaying to
zero over the last half), every seed: `train()` for 20 epochs of batch 8 on
the documents' 1000 points (`keras_gan.data.gaussian_2d(seed=seed)`), then
max |mean - b| and max |cov - AᵀA| of 10,000 generated points. Target (issue 7): medians no
worse than the d2l PyTorch code's 5-seed medians on this machine, 0.171 and
0.226. `--pytorch` also runs the documents' own PyTorch code on the same
seeds, side by side (needs `pip install ".[bench]"`).

MomentsGAN "moments", every seed: the document's 5000 epochs, then the mean
and std of 10,000 generated values. Target: within 0.1 of 4 and of 1.25.

Every seed is printed, then the medians; `--json` writes all of it.

    python scripts/eval_gaussian_quality.py                    # both, ~1 h on 2 cores
    python scripts/eval_gaussian_quality.py --skip-moments --pytorch
    python scripts/eval_gaussian_quality.py --skip-moments --pytorch \\
        --settings document stable                              # the README table
    python scripts/eval_gaussian_quality.py --skip-gaussian --moments-settings document
"""

import argparse
import json
import statistics
import time

import numpy as np

GAUSSIAN_TARGET = {"max_abs_mean_error": 0.171, "max_abs_cov_error": 0.226}
MOMENTS_TOLERANCE = 0.1


def gaussian_errors(points):
    from keras_gan import data

    b, cov = data.gaussian_2d_moments()
    points = np.asarray(points, dtype=np.float64)
    return (
        float(np.abs(points.mean(0) - b).max()),
        float(np.abs(np.cov(points, rowvar=False) - cov).max()),
    )


def pytorch_document_run(variant, seed, epochs=20, n_generate=10000):
    """The documents' PyTorch code (d2l for "bce", the softmax port otherwise)."""
    import torch
    from torch import nn

    from keras_gan import data

    torch.manual_seed(seed)
    x = data.gaussian_2d(seed=seed)
    rng = np.random.default_rng(seed)
    G = nn.Linear(2, 2)
    if variant == "bce":
        D = nn.Sequential(
            nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid()
        )
        loss, lr_g = nn.BCELoss(), 0.005
    else:
        D = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 2))
        loss, lr_g = nn.CrossEntropyLoss(), 0.01
    for m in [G, *D.modules()]:
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(0, 0.02)
            m.bias.data.zero_()
    trainer_D = torch.optim.Adam(D.parameters(), lr=0.05)
    trainer_G = torch.optim.Adam(G.parameters(), lr=lr_g)
    loader = torch.utils.data.DataLoader(x, batch_size=8)
    for _ in range(epochs):
        for X in loader:
            n = X.shape[0]
            Z = torch.tensor(rng.standard_normal((n, 2)), dtype=torch.float32)
            if variant == "bce":
                ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
            else:
                ones, zeros = torch.ones(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
            trainer_D.zero_grad()
            loss_D = loss(D(X.float()), ones) + loss(D(G(Z).detach()), zeros)
            if variant == "bce":
                loss_D = loss_D / 2
            loss_D.backward()
            trainer_D.step()
            trainer_G.zero_grad()
            loss(D(G(Z)), ones).backward()
            trainer_G.step()
    with torch.no_grad():
        return G(torch.randn(n_generate, 2)).numpy()


def eval_gaussian(seeds, pytorch, settings=("document",)):
    from keras_gan import GaussianGAN, data

    results = {}
    for variant in ("bce", "softmax"):
        torch_rows = {}
        for setting in settings:
            rows = []
            for seed in seeds:
                gan = GaussianGAN(variant, seed=seed, settings=setting)
                start = time.perf_counter()
                gan.train(data.gaussian_2d(seed=seed), epochs=20, batch_size=8, verbose=0)
                row = {"seed": seed, "seconds": round(time.perf_counter() - start, 1)}
                row["keras"] = [round(e, 4) for e in gaussian_errors(gan.generate(10000))]
                if pytorch:
                    if seed not in torch_rows:  # the documents' code: once per variant
                        points = pytorch_document_run(variant, seed)
                        torch_rows[seed] = [round(e, 4) for e in gaussian_errors(points)]
                    row["pytorch"] = torch_rows[seed]
                rows.append(row)
                print(f"gaussian {variant:7s} {setting:8s} seed {seed}: {row}", flush=True)
            summary = {"settings": setting, "seeds": rows}
            for impl in ("keras", "pytorch") if pytorch else ("keras",):
                med = [statistics.median(r[impl][k] for r in rows) for k in (0, 1)]
                worst = [max(r[impl][k] for r in rows) for k in (0, 1)]
                summary[f"{impl}_median"] = dict(zip(GAUSSIAN_TARGET, (round(m, 4) for m in med)))
                summary[f"{impl}_worst"] = dict(zip(GAUSSIAN_TARGET, (round(m, 4) for m in worst)))
            summary["target"] = GAUSSIAN_TARGET
            summary["keras_meets_target"] = all(
                summary["keras_median"][k] <= v for k, v in GAUSSIAN_TARGET.items()
            )
            brief = {k: v for k, v in summary.items() if k != "seeds"}
            print(f"gaussian {variant} {setting}: {json.dumps(brief)}", flush=True)
            results.setdefault(variant, {})[setting] = summary
    return results


def eval_moments(
    seeds, epochs, init, label_smoothing, d_weight_decay, learning_rate, settings="stable"
):
    from keras_gan import MomentsGAN

    rows = []
    for seed in seeds:
        gan = MomentsGAN(
            seed=seed,
            init=init,
            label_smoothing=label_smoothing,
            d_weight_decay=d_weight_decay,
            d_learning_rate=learning_rate,
            g_learning_rate=learning_rate,
            settings=settings,
        )
        start = time.perf_counter()
        gan.train(epochs=epochs, print_interval=500)
        values = gan.generate(10000).astype(np.float64)
        mean, std = float(values.mean()), float(values.std())
        row = {
            "seed": seed,
            "mean": round(mean, 4),
            "std": round(std, 4),
            "converged": abs(mean - 4.0) <= MOMENTS_TOLERANCE
            and abs(std - 1.25) <= MOMENTS_TOLERANCE,
            "seconds": round(time.perf_counter() - start, 1),
        }
        rows.append(row)
        print(f"moments seed {seed}: {row}", flush=True)
    summary = {
        "settings": settings,
        "init": init,
        "label_smoothing": gan.label_smoothing,
        "d_weight_decay": d_weight_decay,
        "learning_rate": learning_rate,
        "epochs": epochs,
        "target": {"mean": 4.0, "std": 1.25, "tolerance": MOMENTS_TOLERANCE},
        "seeds": rows,
        "median_mean": statistics.median(r["mean"] for r in rows),
        "median_std": statistics.median(r["std"] for r in rows),
        "converged": f"{sum(r['converged'] for r in rows)}/{len(rows)}",
    }
    print(f"moments: {json.dumps({k: v for k, v in summary.items() if k != 'seeds'})}")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaussian-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=("document", "stable"),
        default=["stable"],
        help="GaussianGAN settings to run, each on every seed and variant. Default: stable "
        "(the package default)",
    )
    parser.add_argument("--moments-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--moments-epochs", type=int, default=5000)
    parser.add_argument("--init", choices=("pytorch", "keras"), default="pytorch")
    parser.add_argument(
        "--moments-settings",
        choices=("document", "stable"),
        default="stable",
        help="MomentsGAN settings. Default: stable (the package default)",
    )
    parser.add_argument(
        "--label-smoothing", type=float, default=None, help="Default: the settings'"
    )
    parser.add_argument("--d-weight-decay", type=float, default=None)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="MomentsGAN D and G")
    parser.add_argument("--skip-gaussian", action="store_true")
    parser.add_argument("--skip-moments", action="store_true")
    parser.add_argument("--pytorch", action="store_true", help="also run the PyTorch documents")
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args()
    results = {}
    if not args.skip_gaussian:
        results["gaussian"] = eval_gaussian(args.gaussian_seeds, args.pytorch, args.settings)
    if not args.skip_moments:
        results["moments"] = eval_moments(
            args.moments_seeds,
            args.moments_epochs,
            args.init,
            args.label_smoothing,
            args.d_weight_decay,
            args.learning_rate,
            args.moments_settings,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
