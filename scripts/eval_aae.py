"""Measures issue 3's "Done when": keras_gan's AAE against the document's PyTorch code.

Both train `--epochs` true epochs (batch 64, shuffled) on the same MNIST
images, resized 28 -> 32 bilinearly once (tf.image.resize; the script checks
that torch.nn.functional.interpolate gives the same pixels) and scaled to
[-1, 1]. Then, on the 10,000 test images, in inference mode (BatchNorm with
its running statistics; the encoder still samples, as the document's does):
the keras side is measured twice from the same run, with the moving
statistics training leaves (variant `...+moving-bn`, as the document's
code) and after `AAE.train()`'s default end, the statistics averaged over
the training images (`update_batch_norm_statistics`); per-epoch lines show
the moving statistics.

- the mean L1 reconstruction error |decode(encode(x)) - x| in [-1, 1] units;
- per latent dimension, the mean and standard deviation of the codes (the
  prior is matched when |mean| <= 0.15 and std is in [0.8, 1.2]), and, to
  see why, the spread of `mu` and the mean `sigma = exp(logvar / 2)`;
- a 10x10 grid of decoded prior samples z ~ N(0, I), originals next to
  reconstructions, and the codes' first two dimensions by digit.

Each run's results go to `--out/results_<side>_<variant>_s<seed>.json`
(pictures to `--out/<side>_<variant>_s<seed>/`), so sides, seeds and
variants can run as separate invocations (each run 4-8 minutes on a busy
2-core CPU); the table shows every result in `--out` for the given seeds, one
row per run and the mean over seeds per side and variant.

    python scripts/eval_aae.py --which keras --epochs 10 --seeds 0,1,2
    python scripts/eval_aae.py --which torch --epochs 10 --seeds 0,1,2
    python scripts/eval_aae.py --which none --seeds 0,1,2     # the table only
    python scripts/eval_aae.py --which both --seeds 0,1,2 --adversarial-weight 0.01
    python scripts/eval_aae.py --which keras --seeds 0,1,2 --xla --settings improved

A variant (`--adversarial-weight w`: the code's BCE weighted w and the L1
1 - w; `--d-lr`: the discriminator's learning rate) applies to both sides;
`--settings improved` (`AAE(settings="improved")`: weight 0.01 and the
encoder's and decoder's weight averages) to the keras side only.

torch (2.x, CPU) is needed for the PyTorch side only; keras_gan does not
depend on it.
"""

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

from keras_gan import viz
from keras_gan.data import load_mnist, prepare_images, resize_images

LATENT_DIM, IMG_SIZE, BATCH_SIZE = 10, 32, 64
N_PRIOR = 10000  # decoded prior samples scored by keras_gan.metrics


def code_stats(codes, mu, sigma):
    mean, std = codes.mean(axis=0), codes.std(axis=0)
    mu_mean = mu.mean(axis=0)
    return {
        "code_mean": mean.round(4).tolist(),
        "code_std": std.round(4).tolist(),
        "max_abs_mean": float(np.abs(mean).max()),
        "min_std": float(std.min()),
        "max_std": float(std.max()),
        "prior_matched": bool(np.all(np.abs(mean) <= 0.15) and np.all((std >= 0.8) & (std <= 1.2))),
        "mu_mean": mu_mean.round(4).tolist(),
        "max_abs_mu_mean": float(np.abs(mu_mean).max()),
        "mu_std": mu.std(axis=0).round(4).tolist(),
        "mean_sigma": sigma.mean(axis=0).round(4).tolist(),
    }


def prior_quality(prior_imgs):
    """keras_gan.metrics on decoded prior samples (32x32, resized to 28)."""
    from keras_gan import metrics

    q = metrics.image_quality(prior_imgs)
    return {
        "prior_classifier_score": q["classifier_score"],
        "prior_frechet_distance": q["frechet_distance"],
        "prior_modes": q["modes"],
    }


def pictures(out, side, x_test, y_test, recon, codes, prior_imgs):
    viz.save_image_grid(prior_imgs, out / f"{side}_prior.png", rows=10, cols=10)
    viz.save_reconstructions(x_test[:50], recon[:50], out / f"{side}_reconstructions.png", 5, 10)
    viz.plot_latent_codes(codes, out / f"{side}_codes.png", labels=y_test, title=f"{side} codes")


# ------------------------------------------------------------------ keras_gan


def run_keras(args, x_train, x_test, y_test, out):
    import keras

    from keras_gan import AAE

    kwargs = settings_kwargs(args)
    if args.lr_decay_fraction is not None:
        kwargs["lr_decay_fraction"] = args.lr_decay_fraction
    if args.mixed_precision:
        kwargs["mixed_precision"] = True
    if args.ema_decay is not None:
        kwargs["ema_decay"] = args.ema_decay
    aae = AAE(
        latent_dim=LATENT_DIM, img_size=IMG_SIZE, seed=args.seed, settings=args.settings, **kwargs
    )
    if args.d_lr is not None:
        aae.discriminator.optimizer.learning_rate.assign(args.d_lr)
    jit = {"jit_compile": bool(args.xla)}  # explicit: train()'s default is "auto" (XLA)
    encoder = aae.sampling_encoder  # the weight average with --settings improved
    heads = keras.Model(
        encoder.inputs, [encoder.get_layer("mu").output, encoder.get_layer("logvar").output]
    )
    per_epoch = []
    start = time.perf_counter()
    # a rate schedule spans one train() call: then one call, no per-epoch lines
    one_call = aae.lr_decay_fraction or args.fit
    for epoch in range(0 if one_call else args.epochs):
        # the statistics are averaged once, at the end, as one train(epochs) does
        aae.train(
            1,
            BATCH_SIZE,
            sample_interval=0,
            x_train=x_train,
            verbose=0,
            precise_batch_norm=False,
            **jit,
        )
        recon = aae.reconstruct(x_test)
        l1 = float(np.abs(recon - x_test).mean())
        codes = aae.encode(x_test)
        per_epoch.append({"epoch": epoch + 1, "test_l1": l1, **code_stats(codes, codes, codes)})
        print(
            f"keras epoch {epoch + 1}: test L1 {l1:.4f}, "
            f"max |mean| {per_epoch[-1]['max_abs_mean']:.3f}, std in "
            f"[{per_epoch[-1]['min_std']:.3f}, {per_epoch[-1]['max_std']:.3f}] "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    if args.fit:  # Keras's fit(): the fused step, 10 per compiled call
        aae.fit(
            x_train,
            epochs=args.epochs,
            batch_size=BATCH_SIZE,
            steps_per_execution=10,
            jit_compile=args.xla,
            verbose=0,
            precise_batch_norm=False,
        )
    elif aae.lr_decay_fraction:
        aae.train(
            args.epochs,
            BATCH_SIZE,
            sample_interval=0,
            x_train=x_train,
            verbose=0,
            precise_batch_norm=False,
            **jit,
        )
    seconds = time.perf_counter() - start

    def measure(variant):
        mu, logvar = (np.asarray(a) for a in heads.predict(x_test, batch_size=1000, verbose=0))
        codes = aae.encode(x_test)
        recon = aae.reconstruct(x_test)
        return (
            {
                "side": "keras_gan AAE",
                "variant": variant,
                "seed": args.seed,
                "epochs": args.epochs,
                "seconds": seconds,
                "test_l1": float(np.abs(recon - x_test).mean()),
                **code_stats(codes, mu, np.exp(logvar / 2)),
                **prior_quality(aae.generate(N_PRIOR)),
                "per_epoch": per_epoch,
            },
            codes,
            recon,
        )

    # the document's BatchNorm statistics (moving averages), then train()'s
    # default end: statistics averaged over the training images
    moving, _, _ = measure(variant_name(args) + "+moving-bn")
    aae.update_batch_norm_statistics(x_train)
    result, codes, recon = measure(variant_name(args))
    pictures(out, "keras", x_test, y_test, recon, codes, aae.generate(100))
    return [moving, result]


# ---------------------------------------------------- the document's PyTorch


def run_torch(args, x_train, x_test, y_test, out):
    import torch
    import torch.nn as nn

    torch.set_num_threads(args.torch_threads)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    img_shape = (1, IMG_SIZE, IMG_SIZE)

    def reparameterization(mu, logvar):
        std = torch.exp(logvar / 2)
        sampled_z = torch.tensor(
            np.random.normal(0, 1, (mu.size(0), LATENT_DIM)), dtype=torch.float32
        )
        return sampled_z * std + mu

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(int(np.prod(img_shape)), 512),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(512, 512),
                nn.BatchNorm1d(512),
                nn.LeakyReLU(0.2, inplace=True),
            )
            self.mu = nn.Linear(512, LATENT_DIM)
            self.logvar = nn.Linear(512, LATENT_DIM)

        def heads(self, img):
            x = self.model(img.view(img.shape[0], -1))
            return self.mu(x), self.logvar(x)

        def forward(self, img):
            return reparameterization(*self.heads(img))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(LATENT_DIM, 512),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(512, 512),
                nn.BatchNorm1d(512),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Linear(512, int(np.prod(img_shape))),
                nn.Tanh(),
            )

        def forward(self, z):
            img_flat = self.model(z)
            return img_flat.view(img_flat.shape[0], *img_shape)

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

    adversarial_loss, pixelwise_loss = nn.BCELoss(), nn.L1Loss()
    encoder, decoder, discriminator = Encoder(), Decoder(), Discriminator()
    optimizer_G = torch.optim.Adam(
        itertools.chain(encoder.parameters(), decoder.parameters()), lr=0.0002, betas=(0.5, 0.999)
    )
    d_lr = 0.0002 if args.d_lr is None else args.d_lr
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=d_lr, betas=(0.5, 0.999))
    weights = {"reconstruction_weight": 0.999, "adversarial_weight": 0.001}
    weights.update(settings_kwargs(args))
    rec_w, adv_w = weights["reconstruction_weight"], weights["adversarial_weight"]
    xt = torch.from_numpy(x_train.transpose(0, 3, 1, 2).copy())  # (n, 1, 32, 32)
    xs = torch.from_numpy(x_test.transpose(0, 3, 1, 2).copy())

    def evaluate():
        encoder.eval()
        decoder.eval()
        with torch.no_grad():
            mu, logvar = (t.numpy() for t in encoder.heads(xs))
            codes = encoder(xs)
            recon = decoder(codes).numpy().transpose(0, 2, 3, 1)
            prior = torch.tensor(np.random.normal(0, 1, (100, LATENT_DIM)), dtype=torch.float32)
            prior_imgs = decoder(prior).numpy().transpose(0, 2, 3, 1)
        encoder.train()
        decoder.train()
        return mu, logvar, codes.numpy(), recon, prior_imgs

    per_epoch = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(xt))  # DataLoader(shuffle=True), last batch kept
        for i in range(0, len(xt), BATCH_SIZE):
            imgs = xt[perm[i : i + BATCH_SIZE]]
            valid = torch.ones(imgs.shape[0], 1)
            fake = torch.zeros(imgs.shape[0], 1)
            optimizer_G.zero_grad()
            encoded_imgs = encoder(imgs)
            decoded_imgs = decoder(encoded_imgs)
            g_loss = adv_w * adversarial_loss(
                discriminator(encoded_imgs), valid
            ) + rec_w * pixelwise_loss(decoded_imgs, imgs)
            g_loss.backward()
            optimizer_G.step()
            optimizer_D.zero_grad()
            z = torch.tensor(
                np.random.normal(0, 1, (imgs.shape[0], LATENT_DIM)), dtype=torch.float32
            )
            real_loss = adversarial_loss(discriminator(z), valid)
            fake_loss = adversarial_loss(discriminator(encoded_imgs.detach()), fake)
            d_loss = 0.5 * (real_loss + fake_loss)
            d_loss.backward()
            optimizer_D.step()
        _, _, codes, recon, _ = evaluate()
        l1 = float(np.abs(recon - x_test).mean())
        per_epoch.append({"epoch": epoch + 1, "test_l1": l1, **code_stats(codes, codes, codes)})
        print(
            f"torch epoch {epoch + 1}: test L1 {l1:.4f}, "
            f"max |mean| {per_epoch[-1]['max_abs_mean']:.3f}, std in "
            f"[{per_epoch[-1]['min_std']:.3f}, {per_epoch[-1]['max_std']:.3f}] "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    seconds = time.perf_counter() - start
    mu, logvar, codes, recon, prior_imgs = evaluate()
    pictures(out, "torch", x_test, y_test, recon, codes, prior_imgs)
    decoder.eval()
    with torch.no_grad():
        prior = torch.tensor(np.random.normal(0, 1, (N_PRIOR, LATENT_DIM)), dtype=torch.float32)
        many = decoder(prior).numpy().transpose(0, 2, 3, 1)
    return {
        "side": "document's PyTorch",
        "variant": variant_name(args),
        "seed": args.seed,
        "epochs": args.epochs,
        "seconds": seconds,
        "test_l1": float(np.abs(recon - x_test).mean()),
        **code_stats(codes, mu, np.exp(logvar / 2)),
        **prior_quality(many),
        "per_epoch": per_epoch,
    }


def check_resize(x28):
    """Max |tf.image.resize - torch interpolate| over the given images."""
    import torch
    import torch.nn.functional as F

    ours = resize_images(x28, IMG_SIZE)
    theirs = F.interpolate(
        torch.from_numpy(x28.transpose(0, 3, 1, 2).copy()),
        size=(IMG_SIZE, IMG_SIZE),
        mode="bilinear",
        align_corners=False,
        antialias=False,
    )
    return float(np.abs(ours - theirs.numpy().transpose(0, 2, 3, 1)).max())


def settings_kwargs(args):
    """The loss weights of the variant: the document's unless --adversarial-weight is given."""
    if args.adversarial_weight is None:
        return {}
    w = args.adversarial_weight
    return {"adversarial_weight": w, "reconstruction_weight": round(1.0 - w, 10)}


def variant_name(args):
    parts = [] if args.settings == "document" else [args.settings]
    if args.adversarial_weight is not None:
        parts.append(f"adv{args.adversarial_weight:g}")
    if args.d_lr is not None:
        parts.append(f"dlr{args.d_lr:g}")
    if getattr(args, "ema_decay", None) is not None:
        parts.append(f"ema{args.ema_decay:g}")
    if getattr(args, "lr_decay_fraction", None) is not None:
        parts.append(f"decay{args.lr_decay_fraction:g}")
    if getattr(args, "mixed_precision", False):
        parts.append("bf16")
    if getattr(args, "fit", False):
        parts.append("fit")
    if args.xla:
        parts.append("xla")
    return "+".join(parts) or "document"


def result_path(out, side, variant, seed):
    return out / f"results_{side}_{variant}_s{seed}.json"


def _fmt(result, key, spec):
    return "-" if key not in result else format(result[key], spec)


COLUMNS = [  # (header, width, format of one result, format of the mean over seeds)
    ("test L1", 8, lambda r: f"{r['test_l1']:.4f}"),
    ("max|mean|", 9, lambda r: f"{r['max_abs_mean']:.3f}"),
    ("code std", 11, lambda r: f"{r['min_std']:.3f}..{r['max_std']:.3f}"),
    ("matched", 7, lambda r: "yes" if r["prior_matched"] else "no"),
    ("max|mu mean|", 12, lambda r: _fmt(r, "max_abs_mu_mean", ".3f")),
    ("mu std", 11, lambda r: f"{min(r['mu_std']):.3f}..{max(r['mu_std']):.3f}"),
    ("sigma", 11, lambda r: f"{min(r['mean_sigma']):.3f}..{max(r['mean_sigma']):.3f}"),
    ("cls score", 9, lambda r: _fmt(r, "prior_classifier_score", ".2f")),
    ("FD", 6, lambda r: _fmt(r, "prior_frechet_distance", ".1f")),
    ("modes", 5, lambda r: _fmt(r, "prior_modes", "d")),
    ("seconds", 7, lambda r: f"{r['seconds']:.0f}"),
]
MEANS = {  # the columns averaged over seeds, and how
    "test L1": ("test_l1", ".4f"),
    "max|mean|": ("max_abs_mean", ".3f"),
    "max|mu mean|": ("max_abs_mu_mean", ".3f"),
    "cls score": ("prior_classifier_score", ".2f"),
    "FD": ("prior_frechet_distance", ".1f"),
    "seconds": ("seconds", ".0f"),
}


def table(results):
    """One row per (side, variant, seed), then a mean row per (side, variant).

    Args:
        results: List of result dicts as `run_keras` / `run_torch` return.

    Returns:
        The table as a string.
    """
    groups = {}
    for r in results:
        groups.setdefault((r["side"], r.get("variant", "document")), []).append(r)
    head = f"{'side':20s} {'variant':24s} {'seed':>5s} " + " ".join(
        f"{h:>{w}s}" for h, w, _ in COLUMNS
    )
    lines = [head, "-" * len(head)]
    for (side, variant), rs in groups.items():
        rs = sorted(rs, key=lambda r: r.get("seed", 0))
        for r in rs:
            lines.append(
                f"{side:20s} {variant:24s} {r.get('seed', 0):>5d} "
                + " ".join(f"{fmt(r):>{w}s}" for _, w, fmt in COLUMNS)
            )
        if len(rs) > 1:
            cells = []
            for h, w, _ in COLUMNS:
                if h in MEANS and all(MEANS[h][0] in r for r in rs):
                    key, spec = MEANS[h]
                    cells.append(f"{format(float(np.mean([r[key] for r in rs])), spec):>{w}s}")
                elif h == "matched":
                    cells.append(f"{sum(r['prior_matched'] for r in rs)}/{len(rs):<{w - 2}d}")
                else:
                    cells.append(" " * w)
            lines.append(f"{side:20s} {variant:24s} {'mean':>5s} " + " ".join(cells))
    return "\n".join(lines)


def _seeds(text):
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be integers. Received: {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be >= 0. Received: {text!r}")
    return seeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--which", choices=("both", "keras", "torch", "none"), default="both")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--seeds", "--seed", type=_seeds, default=[0], help="comma-separated, e.g. 0,1,2"
    )
    parser.add_argument(
        "--adversarial-weight",
        type=float,
        default=None,
        help="weight of the code's BCE in the generator step (the L1's is 1 minus it), on "
        "both sides. Default: the document's 0.001",
    )
    parser.add_argument(
        "--d-lr", type=float, default=None, help="D's Adam learning rate. Default: 2e-4"
    )
    parser.add_argument(
        "--settings",
        choices=("document", "improved"),
        default="document",
        help="keras side: AAE(settings=...); 'improved' has no PyTorch counterpart (compare "
        "with --which torch --adversarial-weight 0.01 for its loss weights). Default: document",
    )
    parser.add_argument(
        "--xla",
        action="store_true",
        help="keras side: train() with jit_compile=True (faster; XLA draws other noise)",
    )
    parser.add_argument(
        "--lr-decay-fraction",
        type=float,
        default=None,
        help="keras side: AAE(lr_decay_fraction=...), rates falling to 0 over this last "
        "fraction of the run (one train() call). Default: the package's",
    )
    parser.add_argument(
        "--fit",
        action="store_true",
        help="keras side: train with AAE.fit() (the fused step, 10 per call; whole batches "
        "only) instead of train()",
    )
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="keras side: AAE(mixed_precision=True), bfloat16 on a CPU",
    )
    parser.add_argument("--torch-threads", type=int, default=1, help="speed only")
    parser.add_argument("--out", default="runs/eval_aae")
    parser.add_argument(
        "--ema-decay",
        type=float,
        default=None,
        help="keras side: AAE(ema_decay=...), the encoder's and decoder's weight average "
        "(0: none). Default: the settings'",
    )
    args = parser.parse_args()
    if (args.settings != "document" or args.ema_decay is not None) and args.which in (
        "both",
        "torch",
    ):
        parser.error("--settings and --ema-decay are keras_gan's; use them with --which keras")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    variant = variant_name(args)
    sides = {"keras": run_keras, "torch": run_torch}
    todo = [s for s in sides if args.which in (s, "both")]

    if todo:
        (x_train, _), (x_test, y_test) = load_mnist()
        x_train = prepare_images(x_train, (28, 28, 1))
        x_train = resize_images(x_train, IMG_SIZE)  # (60000, 32, 32, 1)
        x_test28 = prepare_images(x_test, (28, 28, 1))
        x_test = resize_images(x_test28, IMG_SIZE)
        try:
            print(f"resize check: max |tf - torch| = {check_resize(x_test28):.2e}")
        except ImportError:
            pass
    for seed in args.seeds:
        for side in todo:
            seed_args = argparse.Namespace(**{**vars(args), "seed": seed})
            seed_out = out / f"{side}_{variant}_s{seed}"
            seed_out.mkdir(exist_ok=True)
            results = sides[side](seed_args, x_train, x_test, y_test, seed_out)
            for result in results if isinstance(results, list) else [results]:
                path = result_path(out, side, result["variant"], seed)
                path.write_text(json.dumps(result, indent=1) + "\n")
                print(f"wrote {path}", flush=True)
    # the table: every result of the chosen seeds in --out (any variant)
    results = []
    for path in sorted(out.glob("results_*_s*.json")):
        r = json.loads(path.read_text())
        if r.get("seed", 0) in args.seeds:
            results.append(r)
    if results:
        print(table(results))


if __name__ == "__main__":
    main()
