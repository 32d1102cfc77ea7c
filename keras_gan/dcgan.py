"""DCGAN: the deep convolutional GAN of the MNIST tutorial, on Keras 3."""

import os

import keras
import numpy as np
import tensorflow as tf

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
    r1_penalty,
    run_loop,
    strategy_scope,
    targets,
)
from keras_gan.layers import UpSamplingConv2D

# Named configurations. "document" is the tutorial exactly. "improved" keeps
# its networks and budget and changes what scripts/eval_dcgan_settings.py
# measured to help (README, "Measuring quality"): no dropout in D, real
# labels smoothed to 0.9 in D's step, both learning rates 4e-4, and samples
# drawn from an exponential moving average of G's weights. "improved-decay"
# (issue 8) is "improved" with both rates twice as high, 8e-4, falling
# linearly to zero over the last half of the run: at 4000 x 32, seed 0, it
# scored 8.35 (Frechet distance 9.4) against "improved"'s 8.14 (13.4), one
# seed. Decay at 4e-4 (8.10), also with D's batch norm removed (8.08), did
# not help; a 1.2e-3 peak scored 8.27. "improved-r1" (issue 8) is
# "improved-decay" plus an R1 gradient penalty on D's real images
# (`r1_gamma`, see `keras_gan.engine.r1_penalty`) of weight 0.3: through
# fit(), seeds 0-2, it scored 8.55 / 8.59 / 8.57 against gamma 1's
# 8.49 / 8.51 / 8.48 (gamma 3: 8.35, seed 0).
SETTINGS = {
    "document": {
        "dropout": 0.25,
        "label_smoothing": 0.0,
        "learning_rate": 2e-4,
        "ema_decay": None,
        "d_normalization": "batch",
        "lr_decay_fraction": 0.0,
        "r1_gamma": 0.0,
    },
    "improved": {
        "dropout": 0.0,
        "label_smoothing": 0.1,
        "learning_rate": 4e-4,
        "ema_decay": 0.995,
        "d_normalization": "batch",
        "lr_decay_fraction": 0.0,
        "r1_gamma": 0.0,
    },
    "improved-decay": {
        "dropout": 0.0,
        "label_smoothing": 0.1,
        "learning_rate": 8e-4,
        "ema_decay": 0.995,
        "d_normalization": "batch",
        "lr_decay_fraction": 0.5,
        "r1_gamma": 0.0,
    },
}
SETTINGS["improved-r1"] = {**SETTINGS["improved-decay"], "r1_gamma": 0.3}

# The discriminator's normalisation after its last three convolutions.
D_NORMALIZATIONS = ("batch", "layer", "none")


class DCGANAdversarial(AdversarialModel):
    """The DCGAN's fused iteration: the engine's default, plus the weight
    average of the generator updated after each generator step and, with
    `r1_gamma`, the R1 penalty in D's update on real images."""

    def __init__(self, *args, average=None, r1_gamma=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_averages = [] if average is None else [average]
        self.r1_gamma = float(r1_gamma)

    def discriminator_term(self, inputs, is_real):
        if not (is_real and self.r1_gamma):
            return super().discriminator_term(inputs, is_real)
        prediction, penalty = r1_penalty(self.discriminator, inputs, self.r1_gamma)
        return self.discriminator_term_loss(prediction, True) + penalty


class DCGAN(ScheduledRatesMixin, CheckpointMixin):
    """Deep convolutional GAN, layer for layer as the MNIST tutorial has it.

    The generator maps a latent vector to an image through a dense layer, two
    upsamplings and three convolutions; the discriminator is a four-layer
    strided CNN with a sigmoid output. Both use Adam(0.0002, beta_1=0.5) and
    binary cross-entropy; the discriminator reports accuracy.

    `train()` runs the tutorial's loop with `train_on_batch`: each iteration
    trains D on a random real batch (label 1) and a generated batch
    (label 0), then trains G through `combined` (z -> G -> frozen D) with
    label 1. `combined` trains the generator's weights only, whatever the
    `trainable` flags and whenever Keras traces (see
    `keras_gan.CombinedModel`).

    Args:
        latent_dim: Positive integer, dimensionality of the latent space.
            Defaults to `100`.
        img_shape: Tuple `(height, width, channels)` of the images. Height
            and width must be multiples of 4 (the generator starts at a
            quarter of the size and upsamples twice). Defaults to
            `(28, 28, 1)`.
        seed: Optional integer. When given, `keras.utils.set_random_seed` is
            called before the networks are built, and the training loop's
            batch choice and noise are seeded from it, so runs repeat.
        strategy: Optional `tf.distribute.Strategy` (e.g. `MirroredStrategy`
            over several GPUs). Networks, optimizers and the `fit()` model
            are created in its scope; the enclosing scope is used otherwise.
            The classic `train()` loop runs on one device.
        mixed_precision: If `True`, the networks compute in `mixed_float16`
            on a GPU (with dynamic loss scaling) or `mixed_bfloat16` on a
            CPU, keeping float32 weights, and float32 outputs (images and
            probabilities). Defaults to `False`.
        fast_upsampling: If `True`, each of the generator's
            `UpSampling2D()` + `Conv2D(..., 3, padding="same")` pairs is one
            `keras_gan.layers.UpSamplingConv2D`: the same function and
            weights (initialised alike), computed with 4/9 of the
            multiply-adds (see the README's Speed section); a saved
            generator then needs `keras_gan` imported to load. Defaults to
            `False`, the tutorial's layers.
        settings: `"document"` (the tutorial exactly, the default),
            `"improved"`, `"improved-decay"` or `"improved-r1"` (see
            `SETTINGS`): the defaults of the seven arguments below.
        dropout: Float in [0, 1), the rate of D's four Dropout layers
            (`0` leaves them out). Defaults to the settings' (`0.25`).
        label_smoothing: Float in [0, 0.5): D's target for real images is
            `1 - label_smoothing` (one-sided; G's target stays 1). Defaults
            to the settings' (`0`).
        learning_rate: Positive float, both Adam learning rates (beta_1
            0.5), the peak rate when `lr_decay_fraction` is set. Defaults
            to the settings' (`2e-4`).
        ema_decay: A float in [0, 1): above 0, keep an exponential moving
            average of G's variables (`ema_generator`), updated after every
            generator step, and sample from it in `generate()`,
            `save_imgs()` and `sampling_generator`; `0` keeps none. Defaults
            to the settings' (none for `"document"`, `0.995` for
            `"improved"`).
        d_normalization: What follows D's last three convolutions:
            `"batch"` (the tutorial's `BatchNormalization(momentum=0.8)`),
            `"layer"` (`LayerNormalization`, per image, so D's separate
            real and generated batches are normalised alike) or `"none"`.
            Defaults to the settings' (`"batch"`).
        lr_decay_fraction: Float in [0, 1]: both learning rates stay
            constant, then fall linearly to zero over the last this
            fraction of the iterations of every `train()` / `fit()` run
            (see `TailDecay`; with `resume=True` the run is the whole
            `epochs`). `0` keeps them constant. Defaults to the settings'
            (`0`; `0.5` for `"improved-decay"` and `"improved-r1"`).
        r1_gamma: Non-negative float: above 0, D's step on real images
            adds the R1 gradient penalty `r1_gamma / 2 * E||grad_x
            logit D(x)||^2` (`keras_gan.engine.r1_penalty`; one more
            backward pass through D per iteration); `0` adds none.
            Defaults to the settings' (`0`; `0.3` for `"improved-r1"`).

    Raises:
        ValueError: for a non-positive `latent_dim`, an `img_shape` that is
            not three positive integers with height and width multiples of
            4, an unknown `settings` name, an out-of-range setting, or a
            `mixed_precision` / `fast_upsampling` that is not a bool.

    Example:

    >>> from keras_gan import DCGAN
    >>> gan = DCGAN(seed=0)
    >>> history = gan.train(epochs=2, batch_size=8, save_interval=0, verbose=0)
    >>> gan.generate(4).shape
    (4, 28, 28, 1)
    """

    # configuration keys newer than the first DCGAN checkpoints, as those had
    # them: the tutorial's settings, in float32
    CONFIG_ADDED = {
        "mixed_precision": False,
        "fast_upsampling": False,
        "settings": "document",
        **SETTINGS["document"],
    }

    def __init__(
        self,
        latent_dim=100,
        img_shape=(28, 28, 1),
        seed=None,
        strategy=None,
        mixed_precision=False,
        fast_upsampling=False,
        settings="document",
        dropout=None,
        label_smoothing=None,
        learning_rate=None,
        ema_decay=None,
        d_normalization=None,
        lr_decay_fraction=None,
        r1_gamma=None,
    ):
        self.latent_dim = data_lib.check_int("latent_dim", latent_dim)
        self.img_shape = _check_img_shape(img_shape)
        data_lib.check_choice("settings", settings, SETTINGS)
        self.settings = settings
        chosen = SETTINGS[settings]
        self.dropout = data_lib.check_unit(
            "dropout", chosen["dropout"] if dropout is None else dropout, 1.0
        )
        self.label_smoothing = data_lib.check_unit(
            "label_smoothing",
            chosen["label_smoothing"] if label_smoothing is None else label_smoothing,
            0.5,
        )
        self.learning_rate = _check_positive(
            "learning_rate", chosen["learning_rate"] if learning_rate is None else learning_rate
        )
        ema_decay = chosen["ema_decay"] if ema_decay is None else ema_decay
        if ema_decay is not None:
            ema_decay = data_lib.check_unit("ema_decay", ema_decay, 1.0) or None  # 0: no average
        self.ema_decay = ema_decay
        d_normalization = chosen["d_normalization"] if d_normalization is None else d_normalization
        data_lib.check_choice("d_normalization", d_normalization, D_NORMALIZATIONS)
        self.d_normalization = d_normalization
        self.lr_decay_fraction = data_lib.check_fraction(
            "lr_decay_fraction",
            chosen["lr_decay_fraction"] if lr_decay_fraction is None else lr_decay_fraction,
        )
        self.r1_gamma = _check_positive(
            "r1_gamma", chosen["r1_gamma"] if r1_gamma is None else r1_gamma, zero=True
        )
        self.img_rows, self.img_cols, self.channels = self.img_shape
        if seed is not None:
            seed = data_lib.check_int("seed", seed, minimum=0)
            keras.utils.set_random_seed(seed)
        self.seed = seed
        self.iterations = 0  # iterations trained so far, across train() calls
        self.sample_dir = "images"
        self._rng = np.random.default_rng(seed)
        # Everything that holds variables is created in one distribution scope
        # (the one given, or the enclosing one), so fit() can run under it.
        self.strategy = strategy or tf.distribute.get_strategy()
        check_average_strategy(self.ema_decay, self.strategy, "the generator")
        self.mixed_precision = data_lib.check_bool("mixed_precision", mixed_precision)
        self.fast_upsampling = data_lib.check_bool("fast_upsampling", fast_upsampling)
        with strategy_scope(self.strategy, "DCGAN"), precision_policy(self.mixed_precision):
            self.seed_generator = keras.random.SeedGenerator(seed)
            self.discriminator = self.build_discriminator()
            # Rates: constant (the tutorial), or constant then falling to zero
            # at the end of each run (lr_decay_fraction; D steps twice an
            # iteration, on real then on generated images).
            self._schedules = []
            d_rate = g_rate = self.learning_rate
            if self.lr_decay_fraction:
                self._schedules = [TailDecay(self.learning_rate, 2), TailDecay(self.learning_rate)]
                d_rate, g_rate = self._schedules
            self.discriminator.compile(
                loss="binary_crossentropy",
                optimizer=keras.optimizers.Adam(d_rate, 0.5),
                metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
            )
            self.generator = self.build_generator()
            # The tutorial shares one Adam object between D and combined; a Keras
            # 3 optimizer belongs to one set of variables, so each gets its own.
            self.combined = CombinedModel(self.generator, self.discriminator, name="combined")
            self.combined.compile(
                loss="binary_crossentropy",
                optimizer=keras.optimizers.Adam(g_rate, 0.5),
            )
            self._average = (
                None if self.ema_decay is None else WeightAverage(self.generator, self.ema_decay)
            )
            self.adversarial_model = DCGANAdversarial(
                self.generator,
                self.discriminator,
                latent_dim=self.latent_dim,
                seed_generator=self.seed_generator,
                real_label=1.0 - self.label_smoothing,
                average=self._average,
                r1_gamma=self.r1_gamma,
                d_optimizer=self.discriminator.optimizer,
                g_optimizer=self.combined.optimizer,
                name="dcgan",
            )
        self._sample_fn = tf.function(self._sample, reduce_retracing=True)
        self._generate_fn = tf.function(self._generate, reduce_retracing=True)
        self._average_fn = None if self._average is None else tf.function(self._average.update)
        self._real_step_fn = tf.function(self._real_step, reduce_retracing=True)

    def get_config(self):
        """Returns the constructor arguments, as a JSON-serialisable dict."""
        return {
            "latent_dim": self.latent_dim,
            "img_shape": list(self.img_shape),
            "seed": self.seed,
            "mixed_precision": self.mixed_precision,
            "fast_upsampling": self.fast_upsampling,
            "settings": self.settings,
            "dropout": self.dropout,
            "label_smoothing": self.label_smoothing,
            "learning_rate": self.learning_rate,
            "ema_decay": self.ema_decay,
            "d_normalization": self.d_normalization,
            "lr_decay_fraction": self.lr_decay_fraction,
            "r1_gamma": self.r1_gamma,
        }

    @property
    def ema_generator(self):
        """The moving average of the generator (`None` without `ema_decay`)."""
        return None if self._average is None else self._average.average

    @property
    def sampling_generator(self):
        """The generator samples come from: `ema_generator` if there is one,
        else `generator`. Save this one to keep the trained result."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def networks(self):
        """Returns the networks a checkpoint holds, by name."""
        nets = {"generator": self.generator, "discriminator": self.discriminator}
        if self._average is not None:
            nets["ema_generator"] = self._average.average
        return nets

    def optimizers(self):
        """Returns name -> (optimizer, the variables it updates)."""
        return {
            "discriminator": (self.discriminator.optimizer, self.discriminator.trainable_weights),
            "generator": (self.combined.optimizer, self.combined.trainable_weights),
        }

    def build_generator(self):
        """Builds the generator: latent vector -> image in [-1, 1].

        Returns:
            A `keras.Sequential` named `"generator"`.
        """
        h, w = self.img_rows // 4, self.img_cols // 4
        return keras.Sequential(
            [
                keras.Input((self.latent_dim,)),
                keras.layers.Dense(128 * h * w, activation="relu"),
                keras.layers.Reshape((h, w, 128)),  # two upsamplings give H x W
                *self._upsampling_conv(128),
                keras.layers.BatchNormalization(momentum=0.8),
                keras.layers.Activation("relu"),
                *self._upsampling_conv(64),
                keras.layers.BatchNormalization(momentum=0.8),
                keras.layers.Activation("relu"),
                keras.layers.Conv2D(self.channels, kernel_size=3, padding="same"),
                keras.layers.Activation("tanh", dtype="float32"),  # float32 out
            ],
            name="generator",
        )

    def _upsampling_conv(self, filters):
        if self.fast_upsampling:  # the same function, fewer multiply-adds
            return [UpSamplingConv2D(filters)]
        return [
            keras.layers.UpSampling2D(),
            keras.layers.Conv2D(filters, kernel_size=3, padding="same"),
        ]

    def build_discriminator(self):
        """Builds the discriminator: image -> probability that it is real.

        Returns:
            A `keras.Sequential` named `"discriminator"`.
        """
        return keras.Sequential(
            [
                keras.Input(self.img_shape),
                keras.layers.Conv2D(32, kernel_size=3, strides=2, padding="same"),
                keras.layers.LeakyReLU(negative_slope=0.2),
                *self._dropout(),
                keras.layers.Conv2D(64, kernel_size=3, strides=2, padding="same"),
                keras.layers.ZeroPadding2D(padding=((0, 1), (0, 1))),
                *self._d_norm(),
                keras.layers.LeakyReLU(negative_slope=0.2),
                *self._dropout(),
                keras.layers.Conv2D(128, kernel_size=3, strides=2, padding="same"),
                *self._d_norm(),
                keras.layers.LeakyReLU(negative_slope=0.2),
                *self._dropout(),
                keras.layers.Conv2D(256, kernel_size=3, strides=1, padding="same"),
                *self._d_norm(),
                keras.layers.LeakyReLU(negative_slope=0.2),
                *self._dropout(),
                keras.layers.Flatten(),
                keras.layers.Dense(1, activation="sigmoid", dtype="float32"),
            ],
            name="discriminator",
        )

    def _d_norm(self):
        # the tutorial's BatchNormalization(momentum=0.8), or its replacement
        if self.d_normalization == "batch":
            return [keras.layers.BatchNormalization(momentum=0.8)]
        if self.d_normalization == "layer":
            return [keras.layers.LayerNormalization()]
        return []

    def _dropout(self):
        # the tutorial's Dropout(0.25); none at all for a rate of 0
        return [keras.layers.Dropout(self.dropout)] if self.dropout else []

    def _sample(self, n):
        # One compiled call draws the noise and runs G in inference mode, as
        # the tutorial's `generator.predict(noise)` does, without predict()'s
        # per-call data pipeline (~50 ms each in Keras 3).
        z = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        return z, self.generator(z, training=False)

    def _generate(self, n):
        z = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        return self.sampling_generator(z, training=False)

    def generate(self, n):
        """Generates `n` images from N(0, I) noise with `sampling_generator`.

        Args:
            n: Positive integer, number of images.

        Returns:
            A float32 NumPy array of shape `(n, *img_shape)` in [-1, 1].
        """
        n = data_lib.check_int("n", n)
        return np.asarray(self._generate_fn(n))

    def save_imgs(self, epoch):
        """Writes a 5x5 grid of generated images to `sample_dir/mnist_<epoch>.png`.

        Args:
            epoch: Iteration number used in the file name.

        Returns:
            The path of the PNG written.
        """
        path = os.path.join(self.sample_dir, f"mnist_{epoch}.png")
        return viz.save_image_grid(self.generate(25), path, rows=5, cols=5)

    def _real_step(self, imgs, target):
        # D's step on real images when they are not labelled 1 or carry the
        # R1 penalty: what `discriminator.train_on_batch(imgs, target)` runs
        # (its optimizer and binary cross-entropy), plus the penalty in the
        # loss, with the accuracy of the hard label: a real image counts as
        # recognised when D says above 0.5, whatever the smoothed target
        # (compiled accuracy compares against the target itself, so it never
        # counts a real image right under label smoothing). Returns the loss
        # (penalty included) and the accuracy.
        d = self.discriminator
        with tf.GradientTape() as tape:
            prediction, penalty = r1_penalty(d, imgs, self.r1_gamma)
            loss = keras.ops.mean(keras.losses.binary_crossentropy(target, prediction))
            loss = loss + penalty
            scaled = d.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, d.trainable_weights)
        d.optimizer.apply_gradients(zip(grads, d.trainable_weights))
        accuracy = keras.ops.mean(keras.ops.cast(prediction > 0.5, "float32"))
        return {"loss": loss, "accuracy": accuracy}

    def train_iteration(self, imgs):
        """Runs one iteration of the tutorial's loop on a batch of real images.

        Trains D on `imgs` (label 1) and on generated images (label 0), then G
        through `combined` on the same noise (label 1). With `r1_gamma`, D's
        step on `imgs` adds the R1 penalty; with `r1_gamma` or
        `label_smoothing` that step is one compiled step with D's optimizer
        and loss instead of `train_on_batch`, whose accuracy would compare
        D's thresholded output with the smoothed label (never equal).

        Args:
            imgs: float32 array `(batch, *img_shape)` in [-1, 1].

        Returns:
            A dict with `d_loss`, `d_acc` and `g_loss`.
        """
        n = len(imgs)
        valid, fake = targets(n, 1.0), targets(n, 0.0)
        noise, gen_imgs = self._sample_fn(n)
        real_target = valid if not self.label_smoothing else targets(n, 1.0 - self.label_smoothing)
        if self.r1_gamma or self.label_smoothing:
            logs = self._real_step_fn(imgs, real_target)
            d_real = {k: float(v) for k, v in logs.items()}  # as train_on_batch returns
        else:
            d_real = self.discriminator.train_on_batch(imgs, real_target, return_dict=True)
        d_fake = self.discriminator.train_on_batch(gen_imgs, fake, return_dict=True)
        g_loss = self.combined.train_on_batch(noise, valid, return_dict=True)
        if self._average_fn is not None:
            self._average_fn()
        self.iterations += 1
        return {
            "d_loss": 0.5 * (d_real["loss"] + d_fake["loss"]),
            "d_acc": 0.5 * (d_real["accuracy"] + d_fake["accuracy"]),
            "g_loss": g_loss["loss"],
        }

    def train(
        self,
        epochs,
        batch_size=128,
        save_interval=50,
        x_train=None,
        sample_dir="images",
        verbose=1,
        callbacks=None,
        checkpoint_dir=None,
        checkpoint_interval=100,
        keep_checkpoints=3,
        resume=False,
    ):
        """Trains with the tutorial's loop; an "epoch" is one iteration.

        Each iteration: draw a random real batch and N(0, I) noise, train D
        on the real batch (label 1) and on G's images (label 0), then train
        G through `combined` on the same noise with label 1. Every
        `save_interval` iterations (counting from 0) a 5x5 grid goes to
        `sample_dir/mnist_<iteration>.png`. Calling `train()` again
        continues the iteration count.

        Args:
            epochs: Positive integer, number of iterations to run.
            batch_size: Positive integer, images per batch. Defaults to `128`.
            save_interval: Non-negative integer; `0` saves no grids.
                Defaults to `50`.
            x_train: Optional images `(n, H, W[, C])` matching `img_shape`,
                uint8 in 0..255 or float in [-1, 1]. Defaults to MNIST's
                training images (see `keras_gan.data.load_mnist`).
            sample_dir: Directory for the grids. Defaults to `"images"`.
            verbose: `1` shows a progress bar with the losses, `0` is silent.
            callbacks: Optional list of `keras.callbacks.Callback`, called
                after every iteration (see `keras_gan.engine.run_loop`).
            checkpoint_dir: Optional directory for atomic checkpoints of the
                whole training state (see `keras_gan.checkpoint`).
            checkpoint_interval: Positive integer; a checkpoint is written
                every this many iterations and at the end. Defaults to `100`.
            keep_checkpoints: Positive integer, checkpoints kept. Defaults
                to `3`.
            resume: If `True`, continue from the latest checkpoint in
                `checkpoint_dir` (if there is one); `epochs` is then the
                total length of the run, so an interrupted run resumed with
                the same call ends where an uninterrupted one would.

        Returns:
            A `keras.callbacks.History` whose `history` holds the
            per-iteration `d_loss`, `d_acc` and `g_loss`.

        Raises:
            ValueError: for non-positive `epochs` or `batch_size`, a negative
                `save_interval`, images of the wrong shape or dtype, NaN or
                infinite pixels, or fewer images than `batch_size`.
            keras_gan.engine.TrainingDivergedError: if a loss becomes NaN.
        """
        epochs = data_lib.check_int("epochs", epochs)
        batch_size = data_lib.check_int("batch_size", batch_size)
        save_interval = data_lib.check_int("save_interval", save_interval, minimum=0)
        if x_train is None:
            (x_train, _), _ = data_lib.load_mnist()
        x = data_lib.prepare_images(x_train, self.img_shape)
        if batch_size > len(x):
            raise ValueError(
                f"batch_size must not exceed the number of images ({len(x)}). "
                f"Received: batch_size={batch_size}"
            )
        if save_interval:
            data_lib.check_writable_dir(sample_dir, "sample_dir")
        checkpoint_interval, keep_checkpoints = check_checkpoint_args(
            checkpoint_dir, checkpoint_interval, keep_checkpoints, resume
        )
        self.sample_dir = os.fspath(sample_dir)
        history, remaining = None, epochs
        if resume:
            meta = self.restore_checkpoint(checkpoint_dir)
            if meta is not None:
                history, remaining = meta["history"], epochs - self.iterations
        hooks = [(save_interval, self.save_imgs)]
        state = {}
        if checkpoint_dir is not None:
            hooks.append(
                (
                    checkpoint_interval,
                    lambda _: self.save_checkpoint(
                        checkpoint_dir, state["history"].history, keep_checkpoints
                    ),
                )
            )

        self.set_run(max(remaining, 0), epochs)

        def step(_):
            return self.train_iteration(x[self._rng.integers(0, len(x), batch_size)])

        result = run_loop(
            step,
            max(remaining, 0),
            start=self.iterations,
            history=history,
            hooks=hooks,
            callbacks=callbacks,
            verbose=verbose,
            on_start=lambda h: state.update(history=h),
        )
        if checkpoint_dir is not None and remaining > 0:
            self.save_checkpoint(checkpoint_dir, result.history, keep_checkpoints)
        return result

    def fit(
        self,
        x=None,
        epochs=1,
        batch_size=128,
        callbacks=None,
        steps_per_execution=1,
        jit_compile="auto",
        verbose="auto",
        checkpoint_dir=None,
        checkpoint_interval=1,
        keep_checkpoints=3,
        resume=False,
        **kwargs,
    ):
        """Trains with Keras's `fit()`: one compiled adversarial iteration per step.

        The iteration is the classic loop's (D on a real batch, D on a
        generated batch, G through the frozen D on the same noise), fused into
        one `train_step` of a `keras_gan.AdversarialModel` that shares this
        object's networks, optimizers and noise stream, so `train()` and
        `fit()` can be mixed. Unlike `train()`, an epoch here is a full pass
        over the shuffled data.

        Args:
            x: Optional images as for `train()`. Defaults to MNIST.
            epochs: Positive integer, passes over the data. Defaults to `1`.
            batch_size: Positive integer. Defaults to `128`.
            callbacks: Optional list of Keras callbacks (CSVLogger,
                TensorBoard, `BackupAndRestore`, which resumes a killed run
                bit for bit, `ModelCheckpoint(save_weights_only=True)`,
                whose files `adversarial_model.load_weights()` reads,
                `keras_gan` sample writers, ...).
            steps_per_execution: Positive integer, iterations per compiled
                call. Defaults to `1`.
            jit_compile: `True`, `False` or `"auto"` (XLA when every layer
                supports it). Defaults to `"auto"`.
            verbose: As in `keras.Model.fit`.
            checkpoint_dir: Optional directory for atomic checkpoints of the
                whole training state, every `checkpoint_interval` epochs
                and at the end.
            checkpoint_interval: Positive integer, in epochs. Defaults to `1`.
            keep_checkpoints: Positive integer. Defaults to `3`.
            resume: If `True`, continue from the latest checkpoint in
                `checkpoint_dir`; `epochs` is then the total.
            **kwargs: Passed to `keras.Model.fit`.

        Returns:
            A `keras.callbacks.History` with the epoch means of `d_loss` and
            `g_loss`.

        Raises:
            ValueError: for bad sizes or images, as `train()`.

        Example:

        >>> gan = DCGAN(seed=0)
        >>> history = gan.fit(epochs=1, batch_size=64)  # doctest: +SKIP
        """
        epochs = data_lib.check_int("epochs", epochs)
        batch_size = data_lib.check_int("batch_size", batch_size)
        steps_per_execution = data_lib.check_int("steps_per_execution", steps_per_execution)
        if x is None:
            (x, _), _ = data_lib.load_mnist()
        x = data_lib.prepare_images(x, self.img_shape, name="x")
        if batch_size > len(x):
            raise ValueError(
                f"batch_size must not exceed the number of images ({len(x)}). "
                f"Received: batch_size={batch_size}"
            )
        model = self.adversarial_model
        if self._schedules:
            steps = len(x) // batch_size
            callbacks = [RunSchedule(self.set_run, epochs, steps), *(callbacks or [])]
        with strategy_scope(self.strategy, "DCGAN"):
            model.compile(
                jit_compile=jit_compile,
                steps_per_execution=steps_per_execution,
            )
        return fit_adversarial(
            self,
            model,
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


def _check_positive(name, value, zero=False):
    # a finite number above 0 (or at least 0, with zero=True)
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if not ok or not np.isfinite(value) or value < 0 or (value == 0 and not zero):
        kind = "non-negative" if zero else "positive"
        raise ValueError(f"{name} must be a {kind} number. Received: {name}={value!r}")
    return float(value)


def _check_img_shape(img_shape):
    try:
        shape = tuple(img_shape)
    except TypeError:
        shape = None
    ok = (
        shape is not None
        and len(shape) == 3
        and all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape
        )
    )
    if not ok:
        raise ValueError(
            "img_shape must be three positive integers (height, width, channels). "
            f"Received: img_shape={img_shape!r}"
        )
    if shape[0] % 4 or shape[1] % 4:
        raise ValueError(
            "img_shape's height and width must be multiples of 4 (the generator "
            "starts at a quarter of the size and upsamples twice), e.g. 28, 32, "
            f"64. Received: img_shape={shape}"
        )
    return tuple(int(d) for d in shape)
