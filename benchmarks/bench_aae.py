"""The AAE classic loop and fused fit() step against the document's PyTorch code, batch of 64.

Both train the same networks (the document's MLPs, 32x32 MNIST) on the same
pre-resized images, one epoch over a subset per round, measured alternately
in one process so machine noise hits both. The PyTorch side is the
document's loop body verbatim in substance (numpy noise, the generator step,
then the discriminator step on prior samples against the detached codes),
minus its per-batch print and DataLoader (torchvision is not installed; the
images are already tensors). The classic rows run `AAE.train()` (one
compiled call per batch: the combined model's train step, then D's on the
codes it computed) with XLA off and on; "two train_on_batch calls" is the
iteration run as two Keras `train_on_batch` calls, for comparison (D's codes
then come from one more encoder call). The fused rows run
`AAE.adversarial_model`'s train_step through Keras's fit() (XLA off/on, 1 or
10 steps per compiled call), built and compiled once; the bfloat16 rows use
`AAE(mixed_precision=True)`. The classic rows time the loop without the
BatchNorm statistics pass `train()` ends with (a one-off per call, timed on
its own at the end). torch is only needed here, not by keras_gan.

On a machine other jobs keep busy, pass `--torch-threads 1`: torch's
default (one thread per core) then spin-waits on OpenMP barriers.

    python benchmarks/bench_aae.py --batches 100 --rounds 5
    python benchmarks/bench_aae.py --batches 100 --rounds 9 --skip-fused --torch-threads 1
"""

import argparse
import itertools
import statistics
import time

import numpy as np
import tensorflow as tf
import torch
import torch.nn as nn

from keras_gan import AAE
from keras_gan.data import load_mnist, prepare_images, resize_images
from keras_gan.engine import build_optimizers, make_dataset

LATENT_DIM, IMG_SIZE = 10, 32
IMG_SHAPE = (1, IMG_SIZE, IMG_SIZE)


def reparameterization(mu, logvar):
    std = torch.exp(logvar / 2)
    sampled_z = torch.tensor(np.random.normal(0, 1, (mu.size(0), LATENT_DIM)), dtype=torch.float32)
    return sampled_z * std + mu


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(int(np.prod(IMG_SHAPE)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512),
            nn.BatchNorm1d(512),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.mu = nn.Linear(512, LATENT_DIM)
        self.logvar = nn.Linear(512, LATENT_DIM)

    def forward(self, img):
        x = self.model(img.view(img.shape[0], -1))
        return reparameterization(self.mu(x), self.logvar(x))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(LATENT_DIM, 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512),
            nn.BatchNorm1d(512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, int(np.prod(IMG_SHAPE))),
            nn.Tanh(),
        )

    def forward(self, z):
        img_flat = self.model(z)
        return img_flat.view(img_flat.shape[0], *IMG_SHAPE)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(LATENT_DIM, 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
            nn.Sigmoid(),
        )

    def forward(self, z):
        return self.model(z)


class TorchAAE:
    """The document's networks, losses, optimizers and loop body."""

    def __init__(self):
        self.encoder, self.decoder, self.discriminator = Encoder(), Decoder(), Discriminator()
        self.adversarial_loss = nn.BCELoss()
        self.pixelwise_loss = nn.L1Loss()
        self.optimizer_G = torch.optim.Adam(
            itertools.chain(self.encoder.parameters(), self.decoder.parameters()),
            lr=0.0002,
            betas=(0.5, 0.999),
        )
        self.optimizer_D = torch.optim.Adam(
            self.discriminator.parameters(), lr=0.0002, betas=(0.5, 0.999)
        )

    def train_batch(self, imgs):
        valid = torch.ones(imgs.shape[0], 1)
        fake = torch.zeros(imgs.shape[0], 1)
        self.optimizer_G.zero_grad()
        encoded_imgs = self.encoder(imgs)
        decoded_imgs = self.decoder(encoded_imgs)
        g_loss = 0.001 * self.adversarial_loss(
            self.discriminator(encoded_imgs), valid
        ) + 0.999 * self.pixelwise_loss(decoded_imgs, imgs)
        g_loss.backward()
        self.optimizer_G.step()
        self.optimizer_D.zero_grad()
        z = torch.tensor(np.random.normal(0, 1, (imgs.shape[0], LATENT_DIM)), dtype=torch.float32)
        real_loss = self.adversarial_loss(self.discriminator(z), valid)
        fake_loss = self.adversarial_loss(self.discriminator(encoded_imgs.detach()), fake)
        d_loss = 0.5 * (real_loss + fake_loss)
        d_loss.backward()
        self.optimizer_D.step()
        return d_loss.item(), g_loss.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=100, help="batches per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch intra-op threads. Default: torch's own (the core count); on a "
        "busy machine 1 avoids OpenMP spin-waiting",
    )
    parser.add_argument(
        "--skip-fused", action="store_true", help="time the classic loops and PyTorch only"
    )
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    (x_train, _), _ = load_mnist()
    n = args.batch_size * args.batches
    x = resize_images(prepare_images(x_train[:n], (28, 28, 1)), IMG_SIZE)  # (n, 32, 32, 1)
    x_torch = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())  # (n, 1, 32, 32)
    np.random.seed(0)
    torch.manual_seed(0)
    theirs = TorchAAE()
    rng = np.random.default_rng(0)

    def classic(jit, mixed=False):
        aae = AAE(seed=0, mixed_precision=mixed)
        # the BatchNorm statistics pass train() ends with is timed on its own below
        return lambda: aae.train(
            1,
            args.batch_size,
            sample_interval=0,
            x_train=x,
            verbose=0,
            jit_compile=jit,
            precise_batch_norm=False,
        )

    def two_train_on_batch():
        """The iteration as two train_on_batch calls (+ one tf.function).

        train_on_batch cannot hand the combined step's codes to D's step,
        so D's codes come from one more (inference-mode) encoder call."""
        aae = AAE(seed=0)
        order_rng = np.random.default_rng(0)

        def run():
            order = order_rng.permutation(n)
            for i in range(args.batches):
                imgs = tf.convert_to_tensor(
                    x[order[i * args.batch_size : (i + 1) * args.batch_size]]
                )
                valid, d_labels = aae._labels(len(imgs))
                g = aae.combined.train_on_batch(
                    imgs, {"reconstruction": imgs, "validity": valid}, return_dict=True
                )
                d = aae.discriminator.train_on_batch(
                    aae._d_batch_fn(aae._encode_fn(imgs)), d_labels, return_dict=True
                )
                float(g["loss"]), float(d["loss"])  # as train() reads the logs

        return run

    def run_torch():  # the document's DataLoader(shuffle=True), minus the transforms
        order = torch.from_numpy(rng.permutation(n))
        for i in range(args.batches):
            theirs.train_batch(x_torch[order[i * args.batch_size : (i + 1) * args.batch_size]])

    def fused(jit, spe, mixed=False):
        """The fused train_step through Keras's fit(), built and compiled once."""
        aae = AAE(seed=0, mixed_precision=mixed)
        model = aae.adversarial_model
        model.compile(
            d_optimizer=aae.discriminator.optimizer,
            g_optimizer=aae.combined.optimizer,
            jit_compile=jit,
            steps_per_execution=spe,
        )
        build_optimizers(model)
        dataset = make_dataset(x, args.batch_size, seed=0, repeat=True)
        return lambda: model.fit(
            dataset, epochs=1, steps_per_epoch=args.batches, shuffle=False, verbose=0
        )

    variants = {
        "keras_gan classic train(), XLA off": classic(False),
        "document's PyTorch code": run_torch,
        "keras_gan classic train(), XLA on": classic(True),
        "keras_gan two train_on_batch calls": two_train_on_batch(),
    }
    variants["keras_gan classic, bfloat16, XLA on"] = classic(True, mixed=True)
    for jit in () if args.skip_fused else (False, True):
        for spe in (1, 10):
            variants[f"keras_gan fused fit, XLA {'on' if jit else 'off'}, spe {spe}"] = fused(
                jit, spe
            )
    if not args.skip_fused:
        variants["keras_gan fused fit, bfloat16, XLA on, spe 10"] = fused(True, 10, mixed=True)
    for fn in variants.values():  # warm up: trace and build
        fn()
    names = list(variants)
    times = {name: [] for name in names}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) / args.batches * 1000)
    ref = statistics.median(times[names[1]])
    print(
        f"AAE, batch {args.batch_size}, {args.rounds} rounds x {args.batches} batches, "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads"
    )
    print(f"{'loop':45s} {'ms/batch':>11s} {'min':>7s} {'max':>7s} {'vs torch':>9s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:45s} {med:11.1f} {min(ts):7.1f} {max(ts):7.1f} {med / ref:8.2f}x")
    # once per train()/fit() call: BatchNorm statistics averaged over MNIST's
    # 60,000 training images (AAE.update_batch_norm_statistics)
    aae = AAE(seed=0)
    full = resize_images(prepare_images(x_train, (28, 28, 1)), IMG_SIZE)
    t = time.perf_counter()
    aae.update_batch_norm_statistics(full)
    print(f"end-of-run BatchNorm statistics pass, 60,000 images: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
