"""MomentsGAN's two training paths against the PyTorch original ("GAN in 50 lines").

Every row runs the document's epoch (20 D steps on a real and a generated
minibatch of 500, then 20 G steps, "moments" preprocessing) from a fresh
model with the same seed:

- `fit() defaults, new process`: `MomentsGAN(seed).fit()` (5000 epochs, XLA,
  100 epochs per compiled call) in a NEW Python process; the wall time runs
  from the process's start, so importing TensorFlow, building and compiling
  are included (the issue's target: <= 25 s).
- `fit() XLA/no XLA, spe=...`: the fused path's settings, timed in this
  process (building and compiling included).
- `train()`: the classic `train_on_batch` loop.
- `PyTorch original`: the document's gan_pytorch.py loop (needs torch, e.g.
  `pip install ".[bench]"`; skipped without it).

The slow rows are timed on `--epochs` document epochs (default 500;
`--train-epochs`, default 50, for `train()`, whose epochs are far slower) and
EXTRAPOLATED to 5000: the first Keras epoch (compiling) is counted once,
the rest scaled. `--full` runs 5000 epochs everywhere (slow: the classic and
no-XLA rows take minutes each). fake mean/std are over 10,000 generated
values at the end of each row's run (targets 4 and 1.25; only the 5000-epoch
rows are comparable). The machine's load is printed: on a
shared machine the wall times are noisy.

    python benchmarks/bench_moments.py
    python benchmarks/bench_moments.py --full
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

EPOCHS = 5000

CHILD = """
import json, sys, time
from keras_gan import MomentsGAN
gan = MomentsGAN(seed={seed})
start = time.perf_counter()
gan.fit(verbose=0)
seconds = time.perf_counter() - start
v = gan.generate(10000)
print(json.dumps({{"fit_seconds": seconds, "mean": float(v.mean()), "std": float(v.std())}}))
"""


def fresh_process_fit(seed):
    """The default fit() in a new interpreter: wall seconds from launch."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(seed=seed)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    wall = time.perf_counter() - start
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, wall, EPOCHS, result["mean"], result["std"]


def keras_fit(seed, epochs, jit_compile, steps_per_execution):
    import keras

    from keras_gan import MomentsGAN

    times = []

    class EpochTimes(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    log_interval = 100
    start = time.perf_counter()
    gan = MomentsGAN(seed=seed)
    gan.fit(
        epochs=epochs,
        log_interval=log_interval,
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
        verbose=0,
        callbacks=[EpochTimes()],
    )
    wall = time.perf_counter() - start
    # the first Keras epoch holds the compile: count it once, scale the rest
    per_epoch = (sum(times) - times[0]) / max(epochs - log_interval, 1)
    estimate = wall + per_epoch * (EPOCHS - epochs)
    v = gan.generate(10000)
    return wall, estimate, epochs, float(v.mean()), float(v.std())


def classic_train(seed, epochs):
    from keras_gan import MomentsGAN

    start = time.perf_counter()
    gan = MomentsGAN(seed=seed)
    gan.train(epochs=1, print_interval=0)  # traces, builds: counted once
    warm = time.perf_counter()
    gan.train(epochs=epochs - 1, print_interval=0)
    end = time.perf_counter()
    estimate = (warm - start) + (end - warm) / (epochs - 1) * (EPOCHS - 1)
    v = gan.generate(10000)
    return end - start, estimate, epochs, float(v.mean()), float(v.std())


def pytorch_original(seed):
    """The document's gan_pytorch.py train() loop, "Only 4 moments" data."""
    import torch
    import torch.nn as nn
    import torch.optim as optim

    torch.manual_seed(seed)
    np.random.seed(seed)

    def get_moments(d):
        mean = torch.mean(d)
        diffs = d - mean
        var = torch.mean(torch.pow(diffs, 2.0))
        std = torch.pow(var, 0.5)
        zscores = diffs / std
        skews = torch.mean(torch.pow(zscores, 3.0))
        kurtoses = torch.mean(torch.pow(zscores, 4.0)) - 3.0
        return torch.cat((mean.reshape(1), std.reshape(1), skews.reshape(1), kurtoses.reshape(1)))

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.map1, self.map2, self.map3 = nn.Linear(1, 5), nn.Linear(5, 5), nn.Linear(5, 1)

        def forward(self, x):
            return self.map3(torch.tanh(self.map2(torch.tanh(self.map1(x)))))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.map1, self.map2, self.map3 = nn.Linear(4, 10), nn.Linear(10, 10), nn.Linear(10, 1)

        def forward(self, x):
            x = torch.sigmoid(self.map1(x))
            x = torch.sigmoid(self.map2(x))
            return torch.sigmoid(self.map3(x))

    G, D = Generator(), Discriminator()
    criterion = nn.BCELoss()
    d_optimizer = optim.SGD(D.parameters(), lr=1e-3, momentum=0.9)
    g_optimizer = optim.SGD(G.parameters(), lr=1e-3, momentum=0.9)

    def run(epochs, d_steps=20, g_steps=20):
        for _ in range(epochs):
            for _ in range(d_steps):
                D.zero_grad()
                d_real_data = torch.Tensor(np.random.normal(4, 1.25, (1, 500)))
                d_real_error = criterion(D(get_moments(d_real_data)), torch.ones([1]))
                d_real_error.backward()
                d_fake_data = G(torch.rand(500, 1)).detach()
                d_fake_error = criterion(D(get_moments(d_fake_data.t())), torch.zeros([1]))
                d_fake_error.backward()
                d_optimizer.step()
            for _ in range(g_steps):
                G.zero_grad()
                g_fake_data = G(torch.rand(500, 1))
                g_error = criterion(D(get_moments(g_fake_data.t())), torch.ones([1]))
                g_error.backward()
                g_optimizer.step()

    def generate(n):
        with torch.no_grad():
            return G(torch.rand(n, 1)).numpy()[:, 0]

    return run, generate


def torch_row(seed, epochs):
    start = time.perf_counter()
    run, generate = pytorch_original(seed)
    run(epochs)
    wall = time.perf_counter() - start
    v = generate(10000)
    return wall, wall * EPOCHS / epochs, epochs, float(v.mean()), float(v.std())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=500, help="epochs of the slow fit rows")
    parser.add_argument("--train-epochs", type=int, default=50, help="epochs of train()")
    parser.add_argument("--full", action="store_true", help="5000 epochs in every row")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fit_epochs = EPOCHS if args.full else args.epochs
    train_epochs = EPOCHS if args.full else args.train_epochs
    seed = args.seed
    rows = {"fit() defaults, new process": lambda: fresh_process_fit(seed)}
    for name, jit, spe, epochs in [
        ("fit() XLA, spe=100", True, 100, EPOCHS),
        ("fit() XLA, spe=1", True, 1, fit_epochs),
        ("fit() no XLA, spe=100", False, 100, fit_epochs),
        ("fit() no XLA, spe=1", False, 1, fit_epochs),
    ]:
        rows[name] = lambda jit=jit, spe=spe, epochs=epochs: keras_fit(seed, epochs, jit, spe)
    rows["train() (train_on_batch)"] = lambda: classic_train(seed, train_epochs)
    try:
        import torch  # noqa: F401

        rows["PyTorch original"] = lambda: torch_row(seed, EPOCHS)
    except ImportError:
        print("(torch not installed: PyTorch row skipped; pip install '.[bench]')")
    results = {}
    for name, fn in rows.items():
        results[name] = fn()
        print(f"  done: {name}", file=sys.stderr, flush=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"MomentsGAN, 5000 epochs x (20 D + 20 G steps), minibatch 500, seed {seed}; "
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} "
        "(a shared machine: wall times are noisy)"
    )
    ref = results.get("PyTorch original", (None, float("nan")))[1]
    print(
        f"{'path':30s} {'epochs run':>10s} {'wall (s)':>9s} {'5000 ep. (s)':>12s} "
        f"{'vs PyTorch':>10s} {'fake mean':>9s} {'fake std':>8s}"
    )
    for name, (wall, estimate, epochs, mean, std) in results.items():
        est = f"{estimate:12.1f}" if epochs == EPOCHS else f"~{estimate:.0f}".rjust(12)
        print(
            f"{name:30s} {epochs:10d} {wall:9.1f} {est} {estimate / ref:10.2f} "
            f"{mean:9.3f} {std:8.3f}"
        )
    print("~ : extrapolated from the epochs run; fake mean/std comparable only at 5000 epochs.")


if __name__ == "__main__":
    main()
