"""DCGAN speed, side by side in one run: classic loop, fused step, PyTorch.

Every variant does the same work per iteration on the same networks: D on a
real batch, D on a generated batch, G through the (frozen) D. Variants are
measured in alternating rounds so machine noise hits all of them; the table
gives medians and the ratio to PyTorch's time. The "fast upsampling" rows
build G with `DCGAN(fast_upsampling=True)`: the same function and weights,
each upsampling + 3x3 convolution computed as one transposed convolution;
PyTorch gets the same rewrite in a row of its own.

    pip install torch==2.13.0   # benchmark extra, never a dependency
    python benchmarks/bench_dcgan.py --batch-size 32 --iterations 40 --rounds 3
"""

import argparse
import statistics
import time

import keras
import numpy as np

from keras_gan import DCGAN
from keras_gan.data import load_mnist, prepare_images
from keras_gan.engine import AdversarialModel, build_optimizers, make_dataset

# Work per iteration at batch 32, counted layer by layer (multiply-adds x 2):
# G forward ~176 MFLOP/image, run once for the fakes and once (x3 for the
# backward pass) in the G step; D is ~14 MFLOP/image, run 4x over fwd+bwd.
PEAK_GFLOPS = 330.0  # two of these cores, float32 FMA


def gflop_per_iteration(batch, fast_upsampling=False):
    # fast: the two upsampled convolutions cost 4 taps on the small grid
    # instead of 9 on the large one (25.7 + 51.4 instead of 57.8 + 115.6)
    g, d = (0.079 if fast_upsampling else 0.176), 0.014
    return batch * (g + 3 * g + 3 * d * 2 + 3 * d)


def fused_variant(gan, dataset, iterations, jit, spe):
    """`iterations` fused iterations through Keras's fit()."""
    model = AdversarialModel(gan.generator, gan.discriminator, gan.latent_dim, gan.seed_generator)
    model.compile(
        d_optimizer=gan.discriminator.optimizer,
        g_optimizer=gan.combined.optimizer,
        jit_compile=jit,
        steps_per_execution=spe,
    )
    build_optimizers(model)

    def fused():
        model.fit(dataset, epochs=1, steps_per_epoch=iterations, shuffle=False, verbose=0)

    return fused


def mixed_variants(x, batch, iterations):
    """The fused step with DCGAN(mixed_precision=True): bfloat16 on a CPU."""
    gan = DCGAN(seed=0, mixed_precision=True)
    dataset = make_dataset(x, batch, seed=0).repeat()
    variants = {
        f"keras fused fit, mixed bfloat16, XLA {'on' if jit else 'off'}, spe 8": fused_variant(
            gan, dataset, iterations, jit, 8
        )
        for jit in (False, True)
    }
    fast = DCGAN(seed=0, mixed_precision=True, fast_upsampling=True)
    variants["keras fused fit, fast upsampling, mixed bfloat16, XLA off, spe 8"] = fused_variant(
        fast, dataset, iterations, False, 8
    )
    return variants


def keras_variants(gan, x, batch, iterations, spes=(1, 8), tag=""):
    """Returns name -> callable running `iterations` iterations: the classic
    loop, then the fused step with XLA off and on at each of `spes` steps
    per call; `tag` names the DCGAN's options in the rows."""
    rng = np.random.default_rng(0)

    def classic():
        for _ in range(iterations):
            gan.train_iteration(x[rng.integers(0, len(x), batch)])

    variants = {f"keras classic loop{tag or ' (train_on_batch)'}": classic}
    dataset = make_dataset(x, batch, seed=0).repeat()
    for jit in (False, True):
        for spe in spes:
            name = f"keras fused fit{tag}, XLA {'on' if jit else 'off'}, spe {spe}"
            variants[name] = fused_variant(gan, dataset, iterations, jit, spe)
    return variants


def torch_variant(batch, iterations, x, channels_last, fast_upsampling=False):
    import torch
    from torch import nn
    from torch.nn import functional

    class UpsamplingConv(nn.Conv2d):
        """Upsample + 3x3 conv as one transposed conv (keras_gan's rewrite)."""

        taps = torch.tensor([[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]], dtype=torch.float32)

        def forward(self, inputs):
            t = self.taps
            kernel = torch.einsum("ty,sx,oiyx->iots", t, t, self.weight)
            return functional.conv_transpose2d(inputs, kernel, self.bias, stride=2, padding=1)

    def upsampling_conv(c_in, c_out):
        if fast_upsampling:
            return [UpsamplingConv(c_in, c_out, 3, padding=1)]
        return [nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1)]

    torch.manual_seed(0)
    torch.set_num_threads(2)

    def bn(c):  # Keras momentum 0.8 == PyTorch momentum 0.2, same epsilon
        return nn.BatchNorm2d(c, momentum=0.2, eps=1e-3)

    class Gen(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(100, 128 * 7 * 7)
            self.net = nn.Sequential(
                *upsampling_conv(128, 128),
                bn(128),
                nn.ReLU(),
                *upsampling_conv(128, 64),
                bn(64),
                nn.ReLU(),
                nn.Conv2d(64, 1, 3, padding=1),
                nn.Tanh(),
            )

        def forward(self, z):
            return self.net(torch.relu(self.fc(z)).view(-1, 128, 7, 7))

    disc = nn.Sequential(
        nn.Conv2d(1, 32, 3, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3, 2, 1),
        nn.ZeroPad2d((0, 1, 0, 1)),
        bn(64),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.25),
        nn.Conv2d(64, 128, 3, 2, 1),
        bn(128),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.25),
        nn.Conv2d(128, 256, 3, 1, 1),
        bn(256),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(256 * 4 * 4, 1),
        nn.Sigmoid(),
    )
    gen = Gen()
    if fast_upsampling:  # the rewrite computes what Upsample + Conv2d does
        up = gen.net[0]
        probe = torch.randn(2, 128, 7, 7)
        plain = nn.functional.conv2d(
            nn.functional.interpolate(probe, scale_factor=2), up.weight, up.bias, padding=1
        )
        assert torch.allclose(up(probe), plain, atol=1e-4)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    gen, disc = gen.to(memory_format=fmt), disc.to(memory_format=fmt)
    opt_d = torch.optim.Adam(disc.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(gen.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCELoss()
    real_all = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def run():
        for _ in range(iterations):
            idx = torch.randint(0, len(real_all), (batch,))
            real = real_all[idx].contiguous(memory_format=fmt)
            z = torch.randn(batch, 100)
            gen.eval()
            with torch.no_grad():
                fake = gen(z)
            gen.train()
            for imgs, target in ((real, ones), (fake, zeros)):
                opt_d.zero_grad()
                bce(disc(imgs), target).backward()
                opt_d.step()
            opt_g.zero_grad()
            bce(disc(gen(z)), ones).backward()
            opt_g.step()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=40, help="per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-mixed", action="store_true", help="skip the bfloat16 rows")
    args = parser.parse_args()
    b, n = args.batch_size, args.iterations

    (x_train, _), _ = load_mnist()
    x = prepare_images(x_train[:20000], (28, 28, 1))
    gan = DCGAN(seed=0)
    variants = keras_variants(gan, x, b, n)
    fast = DCGAN(seed=0, fast_upsampling=True)
    variants.update(keras_variants(fast, x, b, n, spes=(8,), tag=", fast upsampling"))
    if not args.no_mixed:
        variants.update(mixed_variants(x, b, n))
    if not args.no_torch:
        variants["pytorch 2.13 (channels-last)"] = torch_variant(b, n, x, True)
        variants["pytorch 2.13 (contiguous)"] = torch_variant(b, n, x, False)
        variants["pytorch 2.13, fast upsampling (channels-last)"] = torch_variant(
            b, n, x, True, fast_upsampling=True
        )
    times = {name: [] for name in variants}
    for fn in variants.values():  # warm up: trace, compile, build
        fn()
    for _ in range(args.rounds):
        for name, fn in variants.items():
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) / n * 1000)

    ref_name = "pytorch 2.13 (channels-last)"
    ref = statistics.median(times[ref_name]) if ref_name in times else None
    floors = {fast: gflop_per_iteration(b, fast) / PEAK_GFLOPS * 1000 for fast in (False, True)}
    print(f"\nDCGAN, batch {b}, {args.rounds} rounds x {n} iterations, keras {keras.__version__}")
    for fast, floor in floors.items():
        work = gflop_per_iteration(b, fast)
        label = "fast upsampling" if fast else "the tutorial's layers"
        print(f"{label}: ~{work:.1f} GFLOP/iteration, {floor:.0f} ms at {PEAK_GFLOPS:.0f} GFLOP/s")
    print("\n| variant | ms/iteration | vs PyTorch | of floor |\n|---|---:|---:|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        ratio = f"{med / ref:.2f}x" if ref else "-"
        floor = floors["fast upsampling" in name]
        print(f"| {name} | {med:.1f} | {ratio} | {floor / med:.0%} |")


if __name__ == "__main__":
    main()
