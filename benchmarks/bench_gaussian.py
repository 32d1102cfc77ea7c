"""GaussianGAN's classic loop and fused fit() against a naive Keras port and PyTorch.

All run the d2l document's iteration (one D step on a real batch and G(z),
one G step through the frozen D) on the same 1000 points, batch 8, in one
process, alternating rounds so machine noise hits all of them:

- keras_gan train(): `GaussianGAN.train` (D step = ONE train_on_batch on
  [real; G(z)], G(z) from a concrete function; G step =
  combined.train_on_batch).
- keras_gan fit(): `GaussianGAN.fit`, the same iteration fused into one
  compiled `train_step` (`GaussianAdversarial`), with `jit_compile` False /
  True and `steps_per_execution` 1 / 125 (125 = one epoch of 1000 rows at
  batch 8 per compiled call). Each round is one `fit()` call, its setup
  (tf.data pipeline, callbacks) included; the first call's tracing is not.
- naive Keras 3 port: what a DCGAN-style port writes: `generator.predict(z)`
  every iteration, then D.train_on_batch on the real and on the fake batch,
  then combined.train_on_batch.
- PyTorch: the d2l document's `update_D` / `update_G` code.

Iterations/s are medians over rounds; the last column is the ratio to the
PyTorch document's median. Target (issue 7): train() >= 300 it/s; fused
fit() >= 2x PyTorch.

    python benchmarks/bench_gaussian.py --rounds 5 --iterations 250

Needs `pip install ".[bench]"` for the PyTorch column (skipped without it).
"""

import argparse
import os
import statistics
import time

import keras
import numpy as np

from keras_gan import GaussianGAN, data
from keras_gan.engine import CombinedModel


def naive_port(seed):
    """The DCGAN tutorial's pattern applied to the d2l networks."""
    gan = GaussianGAN(seed=seed)  # same networks and optimizers, own models below
    G, D = gan.generator, gan.discriminator
    combined = CombinedModel(G, D)
    combined.compile(
        optimizer=keras.optimizers.Adam(0.005, epsilon=1e-8), loss="binary_crossentropy"
    )
    rng = np.random.default_rng(seed)

    def run(x, iterations):
        ones, zeros = np.ones((8, 1), np.float32), np.zeros((8, 1), np.float32)
        for i in range(iterations):
            real = x[(i * 8) % len(x) :][:8]
            z = rng.standard_normal((8, 2), dtype=np.float32)
            fake = G.predict(z, verbose=0)
            d_real = D.train_on_batch(real, ones)
            d_fake = D.train_on_batch(fake, zeros)
            combined.train_on_batch(z, ones)
        return 0.5 * (d_real + d_fake)

    return run


PYTORCH = "PyTorch d2l document"


def fused_runner(seed, x, epochs, jit_compile, steps_per_execution):
    """`GaussianGAN.fit` for `epochs` epochs per call, one object per setting
    (each compiles once, on the warm-up call)."""
    gan = GaussianGAN(seed=seed)

    def run():
        gan.fit(
            x,
            epochs=epochs,
            batch_size=8,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            verbose=0,
        )

    return run


def pytorch_document(seed):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    G = nn.Linear(2, 2)
    D = nn.Sequential(
        nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid()
    )
    for m in [G, *D.modules()]:
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(0, 0.02)
            m.bias.data.zero_()
    loss = nn.BCELoss()
    trainer_D = torch.optim.Adam(D.parameters(), lr=0.05)
    trainer_G = torch.optim.Adam(G.parameters(), lr=0.005)

    def update_D(X, Z):
        n = X.shape[0]
        ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
        loss_D = (loss(D(X.float()), ones) + loss(D(G(Z)), zeros)) / 2
        loss_D.backward()
        trainer_D.step()
        return float(loss_D.sum())

    def update_G(Z):
        loss_G = loss(D(G(Z)), torch.ones(Z.shape[0], 1))
        loss_G.backward()
        trainer_G.step()
        return float(loss_G.sum())

    def run(x, iterations):
        loader = torch.utils.data.DataLoader(x, batch_size=8)
        done = 0
        while done < iterations:
            for X in loader:
                Z = torch.tensor(np.random.normal(0, 1, (X.shape[0], 2)), dtype=torch.float32)
                trainer_D.zero_grad()
                update_D(X, Z)
                trainer_G.zero_grad()
                update_G(Z)
                done += 1
                if done == iterations:
                    break

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=250, help="per timed round (2 epochs)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    x = data.gaussian_2d(seed=args.seed)
    epochs = max(1, args.iterations // 125)  # 1000 points / batch 8 = 125 iterations per epoch
    ours = GaussianGAN(seed=args.seed)
    runners = {
        "keras_gan train()": lambda: ours.train(x, epochs=epochs, verbose=0),
    }
    for jit in (False, True):
        for spe in (1, 125):
            runners[f"keras_gan fit() jit={jit!s:5s} spe={spe}"] = fused_runner(
                args.seed, x, epochs, jit, spe
            )
    runners["naive Keras 3 port (predict)"] = (lambda run: lambda: run(x, epochs * 125))(
        naive_port(args.seed)
    )
    try:
        runners[PYTORCH] = (lambda run: lambda: run(x, epochs * 125))(pytorch_document(args.seed))
    except ImportError:
        print("(torch not installed: PyTorch column skipped; pip install '.[bench]')")
    for fn in runners.values():  # warm up: trace, build
        fn()
    rates = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, fn in runners.items():
            start = time.perf_counter()
            fn()
            rates[name].append(epochs * 125 / (time.perf_counter() - start))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"GaussianGAN (d2l, batch 8): {args.rounds} rounds x {epochs * 125} iterations, "
        f"{os.cpu_count()} CPUs, load average {load:.1f}"
    )
    ref = statistics.median(rates[PYTORCH]) if PYTORCH in rates else None
    print(f"{'loop':34s} {'iterations/s (median)':>22s} {'min':>7s} {'max':>7s} {'x PyTorch':>10s}")
    for name, rs in rates.items():
        med = statistics.median(rs)
        ratio = f"{med / ref:10.2f}" if ref else f"{'-':>10s}"
        print(f"{name:34s} {med:22.0f} {min(rs):7.0f} {max(rs):7.0f} {ratio}")
    print("targets (issue 7): train() >= 300 iterations/s; fused fit() >= 2x PyTorch")


if __name__ == "__main__":
    main()
