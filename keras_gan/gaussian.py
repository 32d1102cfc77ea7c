"""GaussianGAN: the "world's lamest" GAN fitting a 2-D Gaussian, two variants.

Variant `"bce"` is the d2l chapter (one sigmoid unit, binary cross-entropy,
Adam 0.05 / 0.005); variant `"softmax"` is the PyTorch port of the same
tutorial with a two-way softmax and categorical cross-entropy (Adam 0.05 /
0.01; 0.05 / 0.005 with the default "stable" settings). `train()` uses
DCGAN's machinery: `train_on_batch` on the discriminator, then on
`CombinedModel` (z -> G -> frozen D), one compiled function per model.
`fit()` runs the same iteration fused into one `train_step` of
`GaussianAdversarial` (a configuration of
`keras_gan.engine.AdversarialModel`). Both paths checkpoint and resume
through `keras_gan.engine.CheckpointMixin`.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gan import data as data_lib
from keras_gan.engine import (
    AdversarialModel,
    CheckpointMixin,
    CombinedModel,
    RunSchedule,
    TailDecay,
    check_checkpoint_args,
    fit_adversarial,
    run_loop,
    set_schedules_run,
    strategy_scope,
)

# Per variant: the document's learning rates, the loss, and the weight that
# turns Keras's mean over the concatenated real+fake batch into the
# document's D loss. d2l: (mean_real + mean_fake) / 2 == mean of the
# concatenation (both halves have the batch's size); softmax document:
# loss_fake + loss_real == 2 x that mean.
VARIANTS = {
    "bce": {"lr_d": 0.05, "lr_g": 0.005, "d_loss_weight": 1.0},
    "softmax": {"lr_d": 0.05, "lr_g": 0.01, "d_loss_weight": 2.0},
}

# Training settings (the `settings` argument). "document": the documents'
# exactly (weights N(0, 0.02) and zero biases, Adam beta_1 = 0.9, constant
# rates). "stable" (the default): the same networks, losses, batch and
# budget, with PyTorch's default nn.Linear initialisation (kernel and bias
# U(-1/sqrt(fan_in), 1/sqrt(fan_in))), Adam without momentum (beta_1 = 0)
# and both rates falling linearly to zero over the last three quarters of
# each run (issue 7; numbers in the class docstring and README). "lr_g"
# overrides a variant's default G rate: "stable" gives "softmax" the d2l
# rate 0.005 instead of its document's 0.01 (40 seeds, median max |cov -
# AᵀA| 0.180 train() / 0.188 fit() against 0.23-0.25 at 0.01).
SETTINGS = {
    "document": {"init": "normal", "beta_1": 0.9, "decay_fraction": 0.0, "lr_g": {}},
    "stable": {
        "init": "pytorch",
        "beta_1": 0.0,
        "decay_fraction": 0.75,
        "lr_g": {"softmax": 0.005},
    },
}


class GaussianAdversarial(AdversarialModel):
    """GaussianGAN's iteration as one fused `train_step` (for `GaussianGAN.fit()`).

    Per step: draw `z ~ N(0, I)` for the batch from the shared seed
    generator; ONE discriminator update on `w · (loss(D(real), real) +
    loss(D(G(z)), fake))` with `w = d_loss_weight / 2` (so `(loss_real +
    loss_fake) / 2` for `"bce"`, `loss_real + loss_fake` for `"softmax"`,
    the documents' D losses and exactly what the classic step's one
    `train_on_batch` on `[real; G(z)]` minimises); then one generator update
    on the same `z` through the frozen D (label real).

    Args:
        gan: The `GaussianGAN` whose networks, loss and noise stream it uses.
        **kwargs: Passed to `keras.Model` (e.g. `name`).
    """

    def __init__(self, gan, **kwargs):
        super().__init__(
            gan.generator,
            gan.discriminator,
            latent_dim=gan.latent_dim,
            seed_generator=gan.seed_generator,
            d_optimizer=gan.d_optimizer,
            g_optimizer=gan.g_optimizer,
            **kwargs,
        )
        self.variant = gan.variant
        self.loss_fn = gan.loss
        self.half_weight = gan.d_loss_weight / 2

    def discriminator_updates(self, real, state):
        w = self.half_weight
        return [[(real, True, w), (state["fake"], False, w)]]

    def adversarial_loss(self, prediction, is_real):
        if self.variant == "bce":  # (n, 1) probabilities of real
            target = tf.ones_like(prediction) if is_real else tf.zeros_like(prediction)
        else:  # (n, 2) probabilities [fake, real]: class index 1 = real
            n = tf.shape(prediction)[:1]
            target = tf.fill(n, 1 if is_real else 0)
        return self.loss_fn(target, prediction)


class GaussianGAN(CheckpointMixin):
    """A linear generator against a 2-5-3 tanh MLP, fitting `X·A + b`.

    The generator is one `Dense(data_dim)` (Gaussian noise through a linear
    map is exactly a Gaussian, so it only has to learn `A` and `b`); the
    discriminator is `Dense(5, tanh) -> Dense(3, tanh) -> output` (with
    `settings="document"` all weights N(0, 0.02) and biases zero, as in the
    d2l document). Variant
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
    units saturate. Per-seed numbers: scripts/eval_gaussian_quality.py
    (`train()`) and scripts/eval_gaussian_fit.py (`fit()`), both with
    `--settings`.

    The default, `settings="stable"`, keeps the networks, losses, batch
    and the 20-epoch budget, and changes three things (`SETTINGS`):
    PyTorch's default `nn.Linear` initialisation (kernel and bias
    `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`), Adam without momentum
    (`beta_1=0`), and both rates falling linearly to zero over the last
    three quarters of each `train()` / `fit()` run (of the whole run when
    resumed). Stalls (the 2-5-3 D collapsing to a constant, so G gets no
    gradient) become rare and the end of the run stops drifting. For
    `"softmax"` it also halves G's rate to the d2l document's `0.005`: at
    its document's `0.01` G keeps drifting away from the target covariance
    in mid-run while D sits at chance, and the median error over seeds 0-39
    is about the target itself (0.23-0.25), at `0.005` 0.180 (`train()`) /
    0.188 (`fit()`). Median max |mean - b| / max |cov - AᵀA| over seeds
    0-19, `train()`: 0.088 / 0.163 ("bce") and 0.083 / 0.165 ("softmax"),
    against the d2l PyTorch code's 0.171 / 0.226 (README has every figure,
    with the documents' settings').
    `settings="document"` is the documents' settings exactly.

    Two training paths share the networks and optimizers, so they can be
    mixed: `train()`, the documents' loop with NumPy noise (in order, last
    batch possibly smaller), and `fit()`, the same iteration as one compiled
    Keras `train_step` with noise from `seed_generator` (shuffled batches of
    exactly `batch_size` rows). Both write and resume atomic checkpoints.

    Args:
        variant: `"bce"` (d2l) or `"softmax"`. Defaults to `"bce"`.
        latent_dim: Positive integer, noise dimensionality. Defaults to `2`.
        data_dim: Positive integer, dimensionality `d` of the data. Defaults
            to `2`.
        lr_d: Positive float, the discriminator's Adam learning rate.
            Defaults to the variant's (`0.05` for both).
        lr_g: Positive float, the generator's Adam learning rate. Defaults
            to `0.005`, except for `"softmax"` with `settings="document"`:
            `0.01`, its document's rate (see `SETTINGS`).
        seed: Optional non-negative integer. Seeds the weights
            (`keras.utils.set_random_seed`), the default data, the noise of
            both training paths and `fit()`'s shuffling, so runs repeat.
        settings: `"stable"` (see above) or `"document"` (the documents'
            N(0, 0.02) init, Adam `beta_1=0.9`, constant rates). Defaults
            to `"stable"`.
        strategy: Optional `tf.distribute.Strategy` (e.g.
            `MirroredStrategy`): networks, optimizers and the `fit()` model
            are created in its scope, and `fit()` runs under it; the
            enclosing scope is used otherwise. `train()` runs on one device.

    Raises:
        ValueError: for an unknown variant or settings, non-positive sizes
            or learning rates; the message shows what was received.

    Example:

    >>> from keras_gan import GaussianGAN
    >>> gan = GaussianGAN("bce", seed=0)
    >>> history = gan.train(epochs=2, verbose=0)
    >>> gan.generate(5).shape
    (5, 2)
    """

    def __init__(
        self,
        variant="bce",
        latent_dim=2,
        data_dim=2,
        lr_d=None,
        lr_g=None,
        seed=None,
        settings="stable",
        strategy=None,
    ):
        data_lib.check_choice("variant", variant, VARIANTS)
        data_lib.check_choice("settings", settings, SETTINGS)
        self.variant = variant
        self.settings = settings
        self._settings = SETTINGS[settings]
        self.latent_dim = data_lib.check_int("latent_dim", latent_dim)
        self.data_dim = data_lib.check_int("data_dim", data_dim)
        settings = VARIANTS[variant]
        if lr_g is None:
            lr_g = self._settings["lr_g"].get(variant, settings["lr_g"])
        self.lr_d = _check_rate("lr_d", settings["lr_d"] if lr_d is None else lr_d)
        self.lr_g = _check_rate("lr_g", lr_g)
        if seed is not None:
            seed = data_lib.check_int("seed", seed, minimum=0)
            keras.utils.set_random_seed(seed)
        self.seed = seed
        self.epochs = 0  # train() epochs so far, across calls (checkpointed)
        self._rng = np.random.default_rng(seed)  # train()'s noise
        self._sample_rng = np.random.default_rng(None if seed is None else [seed, 1])
        # Everything holding variables is created in one distribution scope
        # (the one given, or the enclosing one): fit() runs under it, train()
        # on one device.
        self.strategy = strategy or tf.distribute.get_strategy()
        with strategy_scope(self.strategy, "GaussianGAN"):
            self._build(VARIANTS[variant])
        self._labels = {}
        self._fit_compiled = None  # (jit_compile, steps_per_execution) last compiled

    def _build(self, variant_settings):
        self.generator = self.build_generator()
        self.discriminator = self.build_discriminator()
        # fit()'s noise, a stream of its own (train() keeps NumPy's _rng).
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.loss = (
            keras.losses.BinaryCrossentropy()
            if self.variant == "bce"
            else keras.losses.SparseCategoricalCrossentropy()
        )
        self.d_loss_weight = variant_settings["d_loss_weight"]
        beta_1, self._schedules = self._settings["beta_1"], []
        if self._settings["decay_fraction"]:
            self._schedules = [TailDecay(self.lr_d), TailDecay(self.lr_g)]
            rates = self._schedules
        else:
            rates = [self.lr_d, self.lr_g]
        self.d_optimizer = keras.optimizers.Adam(rates[0], beta_1=beta_1, epsilon=1e-8)
        self.g_optimizer = keras.optimizers.Adam(rates[1], beta_1=beta_1, epsilon=1e-8)
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
        self.adversarial_model = GaussianAdversarial(self, name=f"gaussian_{self.variant}")

    # --------------------------------------------------------- checkpoints

    @property
    def iterations(self):
        """The classic loop's counter that checkpoints hold.

        `train()`'s loop counts epochs (one `run_loop` step is one pass over
        the data), so this is `epochs`; setting it sets `epochs`.
        """
        return self.epochs

    @iterations.setter
    def iterations(self, value):
        self.epochs = int(value)

    def get_config(self):
        """Returns the constructor arguments, as a JSON-serialisable dict."""
        return {
            "variant": self.variant,
            "latent_dim": self.latent_dim,
            "data_dim": self.data_dim,
            "lr_d": self.lr_d,
            "lr_g": self.lr_g,
            "seed": self.seed,
            "settings": self.settings,
        }

    def networks(self):
        """Returns the networks a checkpoint holds, by name."""
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimizers(self):
        """Returns name -> (optimizer, the variables it updates)."""
        return {
            "discriminator": (self.d_optimizer, self.discriminator.trainable_weights),
            "generator": (self.g_optimizer, self.combined.trainable_weights),
        }

    def _dense(self, fan_in, units, activation=None):
        """A `Dense` initialised as the settings say (see `SETTINGS`)."""
        if self._settings["init"] == "normal":  # the documents: N(0, 0.02), zero bias
            kernel, bias = keras.initializers.RandomNormal(0.0, 0.02), "zeros"
        else:  # PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both
            bound = 1.0 / math.sqrt(fan_in)
            kernel = keras.initializers.RandomUniform(-bound, bound)
            bias = keras.initializers.RandomUniform(-bound, bound)
        return keras.layers.Dense(
            units, activation=activation, kernel_initializer=kernel, bias_initializer=bias
        )

    def _set_run(self, remaining_steps, run_steps):
        """Points the "stable" rate schedules at a run of `run_steps` steps.

        The run ends `remaining_steps` optimizer steps from now; the rates
        decay over its last `decay_fraction` (see `SETTINGS`). No-op for
        `"document"`.
        """
        set_schedules_run(
            self._schedules,
            (self.d_optimizer, self.g_optimizer),
            remaining_steps,
            run_steps,
            self._settings["decay_fraction"],
        )

    def build_generator(self):
        """Builds the generator: one linear `Dense(data_dim)`.

        Returns:
            A `keras.Sequential` named `"generator"`.
        """
        return keras.Sequential(
            [
                keras.Input((self.latent_dim,)),
                self._dense(self.latent_dim, self.data_dim),
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
            self._dense(3, 1, "sigmoid") if self.variant == "bce" else self._dense(3, 2, "softmax")
        )
        return keras.Sequential(
            [
                keras.Input((self.data_dim,)),
                self._dense(self.data_dim, 5, "tanh"),
                self._dense(5, 3, "tanh"),
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

    def train(
        self,
        data=None,
        epochs=20,
        batch_size=8,
        verbose=1,
        callbacks=None,
        checkpoint_dir=None,
        checkpoint_interval=1,
        keep_checkpoints=3,
        resume=False,
    ):
        """Trains as the documents do: in order, batch by batch, for epochs.

        Batches are taken in order without shuffling (the d2l document's
        `DataLoader(data, batch_size)`); the last batch of an epoch may be
        smaller. Each batch gets fresh N(0, I) noise used by both steps.
        Calling `train()` again continues the epoch count.

        Args:
            data: Optional real data `(n, data_dim)`, integer or float.
                Defaults to `keras_gan.data.gaussian_2d(1000, seed=seed)`.
            epochs: Positive integer, passes over the data. Defaults to `20`.
                With `resume=True`, the total length of the run.
            batch_size: Positive integer, rows per batch, at most `n`.
                Defaults to `8`.
            verbose: `1` shows a progress bar per epoch, `0` is silent.
            callbacks: Optional list of `keras.callbacks.Callback`, called
                after every epoch (see `keras_gan.engine.run_loop`).
            checkpoint_dir: Optional directory for atomic checkpoints of the
                whole training state (networks, optimizers, the noise
                generator's state, the epoch counter, history and
                configuration; see `keras_gan.checkpoint`).
            checkpoint_interval: Positive integer; a checkpoint is written
                when `epochs` reaches a multiple of it, and at the end.
                Defaults to `1`.
            keep_checkpoints: Positive integer, checkpoints kept. Defaults
                to `3`.
            resume: If `True`, continue from the latest checkpoint in
                `checkpoint_dir` (if there is one); `epochs` is then the
                total, so an interrupted run resumed with the same call ends
                where an uninterrupted one would.

        Returns:
            A `keras.callbacks.History` whose `history` holds the mean
            `d_loss` and `g_loss` of each epoch (of the whole run when
            resumed).

        Raises:
            ValueError: for non-positive `epochs`, `batch_size`,
                `checkpoint_interval` or `keep_checkpoints`, data of a wrong
                shape or dtype, with NaN or infinite values, or with fewer
                rows than `batch_size`; `resume=True` without a
                `checkpoint_dir`; a checkpoint of another model,
                configuration, or written by `fit()`.
            keras_gan.engine.TrainingDivergedError: if a loss becomes NaN;
                the message names the epoch.
        """
        epochs = data_lib.check_int("epochs", epochs)
        batch_size = data_lib.check_int("batch_size", batch_size)
        checkpoint_interval, keep_checkpoints = check_checkpoint_args(
            checkpoint_dir, checkpoint_interval, keep_checkpoints, resume
        )
        if data is None:
            data = data_lib.gaussian_2d(seed=self.seed)
        x = data_lib.prepare_points(data, self.data_dim, name="data", min_rows=batch_size)
        starts = range(0, len(x), batch_size)
        history, remaining = None, epochs
        if resume:
            meta = self.restore_checkpoint(checkpoint_dir, entry="train()")
            if meta is not None:
                history, remaining = meta["history"], epochs - self.epochs
        self._set_run(max(remaining, 0) * len(starts), epochs * len(starts))

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

        state = {}
        hooks = []
        if checkpoint_dir is not None:

            def save(i):  # after epoch i (from 0): at epochs N, 2N, ... as counted by `epochs`
                if (i + 1) % checkpoint_interval == 0:
                    self.save_checkpoint(checkpoint_dir, state["history"].history, keep_checkpoints)

            hooks.append((1, save))
        result = run_loop(
            epoch,
            max(remaining, 0),
            start=self.epochs,
            history=history,
            hooks=hooks,
            callbacks=callbacks,
            verbose=verbose,
            unit_name="epoch",
            on_start=lambda h: state.update(history=h),
        )
        if checkpoint_dir is not None and remaining > 0 and self.epochs % checkpoint_interval:
            self.save_checkpoint(checkpoint_dir, result.history, keep_checkpoints)
        return result

    def fit(
        self,
        x=None,
        epochs=1,
        batch_size=8,
        callbacks=None,
        steps_per_execution=1,
        jit_compile="auto",
        verbose="auto",
        checkpoint_dir=None,
        checkpoint_interval=1,
        keep_checkpoints=3,
        resume=False,
        shuffle=False,
        **kwargs,
    ):
        """Trains with Keras's `fit()`: one compiled iteration per step.

        The iteration is `train_iteration`'s (ONE D update on the real batch
        and `G(z)`, then one G update through the frozen D on the same `z`),
        fused into one `train_step` of a `GaussianAdversarial` that shares
        this object's networks and optimizers, so `train()` and `fit()` can
        be mixed. Batches come in order, as in `train()` and the documents'
        `DataLoader` (`shuffle=True` reshuffles every epoch, seeded by
        `seed`). Differences from `train()`: every batch has exactly
        `batch_size` rows (each epoch's remainder, `n % batch_size` rows, is
        dropped, so one compiled step serves every batch); the noise comes
        from `seed_generator` instead of NumPy.

        Args:
            x: Optional real data `(n, data_dim)` as for `train()`. Defaults
                to `keras_gan.data.gaussian_2d(1000, seed=seed)`.
            epochs: Positive integer, passes over the data. Defaults to `1`.
                With `resume=True`, the total length of the run.
            batch_size: Positive integer, rows per batch, at most `n`.
                Defaults to `8`.
            callbacks: Optional list of Keras callbacks.
            steps_per_execution: Positive integer, iterations per compiled
                call (e.g. `n // batch_size`: one call per epoch). Defaults
                to `1`.
            jit_compile: `True`, `False` or `"auto"` (XLA when every layer
                supports it). Defaults to `"auto"`.
            verbose: As in `keras.Model.fit`.
            checkpoint_dir: Optional directory for atomic checkpoints of the
                whole training state, every `checkpoint_interval` epochs and
                at the end.
            checkpoint_interval: Positive integer, in epochs. Defaults to `1`.
            keep_checkpoints: Positive integer. Defaults to `3`.
            resume: If `True`, continue from the latest checkpoint in
                `checkpoint_dir`; `epochs` is then the total.
            shuffle: If `True`, reshuffle the rows every epoch. Defaults to
                `False`, the documents' order: with the default settings,
                over 20 seeds, the bce variant ended at a median covariance
                error of 0.170 in order against 0.298 shuffled (softmax:
                0.188 against 0.127; README).
            **kwargs: Passed to `keras.Model.fit`.

        Returns:
            A `keras.callbacks.History` with the epoch means of `d_loss` and
            `g_loss`.

        Raises:
            ValueError: for bad sizes or data, as `train()`; a checkpoint of
                another model, configuration, or written by `train()`.
            keras_gan.engine.TrainingDivergedError: if a loss becomes NaN;
                the message names the batch and epoch.

        Example:

        >>> gan = GaussianGAN("softmax", seed=0)
        >>> history = gan.fit(epochs=2, steps_per_execution=125, verbose=0)
        >>> len(history.history["g_loss"])
        2
        """
        epochs = data_lib.check_int("epochs", epochs)
        batch_size = data_lib.check_int("batch_size", batch_size)
        steps_per_execution = data_lib.check_int("steps_per_execution", steps_per_execution)
        if x is None:
            x = data_lib.gaussian_2d(seed=self.seed)
        x = data_lib.prepare_points(x, self.data_dim, name="x", min_rows=batch_size)
        model = self.adversarial_model
        # Compile once per setting: compile() drops the traced train function,
        # and a retrace (XLA included) costs more than a short fit().
        key = (jit_compile, steps_per_execution)
        if self._fit_compiled != key:
            with strategy_scope(self.strategy, "GaussianGAN"):
                model.compile(
                    jit_compile=jit_compile,
                    steps_per_execution=steps_per_execution,
                )
            self._fit_compiled = key
        if self._schedules:
            steps = len(x) // batch_size
            callbacks = [RunSchedule(self._set_run, epochs, steps), *(callbacks or [])]
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
            shuffle=shuffle,
            **kwargs,
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
