"""AAE: the adversarial autoencoder of the MNIST document, on Keras 3."""

import math
import os

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gan import data as data_lib
from keras_gan import viz
from keras_gan.engine import (
    AdversarialModel,
    CheckpointMixin,
    CombinedModel,
    RunSchedule,
    ScheduledRatesMixin,
    TailDecay,
    WeightAverage,
    check_average_strategy,
    check_checkpoint_args,
    fit_adversarial,
    precision_policy,
    replica_normal,
    run_loop,
    strategy_scope,
    targets,
    update_batch_norm_statistics,
)

# Named configurations. "document" is the document's code exactly.
# "improved" (issues 3 and 8) weights the code's adversarial loss 0.01 and
# the L1 0.99 (ten times the document's adversarial weight, so the codes
# match the prior) and encodes, decodes and samples with an exponential
# moving average of the encoder's and decoder's weights (decay 0.998, which
# more than wins back the L1 that the stronger prior costs). Measured in
# README ("The adversarial autoencoder"): 10 epochs, seeds 0-2.
SETTINGS = {
    "document": {"reconstruction_weight": 0.999, "adversarial_weight": 0.001, "ema_decay": None},
    "improved": {"reconstruction_weight": 0.99, "adversarial_weight": 0.01, "ema_decay": 0.998},
}


@keras.saving.register_keras_serializable(package="keras_gan")
class Reparameterization(keras.layers.Layer):
    """Draws `z = mu + exp(logvar / 2) * eps` with `eps ~ N(0, I)`.

    The noise comes from the layer's own `keras.random.SeedGenerator`, so a
    compiled step draws fresh noise on every call and a seeded layer repeats.
    As in the document, the layer samples in training and inference alike.

    Args:
        seed: Optional integer seeding the noise. Defaults to `None`.
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).

    Example:

    >>> import numpy as np
    >>> layer = Reparameterization(seed=0)
    >>> layer([np.zeros((2, 3)), np.zeros((2, 3))]).shape
    TensorShape([2, 3])
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mu, logvar = inputs
        # independent noise on every replica under tf.distribute
        eps = replica_normal(ops.shape(mu), self.seed_generator, dtype=mu.dtype)
        return mu + ops.exp(0.5 * logvar) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class AAEAdversarial(AdversarialModel):
    """The AAE's iteration as one fused `train_step` (for `AAE.fit()`).

    The generator side (encoder and decoder) goes first, minimising
    `reconstruction_weight` · L1 + `adversarial_weight` · BCE(D(codes), 1)
    with D frozen; then D learns prior samples (label 1) against the very
    codes that step computed (label 0, gradients stopped: the document's
    `encoded_imgs.detach()`), each half weighted 0.5 — the classic loop's
    iteration. The AAE's weight averages (`ema_decay`), if any, follow the
    encoder and decoder after their update.
    """

    generator_first = True

    def __init__(self, aae, **kwargs):
        super().__init__(
            aae.decoder,
            aae.discriminator,
            latent_dim=aae.latent_dim,
            seed_generator=aae.seed_generator,
            d_optimizer=aae.discriminator.optimizer,
            g_optimizer=aae.combined.optimizer,
            **kwargs,
        )
        self.encoder = aae.encoder
        self.weight_averages = aae._averages
        self.reconstruction_weight = aae.reconstruction_weight
        self.adversarial_weight = aae.adversarial_weight
        self._l1 = keras.losses.MeanAbsoluteError()

    @property
    def generator_networks(self):
        return (self.encoder, self.generator)

    def generator_loss(self, real, state):
        codes = self.encoder(real, training=True)
        state["codes"] = ops.stop_gradient(codes)  # D's negatives, reused
        reconstruction = self.generator(codes, training=True)
        validity = self.discriminate(codes, training=True)
        return self.reconstruction_weight * self._l1(
            real, reconstruction
        ) + self.adversarial_weight * self.adversarial_loss(validity, True)

    def begin_iteration(self, real):
        return {"prior": self.sample_latent(tf.shape(real)[0])}

    def discriminator_updates(self, real, state):
        return [[(state["prior"], True, 0.5), (state["codes"], False, 0.5)]]


class AAECombined(CombinedModel):
    """Encoder and decoder trained through the frozen latent discriminator.

    `x -> encoder -> z`; the outputs are `{"reconstruction": decoder(z),
    "validity": D(z)}` with D called frozen. Its trainable weights are the
    encoder's and the decoder's only (`trained_networks`), so compiling it
    with the two losses and their weights gives the document's generator
    step in one `train_on_batch`. `last_codes` holds the codes `z` of the
    latest call: inside one compiled iteration (`AAE.train_iteration`) the
    discriminator step that follows reuses them, as the document's
    `encoded_imgs.detach()`.

    Args:
        encoder: Keras model, images -> latent codes.
        decoder: Keras model, latent codes -> images.
        discriminator: Keras model, latent codes -> probability of the prior.
        **kwargs: Passed to `keras.Model` (e.g. `name`).
    """

    def __init__(self, encoder, decoder, discriminator, **kwargs):
        super().__init__(encoder, discriminator, **kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.last_codes = None

    @property
    def trained_networks(self):
        return (self.encoder, self.decoder)

    def call(self, x, training=None):
        z = self.encoder(x, training=training)
        self.last_codes = z  # a tensor of the graph being traced
        return {
            "reconstruction": self.decoder(z, training=training),
            "validity": self.discriminate(z, training=training),
        }


class AAE(ScheduledRatesMixin, CheckpointMixin):
    """Adversarial autoencoder, layer for layer as the MNIST document has it.

    An MLP encoder maps a flattened image to the mean and log-variance of a
    Gaussian code and samples it (`z = mu + exp(logvar / 2) * eps`); an MLP
    decoder maps the code back to an image in [-1, 1]; a discriminator on
    codes tells prior samples `z ~ N(0, I)` from encoded images. The
    encoder and decoder minimise
    `reconstruction_weight * L1(decode(encode(x)), x) +
    adversarial_weight * BCE(D(encode(x)), 1)` through `combined`
    (`AAECombined`, D frozen); D minimises BCE on prior samples (label 1)
    against codes (label 0). All sides use Adam(2e-4, beta_1=0.5,
    beta_2=0.999). Once trained, `generate(n)` decodes prior samples.

    `settings="document"` (the default) is the document's code exactly;
    `settings="improved"` weights the code's BCE 0.01 and the L1 0.99 and
    encodes, decodes and samples with a moving average of the encoder's and
    decoder's weights (`ema_decay=0.998`): after 10 epochs its test codes
    match the prior (every |mean| <= 0.15) where the document's do not, at a
    lower test L1 (README, "The adversarial autoencoder").

    Args:
        latent_dim: Positive integer, dimensionality of the code. Defaults
            to `10`.
        img_size: Positive integer, the square size images are resized to.
            Defaults to `32` (the document resizes MNIST's 28x28).
        channels: Positive integer, image channels. Defaults to `1`.
        seed: Optional integer. When given, `keras.utils.set_random_seed` is
            called before the networks are built, and shuffling, the
            reparameterization noise and the prior samples are seeded from
            it, so runs repeat.
        reconstruction_weight: Non-negative float, weight of the L1 loss in
            the generator step. Defaults to the settings' (`0.999`; `0.99`
            for `"improved"`).
        adversarial_weight: Non-negative float, weight of the code's BCE in
            the generator step. Defaults to the settings' (`0.001`; `0.01`
            for `"improved"`).
        strategy: Optional `tf.distribute.Strategy` (e.g. `MirroredStrategy`
            over several GPUs). Networks, optimizers and the `fit()` model
            are created in its scope; the enclosing scope is used otherwise.
            `fit()` runs under it (each replica draws its own noise); the
            classic `train()` loop runs on one device.
        mixed_precision: If `True`, the networks compute in `mixed_float16`
            on a GPU (with dynamic loss scaling) or `mixed_bfloat16` on a
            CPU, keeping float32 weights; images, codes and probabilities
            come out in float32. Defaults to `False`.
        lr_decay_fraction: Float in [0, 1]: both learning rates stay 2e-4,
            then fall linearly to zero over this last fraction of every
            `train()` / `fit()` run (counted in batches; see
            `keras_gan.engine.TailDecay`). Defaults to `0.0`, the document's
            constant rates.
        settings: `"document"` (the default) or `"improved"` (see
            `SETTINGS`): the loss weights and `ema_decay` not given
            explicitly.
        ema_decay: A float in [0, 1): above 0, keep an exponential moving
            average of the encoder's and decoder's variables (`ema_encoder`,
            `ema_decoder`), updated after every autoencoder step, and use it
            in `encode()`, `decode()`, `reconstruct()` and `generate()`;
            `0` keeps none. Training still runs the current networks.
            Defaults to the settings' (none; `0.998` for `"improved"`).

    Raises:
        ValueError: for a non-positive `latent_dim`, `img_size` or
            `channels`, a negative `seed`, a negative or non-finite loss
            weight, an `lr_decay_fraction` outside [0, 1], an unknown
            `settings` name, an `ema_decay` outside [0, 1), an
            `ema_decay` under a multi-replica strategy, or a
            `mixed_precision` that is not a bool.

    Example:

    >>> from keras_gan import AAE
    >>> aae = AAE(seed=0)
    >>> history = aae.train(epochs=1, sample_interval=0)  # doctest: +SKIP
    >>> aae.generate(4).shape
    (4, 32, 32, 1)
    """

    # configuration keys newer than the first AAE checkpoints, as those had them
    CONFIG_ADDED = {"lr_decay_fraction": 0.0, "settings": "document", "ema_decay": None}

    def __init__(
        self,
        latent_dim=10,
        img_size=32,
        channels=1,
        seed=None,
        reconstruction_weight=None,
        adversarial_weight=None,
        strategy=None,
        mixed_precision=False,
        lr_decay_fraction=0.0,
        settings="document",
        ema_decay=None,
    ):
        self.latent_dim = data_lib.check_int("latent_dim", latent_dim)
        self.img_size = data_lib.check_int("img_size", img_size)
        self.channels = data_lib.check_int("channels", channels)
        self.img_shape = (self.img_size, self.img_size, self.channels)
        self.settings = data_lib.check_choice("settings", settings, SETTINGS)
        chosen = SETTINGS[settings]
        if reconstruction_weight is None:
            reconstruction_weight = chosen["reconstruction_weight"]
        if adversarial_weight is None:
            adversarial_weight = chosen["adversarial_weight"]
        self.reconstruction_weight = _check_weight("reconstruction_weight", reconstruction_weight)
        self.adversarial_weight = _check_weight("adversarial_weight", adversarial_weight)
        ema_decay = chosen["ema_decay"] if ema_decay is None else ema_decay
        if ema_decay is not None:  # 0: no average
            ema_decay = data_lib.check_unit("ema_decay", ema_decay, 1.0) or None
        self.ema_decay = ema_decay
        self.lr_decay_fraction = data_lib.check_fraction("lr_decay_fraction", lr_decay_fraction)
        if seed is not None:
            seed = data_lib.check_int("seed", seed, minimum=0)
            keras.utils.set_random_seed(seed)
        self.seed = seed
        self.iterations = 0  # batches trained so far, across train() calls
        self.epochs_trained = 0
        self.sample_dir = "images"
        self._rng = np.random.default_rng(seed)
        # The prior's stream; the encoder's noise has its own (seed + 1), so
        # the two never draw the same numbers.
        # Everything holding variables is created in one distribution scope
        # (the one given, or the enclosing one), so fit() can run under it.
        self.strategy = strategy or tf.distribute.get_strategy()
        check_average_strategy(self.ema_decay, self.strategy, "the encoder and decoder")
        self.mixed_precision = data_lib.check_bool("mixed_precision", mixed_precision)
        with strategy_scope(self.strategy, "AAE"), precision_policy(self.mixed_precision):
            self._build()
        self._sample_fn = tf.function(self._sample, reduce_retracing=True)
        self._encode_fn = tf.function(self._encode, reduce_retracing=True)
        self._decode_fn = tf.function(self._decode, reduce_retracing=True)
        self._d_batch_fn = tf.function(self._d_batch, reduce_retracing=True)
        self._d_labels = {}
        self._classic_fns = {}  # train_iteration's compiled steps, by jit_compile

    def _build(self):
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.reconstruction_loss = keras.losses.MeanAbsoluteError()
        self.adversarial_loss = keras.losses.BinaryCrossentropy()
        # Rates: the document's constant 2e-4, or constant then falling to
        # zero over the last lr_decay_fraction of each run (one step of each
        # optimizer per iteration).
        self._schedules = []
        d_rate = g_rate = 0.0002
        if self.lr_decay_fraction:
            self._schedules = [TailDecay(0.0002), TailDecay(0.0002)]
            d_rate, g_rate = self._schedules
        self.discriminator = self.build_discriminator()
        self.discriminator.compile(
            loss=self.adversarial_loss,
            optimizer=keras.optimizers.Adam(d_rate, 0.5, 0.999),
            metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
        )
        self.encoder = self.build_encoder()
        self.decoder = self.build_decoder()
        self._averages = []
        if self.ema_decay is not None:
            self._averages = [
                WeightAverage(self.encoder, self.ema_decay),
                WeightAverage(self.decoder, self.ema_decay),
            ]
        # The document's one Adam over encoder + decoder parameters.
        self.combined = AAECombined(self.encoder, self.decoder, self.discriminator, name="combined")
        self.combined.compile(
            loss={"reconstruction": self.reconstruction_loss, "validity": self.adversarial_loss},
            loss_weights={
                "reconstruction": self.reconstruction_weight,
                "validity": self.adversarial_weight,
            },
            optimizer=keras.optimizers.Adam(g_rate, 0.5, 0.999),
        )
        self.adversarial_model = AAEAdversarial(self, name="aae")

    # ------------------------------------------------------------ networks

    def get_config(self):
        """Returns the constructor arguments, as a JSON-serialisable dict."""
        return {
            "latent_dim": self.latent_dim,
            "img_size": self.img_size,
            "channels": self.channels,
            "seed": self.seed,
            "reconstruction_weight": self.reconstruction_weight,
            "adversarial_weight": self.adversarial_weight,
            "mixed_precision": self.mixed_precision,
            "lr_decay_fraction": self.lr_decay_fraction,
            "settings": self.settings,
            "ema_decay": self.ema_decay,
        }

    @property
    def ema_encoder(self):
        """The moving average of the encoder (`None` without `ema_decay`)."""
        return self._averages[0].average if self._averages else None

    @property
    def ema_decoder(self):
        """The moving average of the decoder (`None` without `ema_decay`)."""
        return self._averages[1].average if self._averages else None

    @property
    def sampling_encoder(self):
        """The encoder `encode()` and `reconstruct()` use: `ema_encoder` if
        there is one, else `encoder`. Save this one to keep the result."""
        return self.encoder if self.ema_encoder is None else self.ema_encoder

    @property
    def sampling_decoder(self):
        """The decoder `decode()`, `reconstruct()` and `generate()` use:
        `ema_decoder` if there is one, else `decoder`."""
        return self.decoder if self.ema_decoder is None else self.ema_decoder

    def networks(self):
        """Returns the networks a checkpoint holds, by name."""
        nets = {
            "encoder": self.encoder,
            "decoder": self.decoder,
            "discriminator": self.discriminator,
        }
        if self._averages:
            nets["ema_encoder"], nets["ema_decoder"] = (a.average for a in self._averages)
        return nets

    def optimizers(self):
        """Returns name -> (optimizer, the variables it updates)."""
        return {
            "discriminator": (self.discriminator.optimizer, self.discriminator.trainable_weights),
            "autoencoder": (self.combined.optimizer, self.combined.trainable_weights),
        }

    def _batch_norm(self):
        # PyTorch's BatchNorm1d defaults: running stats keep 0.9 of the old
        # value (its momentum=0.1), epsilon 1e-5 (Keras's default is 1e-3).
        return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)

    def build_encoder(self):
        """Builds the encoder: image -> sampled code.

        Returns:
            A functional `keras.Model` named `"encoder"`, output `z` of shape
            `(batch, latent_dim)`; its `Reparameterization` layer samples.
        """
        img = keras.Input(self.img_shape, name="image")
        h = keras.layers.Flatten()(img)  # (batch, img_size * img_size * channels)
        h = keras.layers.Dense(512)(h)
        h = keras.layers.LeakyReLU(negative_slope=0.2)(h)
        h = keras.layers.Dense(512)(h)
        h = self._batch_norm()(h)
        h = keras.layers.LeakyReLU(negative_slope=0.2)(h)
        # the heads and the sampling stay float32 under mixed precision
        mu = keras.layers.Dense(self.latent_dim, name="mu", dtype="float32")(h)
        logvar = keras.layers.Dense(self.latent_dim, name="logvar", dtype="float32")(h)
        seed = None if self.seed is None else self.seed + 1
        z = Reparameterization(seed=seed, name="reparameterization", dtype="float32")([mu, logvar])
        return keras.Model(img, z, name="encoder")

    def build_decoder(self):
        """Builds the decoder: code -> image in [-1, 1].

        Returns:
            A `keras.Sequential` named `"decoder"`.
        """
        return keras.Sequential(
            [
                keras.Input((self.latent_dim,)),
                keras.layers.Dense(512),
                keras.layers.LeakyReLU(negative_slope=0.2),
                keras.layers.Dense(512),
                self._batch_norm(),
                keras.layers.LeakyReLU(negative_slope=0.2),
                keras.layers.Dense(math.prod(self.img_shape), activation="tanh", dtype="float32"),
                keras.layers.Reshape(self.img_shape, dtype="float32"),
            ],
            name="decoder",
        )

    def build_discriminator(self):
        """Builds the discriminator: code -> probability it is a prior sample.

        Returns:
            A `keras.Sequential` named `"discriminator"`.
        """
        return keras.Sequential(
            [
                keras.Input((self.latent_dim,)),
                keras.layers.Dense(512),
                keras.layers.LeakyReLU(negative_slope=0.2),
                keras.layers.Dense(256),
                keras.layers.LeakyReLU(negative_slope=0.2),
                keras.layers.Dense(1, activation="sigmoid", dtype="float32"),
            ],
            name="discriminator",
        )

    # ------------------------------------------------- compiled functions

    def _sample(self, n):
        z = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        return self.sampling_decoder(z, training=False)

    def _encode(self, x):
        return self.sampling_encoder(x, training=False)

    def _decode(self, z):
        return self.sampling_decoder(z, training=False)

    def _d_batch(self, codes):
        # The discriminator's batch: prior samples (label 1) on top of
        # `codes` (label 0), in one compiled call.
        n = ops.shape(codes)[0]
        prior = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        return ops.concatenate([prior, codes], axis=0)

    def _labels(self, n):
        # (G labels, D labels) for a batch of n: with `_d_batch_fn`, the
        # iteration as two train_on_batch calls, which tests and
        # benchmarks/bench_aae.py compare the compiled iteration against
        if n not in self._d_labels:
            self._d_labels[n] = (
                targets(n, 1.0),
                np.concatenate([targets(n, 1.0), targets(n, 0.0)]),
            )
        return self._d_labels[n]

    # -------------------------------------------------------------- public

    def prepare(self, x, name="x"):
        """Validates images, scales them to [-1, 1] and resizes them.

        Args:
            x: Images `(n, H, W)` (one channel) or `(n, H, W, channels)`,
                uint8 in 0..255 or float in [-1, 1], of any size; they are
                resized bilinearly to `img_size` x `img_size`.
            name: Argument name used in error messages.

        Returns:
            A float32 NumPy array `(n, img_size, img_size, channels)`.

        Raises:
            ValueError: naming `name` and what was received, for a wrong
                shape, dtype or value range, NaN pixels or no images.
        """
        try:
            arr = np.asarray(x)
        except Exception as e:
            raise ValueError(f"{name} must be an array of images: {e}") from None
        if arr.ndim == 3 and self.channels == 1:
            arr = arr[..., None]
        if arr.ndim != 4 or arr.shape[-1] != self.channels or 0 in arr.shape[1:]:
            alt = " or (n, H, W)" if self.channels == 1 else ""
            raise ValueError(
                f"{name} must be images of shape (n, H, W, {self.channels}){alt}; they are "
                f"resized to {self.img_size}x{self.img_size}. Received: shape {arr.shape}"
            )
        arr = data_lib.prepare_images(arr, arr.shape[1:], name=name)
        if arr.shape[1:3] != (self.img_size, self.img_size):
            arr = data_lib.resize_images(arr, self.img_size)
        return arr

    def _batched(self, fn, x, batch_size=1000):
        return np.concatenate(
            [np.asarray(fn(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        )

    def encode(self, x):
        """Encodes images into sampled codes (the encoder in inference mode).

        Args:
            x: Images as `prepare` takes them (uint8 or float, any size).

        Returns:
            A float32 NumPy array `(n, latent_dim)`.

        Raises:
            ValueError: for bad images (see `prepare`).
        """
        return self._batched(self._encode_fn, self.prepare(x))

    def decode(self, z):
        """Decodes codes into images.

        Args:
            z: Array-like `(n, latent_dim)` of finite numbers.

        Returns:
            A float32 NumPy array `(n, img_size, img_size, channels)` in
            [-1, 1].

        Raises:
            ValueError: for a wrong shape or non-finite values.
        """
        try:
            z = np.asarray(z, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(f"z must be an array of numbers: {e}") from None
        if z.ndim != 2 or z.shape[1] != self.latent_dim or len(z) == 0:
            raise ValueError(
                f"z must have shape (n, {self.latent_dim}) with n >= 1. Received: shape {z.shape}"
            )
        if not np.isfinite(z).all():
            raise ValueError("z holds NaN or infinite values.")
        return self._batched(self._decode_fn, z)

    def reconstruct(self, x):
        """Encodes and decodes images: `decode(encode(x))`.

        Args:
            x: Images as `prepare` takes them.

        Returns:
            A float32 NumPy array `(n, img_size, img_size, channels)` in
            [-1, 1], to compare with `prepare(x)`.

        Raises:
            ValueError: for bad images (see `prepare`).
        """
        return self._batched(self._decode_fn, self.encode(x))

    def update_batch_norm_statistics(self, x, batch_size=500):
        """Sets the encoder's and decoder's BatchNorm statistics from `x`.

        Training leaves each BatchNormalization layer with a moving average
        of recent batches' statistics (momentum 0.1, as the document's
        PyTorch), and inference-mode encoding, reconstruction and sampling
        use it. This replaces it by the average over `x` with the current
        weights, through the networks in training mode as a training step
        runs them (`keras_gan.engine.update_batch_norm_statistics`).
        `train()` and `fit()` do this at their end unless told not to. No
        weight changes, and no later training step reads the statistics
        (every step runs the networks in training mode), so a later
        `train()` call trains the same weights as one longer run.
        With `ema_decay`, the averaged networks' statistics are set too,
        each from its own weights.

        Measured here (10 epochs, seeds 0-2, `scripts/eval_aae.py --xla`):
        the encoded test codes' largest |mean| fell from 0.224 to 0.179 and
        the test L1 from 0.0767 to 0.0745 (means over the seeds).

        Args:
            x: Images as `prepare` takes them, normally the training images.
            batch_size: Positive integer, images per averaged batch.
                Defaults to `500`.

        Returns:
            The number of batches averaged.

        Raises:
            ValueError: for bad images (see `prepare`) or `batch_size`.

        Example:

        >>> import numpy as np
        >>> aae = AAE(seed=0)
        >>> aae.update_batch_norm_statistics(np.zeros((8, 28, 28), "uint8"))
        1
        """
        batch_size = data_lib.check_int("batch_size", batch_size)
        return self._update_batch_norm_statistics(self.prepare(x), batch_size)

    def _update_batch_norm_statistics(self, x, batch_size=500):
        # `update_batch_norm_statistics` on images `prepare` has returned
        size = min(batch_size, len(x))  # whole batches only; one if x is small

        pairs = [(self.encoder, self.decoder)]
        if self._averages:
            pairs.append((self.ema_encoder, self.ema_decoder))

        def forward(imgs):
            for encoder, decoder in pairs:
                decoder(encoder(imgs, training=True), training=True)

        with strategy_scope(self.strategy, "AAE"):
            return update_batch_norm_statistics(
                [net for pair in pairs for net in pair],
                forward,
                (x[i : i + size] for i in range(0, len(x) - size + 1, size)),
            )

    def generate(self, n):
        """Decodes `n` prior samples `z ~ N(0, I)`.

        Args:
            n: Positive integer, number of images.

        Returns:
            A float32 NumPy array `(n, img_size, img_size, channels)` in
            [-1, 1].
        """
        n = data_lib.check_int("n", n)
        return np.asarray(self._sample_fn(n))

    def sample_images(self, batches_done):
        """Writes a 10x10 grid of decoded prior samples to `sample_dir/<batches_done>.png`.

        Args:
            batches_done: Batch number used in the file name.

        Returns:
            The path of the PNG written.
        """
        path = os.path.join(self.sample_dir, f"{batches_done}.png")
        return viz.save_image_grid(self.generate(100), path, rows=10, cols=10)

    def _classic_step(self, imgs):
        # One classic iteration in one compiled call: the combined model's
        # own `train_step` (its losses, weights, metrics and optimizer), then
        # the discriminator's on prior samples against codes, each after
        # resetting its metrics: what two `train_on_batch` calls run, minus
        # their per-call Python overhead (the first trace builds the
        # metrics' and optimizers' variables, as train_on_batch would).
        def step(imgs):
            n = ops.shape(imgs)[0]
            for metric in self.combined.metrics:
                metric.reset_state()
            valid = ops.ones((n, 1), "float32")
            g = self.combined.train_step((imgs, {"reconstruction": imgs, "validity": valid}))
            # the codes the step just trained on (pre-update encoder,
            # training mode, its noise), as the document's D step reuses them
            codes = ops.stop_gradient(self.combined.last_codes)
            for average in self._averages:
                average.update()
            for metric in self.discriminator.metrics:
                metric.reset_state()
            d_labels = ops.concatenate([valid, ops.zeros((n, 1), "float32")], axis=0)
            d = self.discriminator.train_step((self._d_batch(codes), d_labels))
            logs = [d["loss"], d["accuracy"], g["loss"]]
            logs += [g["reconstruction_loss"], g["validity_loss"]]
            return ops.stack([ops.cast(v, "float32") for v in logs])

        # as train_on_batch runs a step: per replica, the mean of the logs
        logs = self.strategy.run(step, args=(imgs,))
        return self.strategy.reduce(tf.distribute.ReduceOp.MEAN, logs, axis=None)

    def _resolve_jit_compile(self, jit_compile):
        replicas = self.strategy.num_replicas_in_sync
        if jit_compile == "auto":
            return replicas == 1
        if not isinstance(jit_compile, bool):
            raise ValueError(
                f"jit_compile must be True, False or 'auto'. Received: jit_compile={jit_compile!r}"
            )
        if jit_compile and replicas > 1:
            raise ValueError(
                f"jit_compile=True needs one replica; this strategy has {replicas} (XLA "
                "cannot compile optimizers that all-reduce across replicas). "
                "Received: jit_compile=True"
            )
        return jit_compile

    def train_iteration(self, imgs, jit_compile=False):
        """Runs one batch of the document's loop.

        The generator step (encoder and decoder through `combined`, D
        frozen), then the discriminator step on prior samples (label 1)
        against the codes that step computed (label 0; the pre-update
        encoder in training mode, its noise, gradients stopped: the
        document's `encoded_imgs.detach()`): the two models' own
        `train_step`s (losses, loss weights, metrics, optimizers), each
        after resetting its metrics, as `train_on_batch` runs them, in one
        compiled call (with XLA the noise comes from XLA's generator, the
        same distribution but other draws).

        Args:
            imgs: float32 array `(batch, img_size, img_size, channels)` in
                [-1, 1].
            jit_compile: `True`, `False` or `"auto"` (XLA on one replica):
                compile the iteration with XLA. Defaults to `False`.

        Returns:
            A dict with `d_loss`, `d_acc`, `g_loss` and its two parts,
            `l1_loss` and `adv_loss` (before weighting).

        Raises:
            ValueError: for a bad `jit_compile`.
        """
        jit_compile = self._resolve_jit_compile(jit_compile)
        if jit_compile not in self._classic_fns:
            self._classic_fns[jit_compile] = tf.function(
                self._classic_step, jit_compile=jit_compile, reduce_retracing=True
            )
        logs = self._classic_fns[jit_compile](tf.convert_to_tensor(imgs))
        logs = np.asarray(logs).tolist()  # one transfer, not five
        self.iterations += 1
        # d_loss is the mean over both halves: 0.5 * (real + fake)
        return dict(zip(("d_loss", "d_acc", "g_loss", "l1_loss", "adv_loss"), logs))

    def train(
        self,
        epochs=200,
        batch_size=64,
        sample_interval=400,
        x_train=None,
        sample_dir="images",
        verbose=1,
        callbacks=None,
        checkpoint_dir=None,
        checkpoint_interval=1,
        keep_checkpoints=3,
        resume=False,
        jit_compile="auto",
        precise_batch_norm=True,
    ):
        """Trains with the document's loop: true epochs over shuffled data.

        Each epoch shuffles the images and visits them in batches of
        `batch_size` (the last one may be smaller, as the document's
        DataLoader gives it); each batch runs `train_iteration`. Every
        `sample_interval` batches, counted over the whole run from 0, a
        10x10 grid of decoded prior samples goes to
        `sample_dir/<batches_done>.png`. Calling `train()` again continues
        the batch count.

        Args:
            epochs: Positive integer, passes over the data. Defaults to `200`.
            batch_size: Positive integer. Defaults to `64`.
            sample_interval: Non-negative integer; `0` writes no grids.
                Defaults to `400`.
            x_train: Optional images (see `prepare`). Defaults to MNIST's
                training images resized to `img_size`.
            sample_dir: Directory for the grids. Defaults to `"images"`.
            verbose: `1` shows a progress bar per batch, `0` is silent.
            callbacks: Optional list of `keras.callbacks.Callback`, called
                after every batch (see `keras_gan.engine.run_loop`).
            checkpoint_dir: Optional directory for atomic checkpoints of the
                whole training state (see `keras_gan.checkpoint`), written at
                the end of every `checkpoint_interval`-th epoch and at the
                end.
            checkpoint_interval: Positive integer, in epochs. Defaults to `1`.
            keep_checkpoints: Positive integer, checkpoints kept. Defaults
                to `3`.
            resume: If `True`, continue from the latest checkpoint in
                `checkpoint_dir` (if there is one) with the same data and
                batch size; `epochs` is then the total length of the run.
            jit_compile: `"auto"` (the default: XLA on one replica, as
                Keras's `compile()`), `True` or `False`: compile each
                iteration with XLA (see `train_iteration`). The iteration is
                the same, but XLA draws its noise from its own generator, so
                only `False` repeats the numbers of `train_on_batch` calls
                exactly. Measured here: XLA ran a batch in 0.74x the time of
                `False`, 0.73x the document's PyTorch code's
                (`benchmarks/bench_aae.py`); mean test L1 after 10 epochs,
                seeds 0-2, 0.0745 with XLA, 0.0738 without (PyTorch:
                0.0756; `scripts/eval_aae.py`).
            precise_batch_norm: If `True` (the default), end by setting the
                BatchNorm statistics from `x_train` with the final weights
                (`update_batch_norm_statistics`): the document's moving
                averages put the test codes' means up to 0.25 off the
                prior's. The weights trained are the same either way.

        Returns:
            A `keras.callbacks.History` whose `history` holds the per-batch
            `d_loss`, `d_acc`, `g_loss`, `l1_loss` and `adv_loss`.

        Raises:
            ValueError: for non-positive `epochs` or `batch_size`, a negative
                `sample_interval`, bad images, fewer images than
                `batch_size`, or a bad `jit_compile`.
            keras_gan.engine.TrainingDivergedError: if a loss becomes NaN.
        """
        epochs = data_lib.check_int("epochs", epochs)
        batch_size = data_lib.check_int("batch_size", batch_size)
        sample_interval = data_lib.check_int("sample_interval", sample_interval, minimum=0)
        jit_compile = self._resolve_jit_compile(jit_compile)
        if x_train is None:
            (x_train, _), _ = data_lib.load_mnist()
        x = self.prepare(x_train, name="x_train")
        if batch_size > len(x):
            raise ValueError(
                f"batch_size must not exceed the number of images ({len(x)}). "
                f"Received: batch_size={batch_size}"
            )
        if sample_interval:
            data_lib.check_writable_dir(sample_dir, "sample_dir")
        checkpoint_interval, keep_checkpoints = check_checkpoint_args(
            checkpoint_dir, checkpoint_interval, keep_checkpoints, resume
        )
        self.sample_dir = os.fspath(sample_dir)
        steps = math.ceil(len(x) / batch_size)
        run_epochs = epochs  # with resume=True the total, of which `epochs` are left
        previous = None
        if resume:
            meta = self.restore_checkpoint(checkpoint_dir)
            if meta is not None:
                if meta.get("epochs") is not None:
                    raise ValueError(
                        f"The checkpoint in {str(checkpoint_dir)!r} comes from fit(), not "
                        "train(); resume it with fit(..., resume=True)."
                    )
                previous = meta["history"]
                self.epochs_trained = self.iterations // steps
                epochs = epochs - self.epochs_trained
                if epochs <= 0:  # the run is complete already
                    history = keras.callbacks.History()
                    history.history = previous
                    if precise_batch_norm:
                        self._update_batch_norm_statistics(x)
                    return history
        start = self.iterations
        self.set_run(epochs * steps, run_epochs * steps)
        order = None
        state = {}
        hooks = [(sample_interval, self.sample_images)]
        if checkpoint_dir is not None:

            def checkpoint(i):
                done = i - start + 1
                if done % steps == 0 and (done // steps) % checkpoint_interval == 0:
                    self.save_checkpoint(checkpoint_dir, state["history"].history, keep_checkpoints)

            hooks.append((1, checkpoint))

        def step(i):
            nonlocal order
            b = (i - start) % steps
            if b == 0:  # a new epoch: a new shuffle
                order = self._rng.permutation(len(x))
                if i > start:
                    self.epochs_trained += 1
            imgs = x[order[b * batch_size : (b + 1) * batch_size]]
            return self.train_iteration(imgs, jit_compile=jit_compile)

        history = run_loop(
            step,
            epochs * steps,
            start=start,
            history=previous,
            hooks=hooks,
            callbacks=callbacks,
            verbose=verbose,
            unit_name="batch",
            on_start=lambda h: state.update(history=h),
        )
        self.epochs_trained += 1
        if checkpoint_dir is not None and epochs % checkpoint_interval:
            self.save_checkpoint(checkpoint_dir, history.history, keep_checkpoints)
        if precise_batch_norm:
            self._update_batch_norm_statistics(x)
        return history

    def fit(
        self,
        x=None,
        epochs=1,
        batch_size=64,
        callbacks=None,
        steps_per_execution=1,
        jit_compile="auto",
        verbose="auto",
        checkpoint_dir=None,
        checkpoint_interval=1,
        keep_checkpoints=3,
        resume=False,
        precise_batch_norm=True,
        **kwargs,
    ):
        """Trains with Keras's `fit()`: one compiled AAE iteration per step.

        The iteration is `train_iteration`'s (autoencoder through the frozen
        D, then D on prior samples against codes), fused into one
        `train_step` of an `AAEAdversarial` sharing this object's networks,
        optimizers and noise streams. Batches have exactly `batch_size`
        images (each pass's remainder is dropped).

        Args:
            x: Optional images as for `train()`. Defaults to MNIST.
            epochs: Positive integer, passes over the data.
            batch_size: Positive integer. Defaults to `64`.
            callbacks: Optional list of Keras callbacks.
            steps_per_execution: Positive integer, iterations per compiled call.
            jit_compile: `True`, `False` or `"auto"`.
            verbose: As in `keras.Model.fit`.
            checkpoint_dir: Optional directory for atomic checkpoints, every
                `checkpoint_interval` epochs and at the end.
            checkpoint_interval: Positive integer, in epochs.
            keep_checkpoints: Positive integer.
            resume: Continue from the latest checkpoint; `epochs` is the total.
            precise_batch_norm: If `True` (the default), end by setting the
                BatchNorm statistics from `x` (see `train()`).
            **kwargs: Passed to `keras.Model.fit`.

        Returns:
            A `keras.callbacks.History` with the epoch means of `d_loss` and
            `g_loss`.

        Example:

        >>> aae = AAE(seed=0)
        >>> history = aae.fit(epochs=1)  # doctest: +SKIP
        """
        epochs = data_lib.check_int("epochs", epochs)
        batch_size = data_lib.check_int("batch_size", batch_size)
        steps_per_execution = data_lib.check_int("steps_per_execution", steps_per_execution)
        if x is None:
            (x, _), _ = data_lib.load_mnist()
        x = self.prepare(x, name="x")
        if batch_size > len(x):
            raise ValueError(
                f"batch_size must not exceed the number of images ({len(x)}). "
                f"Received: batch_size={batch_size}"
            )
        with strategy_scope(self.strategy, "AAE"):
            self.adversarial_model.compile(
                jit_compile=jit_compile,
                steps_per_execution=steps_per_execution,
            )
        if self._schedules:
            steps = len(x) // batch_size
            callbacks = [RunSchedule(self.set_run, epochs, steps), *(callbacks or [])]
        history = fit_adversarial(
            self,
            self.adversarial_model,
            x,
            epochs=epochs,
            batch_size=batch_size,
            callbacks=callbacks,
            verbose=verbose,
            checkpoint_dir=checkpoint_dir,
            checkpoint_interval=checkpoint_interval,
            keep_checkpoints=keep_checkpoints,
            resume=resume,
            **kwargs,
        )
        if precise_batch_norm:
            self._update_batch_norm_statistics(x)
        return history


def _check_weight(name, value):
    ok = (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
    if not ok:
        raise ValueError(f"{name} must be a non-negative finite number. Received: {name}={value!r}")
    return float(value)
