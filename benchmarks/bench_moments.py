"""MomentsGAN's classic loop against the PyTorch original ("GAN in 50 lines").

Both run the document's epoch (20 D steps on a real and a generated
minibatch of 500, then 20 G steps) with the "moments" preprocessing, in one
process, alternating rounds. The document's full run is 5000 epochs; by
default this times `--epochs` (50) of each per round and EXTRAPOLATES the
per-epoch median to 5000 epochs (the loop's cost per epoch is constant).
`--full` times one complete 5000-epoch run of each instead.

    python benchmarks/bench_moments.py --epochs 50 --rounds 3
    python benchmarks/bench_moments.py --full

Needs `pip install ".[bench]"` for the PyTorch column (skipped without it).
"""

import argparse
import os
import statistics
import time

import numpy as np

from keras_gan import MomentsGAN


def pytorch_original(seed):
    """The document's gan_pytorch.py train() loop, "Only 4 moments" data."""
    import torch
    import torch.nn as nn
    import torch.optim as optim

    torch.manual_seed(seed)

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

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50, help="epochs per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="time one full 5000-epoch run each")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    epochs, rounds = (5000, 1) if args.full else (args.epochs, args.rounds)
    gan = MomentsGAN(seed=args.seed)
    runners = {"keras_gan MomentsGAN.train": lambda: gan.train(epochs=epochs, print_interval=0)}
    try:
        torch_run = pytorch_original(args.seed)
        runners["PyTorch original"] = lambda: torch_run(epochs)
    except ImportError:
        print("(torch not installed: PyTorch column skipped; pip install '.[bench]')")
    gan.train(epochs=2, print_interval=0)  # warm up: trace, build
    per_epoch = {name: [] for name in runners}
    for _ in range(rounds):
        for name, fn in runners.items():
            start = time.perf_counter()
            fn()
            per_epoch[name].append((time.perf_counter() - start) / epochs)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    how = "measured" if args.full else f"extrapolated from {rounds} rounds x {epochs} epochs"
    print(
        f"MomentsGAN, 5000 epochs x (20 D + 20 G steps), minibatch 500 ({how}); "
        f"{os.cpu_count()} CPUs, load average {load:.1f}"
    )
    print(f"{'loop':28s} {'ms/epoch':>9s} {'5000 epochs (s)':>16s} {'vs PyTorch':>11s}")
    ref = statistics.median(per_epoch.get("PyTorch original", [float("nan")]))
    for name, ts in per_epoch.items():
        med = statistics.median(ts)
        print(f"{name:28s} {1000 * med:9.1f} {5000 * med:16.0f} {med / ref:11.2f}")


if __name__ == "__main__":
    main()
