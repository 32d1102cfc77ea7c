"""GaussianGAN: the "world's lamest" GAN fitting a 2-D Gaussian, two variants.

Variant `"bce"` is the d2l chapter (one sigmoid unit, binary cross-entropy,
Adam 0.05 / 0.005); variant `"softmax"` is the PyTorch port of the same
tutorial with a two-way softmax and categorical cross-entropy (Adam 0.05 /
0.01). Both train with DCGAN's machinery: `train_on_batch` on the
discriminator, then on `CombinedModel` (z -> G -> frozen D), one compiled
function per model.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gan import data as data_lib
from keras_gan.engine import CombinedModel, run_loop

# Per variant: the document's learning rates, the loss, and the weight that
# turns Keras's mean over the concatenated real+fake batch into the
# document's D loss. d2l: (mean_real + mean_fake) / 2 == mean of the
# concatenation (both halves have the batch's size); softmax document:
# loss_fake + loss_real == 2 x that mean.
VARIANTS = {
    "bce": {"lr_d": 0.05, "lr_g": 0.005, "d_loss_weight": 1.0},
    "softmax": {"lr_d": 0.05, "lr_g": 0.01, "d_loss_weight": 2.0},
}


class GaussianGAN:
    """A linear generator against a 2-5-3 tanh MLP, fitting `X·A + b`.

    The generator is one `Dense(data_dim)` (Gaussian noise through a linear
    map is exactly a Gaussian, so it only has to learn `A` and `b`); the
    discriminator is `Dense(5, tanh) -> Dense(3, tanh) -> output`, all
    weights N(0, 0.02) and biases zero as in the d2l document. Variant
    `"bce"` ends in `Dense(1, sigmoid)` with binary cross-entropy (real = 1);
    `"softmax"` ends in `Dense(2, softmax)` with sparse categorical
    cross-entropy (class 1 = real). Adam uses PyTorch's epsilon (1e-8).

    One training iteration, as both documents do it: draw `z ~ N(0, I)` for
    the batch; one D step on the real batch (label real) and `G(z)` (label
    fake); one G step through the frozen D on the same `z` (label real).
    The D step is ONE `train_on_batch` on the concatenation
    `[real; G(z)]`. Keras averages its loss over the `2b` rows; since both
    halves always have the batch's size `b`, that mean equals the d2l loss
    `(loss_real + loss_fake) / 2` exactly (`"bce"`), and twice it is the
    softmax document's `loss_fake + loss_real` (`"softmax"`, compiled with
    `loss_weights=2`). The reported `d_loss` is the document's loss.

    Quality after the documents' 20 epochs varies a lot from seed to seed,
    for this port and for the documents' PyTorch code alike: G's Adam moves
    each weight by at most `lr_g` per step, so it reaches the target only
    near the end of the run, and some runs stall for epochs when D's tanh
    units saturate. Per-seed numbers: scripts/eval_gaussian_quality.py.

    Args:
        variant: `"bce"` (d2l) or `"softmax"`. Defaults to `"bce"`.
        latent_dim: Positive integer, noise dimensionality. Defaults to `2`.
        data_dim: Positive integer, dimensionality `d` of the data. Defaults
            to `2`.
        lr_d: Positive float, the discriminator's Adam learning rate.
            Defaults to the variant's (`0.05` for both).
        lr_g: Positive float, the generator's Adam learning rate. Defaults
            to the variant's (`0.005` for `"bce"`, `0.01` for `"softmax"`).
        seed: Optional non-negative integer. Seeds the weights
            (`keras.utils.set_random_seed`), the default data, and the noise,
            so runs repeat.

    Raises:
        ValueError: for an unknown variant, non-positive sizes or learning
            rates; the message shows what was received.

    Example:

    >>> from keras_gan import GaussianGAN
    >>> gan = GaussianGAN("bce", seed=0)
    >>> history = gan.train(epochs=2, verbose=0)
    >>> gan.generate(5).shape
    (5, 2)
    """

    def __init__(self, variant="bce", latent_dim=2, data_dim=2, lr_d=None, lr_g=None, seed=None):
        if variant not in VARIANTS:
            raise ValueError(
                f"variant must be one of {', '.join(map(repr, VARIANTS))}. "
                f"Received: variant={variant!r}"
            )
        self.variant = variant
        self.latent_dim = data_lib.check_int("latent_dim", latent_dim)
        self.data_dim = data_lib.check_int("data_dim", data_dim)
        settings = VARIANTS[variant]
        self.lr_d = _check_rate("lr_d", settings["lr_d"] if lr_d is None else lr_d)
        self.lr_g = _check_rate("lr_g", settings["lr_g"] if lr_g is None else lr_g)
        if seed is not None:
            seed = data_lib.check_int("seed", seed, minimum=0)
            keras.utils.set_random_seed(seed)
        self.seed = seed
        self.epochs = 0  # epochs trained so far, across train() calls
        self._rng = np.random.default_rng(seed)  # training noise
        self._sample_rng = np.random.default_rng(None if seed is None else [seed, 1])

        self.generator = self.build_generator()
        self.discriminator = self.build_discriminator()
        self.loss = (
            keras.losses.BinaryCrossentropy()
            if variant == "bce"
            else keras.losses.SparseCategoricalCrossentropy()
        )
        self.d_loss_weight = settings["d_loss_weight"]
        self.d_optimizer = keras.optimizers.Adam(self.lr_d, epsilon=1e-8)
        self.g_optimizer = keras.optimizers.Adam(self.lr_g, epsilon=1e-8)
        self.discriminator.compile(
            optimizer=self.d_optimizer, loss=self.loss, loss_weights=self.d_loss_weight
        )
        self.combined = CombinedModel(self.generator, self.discriminator, name="combined")
        self.combined.compile(optimizer=self.g_optimizer, loss=self.loss)
        # [real; G(z)] for the D step in one compiled call: a concrete
        # function skips tf.function's per-call signature matching (~0.3 ms
        # of a ~2.5 ms iteration).
        self._d_input = tf.function(self._concat_real_fake).get_concrete_function(
            tf.TensorSpec((None, self.data_dim), tf.float32),
            tf.TensorSpec((None, self.latent_dim), tf.float32),
        )
        self._labels = {}

    @staticmethod
    def _init():
        return keras.initializers.RandomNormal(0.0, 0.02)

    def build_generator(self):
        """Builds the generator: one linear `Dense(data_dim)`.

        Returns:
            A `keras.Sequential` named `"generator"`.
        """
        return keras.Sequential(
            [
                keras.Input((self.latent_dim,)),
                keras.layers.Dense(self.data_dim, kernel_initializer=self._init()),
            ],
            name="generator",
        )

    def build_discriminator(self):
        """Builds the 2-5-3 tanh discriminator with the variant's output.

        Returns:
            A `keras.Sequential` named `"discriminator"`: `(n, data_dim)` ->
            `(n, 1)` probability of real (`"bce"`) or `(n, 2)` class
            probabilities `[fake, real]` (`"softmax"`).
        """
        out = (
            keras.layers.Dense(1, activation="sigmoid", kernel_initializer=self._init())
            if self.variant == "bce"
            else keras.layers.Dense(2, activation="softmax", kernel_initializer=self._init())
        )
        return keras.Sequential(
            [
                keras.Input((self.data_dim,)),
                keras.layers.Dense(5, activation="tanh", kernel_initializer=self._init()),
                keras.layers.Dense(3, activation="tanh", kernel_initializer=self._init()),
                out,
            ],
            name="discriminator",
        )

    @tf.autograph.experimental.do_not_convert
    def _concat_real_fake(self, real, z):
        return tf.concat([real, self.generator(z, training=False)], axis=0)

    def labels(self, n):
        """Returns `(d_labels, g_labels)` for a batch of `n` real rows.

        `d_labels` has `2n` rows, real (1) then fake (0); `g_labels` has `n`
        rows of real. Shapes follow the variant's loss: `(rows, 1)` float32
        for `"bce"`, `(rows,)` int32 class indices for `"softmax"`.
        """
        if n not in self._labels:
            d = np.concatenate([np.ones(n), np.zeros(n)])
            g = np.ones(n)
            if self.variant == "bce":
                d, g = d.astype(np.float32)[:, None], g.astype(np.float32)[:, None]
            else:
                d, g = d.astype(np.int32), g.astype(np.int32)
            self._labels[n] = (d, g)
        return self._labels[n]

    def noise(self, n, rng=None):
        """Draws `n` latent vectors from N(0, I) as float32 `(n, latent_dim)`."""
        rng = self._sample_rng if rng is None else rng
        return rng.standard_normal((n, self.latent_dim), dtype=np.float32)

    def train_iteration(self, real, z):
        """One iteration: a D step on `[real; G(z)]`, then a G step on `z`.

        Args:
            real: float32 array `(b, data_dim)`.
            z: float32 array `(b, latent_dim)`.

        Returns:
            `(d_loss, g_loss)` as Python floats, the documents' losses
            before the updates.
        """
        d_labels, g_labels = self.labels(len(real))
        d_loss = self.discriminator.train_on_batch(self._d_input(real, z), d_labels)
        g_loss = self.combined.train_on_batch(z, g_labels)
        return d_loss, g_loss

    def train(self, data=None, epochs=20, batch_size=8, verbose=1, callbacks=None):
        """Trains as the documents do: in order, batch by batch, for epochs.

        Batches are taken in order without shuffling (the d2l document's
        `DataLoader(data, batch_size)`); the last batch of an epoch may be
        smaller. Each batch gets fresh N(0, I) noise used by both steps.
        Calling `train()` again continues the epoch count.

        Args:
            data: Optional real data `(n, data_dim)`, integer or float.
                Defaults to `keras_gan.data.gaussian_2d(1000, seed=seed)`.
            epochs: Positive integer, passes over the data. Defaults to `20`.
            batch_size: Positive integer, rows per batch, at most `n`.
                Defaults to `8`.
            verbose: `1` shows a progress bar per epoch, `0` is silent.
            callbacks: Optional list of `keras.callbacks.Callback`, called
                after every epoch (see `keras_gan.engine.run_loop`).

        Returns:
            A `keras.callbacks.History` whose `history` holds the mean
            `d_loss` and `g_loss` of each epoch.

        Raises:
            ValueError: for non-positive `epochs` or `batch_size`, data of a
                wrong shape or dtype, with NaN or infinite values, or with
                fewer rows than `batch_size`.
            keras_gan.engine.TrainingDivergedError: if a loss becomes NaN.
        """
        epochs = data_lib.check_int("epochs", epochs)
        batch_size = data_lib.check_int("batch_size", batch_size)
        if data is None:
            data = data_lib.gaussian_2d(seed=self.seed)
        x = data_lib.prepare_points(data, self.data_dim, name="data", min_rows=batch_size)
        starts = range(0, len(x), batch_size)

        def epoch(_):
            z_all = self.noise(len(x), self._rng)
            d_sum = g_sum = 0.0
            for s in starts:
                d_loss, g_loss = self.train_iteration(
                    x[s : s + batch_size], z_all[s : s + batch_size]
                )
                d_sum += d_loss
                g_sum += g_loss
            self.epochs += 1
            return {"d_loss": d_sum / len(starts), "g_loss": g_sum / len(starts)}

        return run_loop(
            epoch,
            epochs,
            start=self.epochs,
            callbacks=callbacks,
            verbose=verbose,
            unit_name="epoch",
        )

    def generate(self, n):
        """Generates `n` points from N(0, I) noise.

        Args:
            n: Positive integer, number of points.

        Returns:
            A float32 NumPy array `(n, data_dim)`.
        """
        n = data_lib.check_int("n", n)
        return np.asarray(self.generator(self.noise(n), training=False))

    def test(self, x, z):
        """The softmax document's `test`: generate from `z`, score both sets.

        Args:
            x: Real points `(n, data_dim)`.
            z: Noise `(m, latent_dim)`.

        Returns:
            `(fake_x, pred_real, pred_fake)` as NumPy arrays: `G(z)`, `D(x)`
            and `D(G(z))` (probabilities; see `build_discriminator`).
        """
        x = data_lib.prepare_points(x, self.data_dim, name="x")
        z = data_lib.prepare_points(z, self.latent_dim, name="z")
        fake = self.generator(z, training=False)
        return (
            np.asarray(fake),
            np.asarray(self.discriminator(x, training=False)),
            np.asarray(self.discriminator(fake, training=False)),
        )


def _check_rate(name, value):
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.floating))
    if not ok or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number. Received: {name}={value!r}")
    return float(value)
