"""The adversarial machinery, written once for every model family.

- `call_frozen(model, x)`: run a network in training mode with nothing in it
  updated (the tutorials' frozen discriminator).
- `CombinedModel`: the "combined" model of the classic tutorials
  (z -> generator -> frozen discriminator) whose trainable weights are the
  generator's only, so freezing does not depend on when `trainable` flags
  were set or when Keras traces its train function.
- `run_loop`: the classic loop's scaffolding (progress bar, history,
  periodic hooks, divergence check).

- `AdversarialModel`: the Keras 3 idiom, one compiled adversarial iteration
  per `train_step` for `fit()`; families configure it (which D updates, which
  generator loss, `loop_unroll` for many small updates), they do not copy it.
- `update_batch_norm_statistics`: BatchNorm statistics averaged with the
  final weights, for inference ("precise BatchNorm").

The engine knows no model family: families pass networks and step functions.
"""

import contextlib
import json
import math
import os

import keras
import numpy as np
import tensorflow as tf

from keras_gan import checkpoint as ckpt
from keras_gan.data import check_int, check_writable_dir


class TrainingDivergedError(FloatingPointError):
    """Raised when a loss becomes NaN or infinite during training."""


def call_frozen(model, inputs, training=None):
    """Calls `model` as a frozen network: it computes, but nothing in it changes.

    This is what the tutorials' `D.trainable = False` meant when they were
    written (Keras 2.x) and what PyTorch's G step does: the discriminator runs
    in training mode — BatchNormalization normalises with the batch's own
    statistics, Dropout is active — so the generator is trained against the
    same function the discriminator's own step sees, but no weight and no
    moving statistic is updated. Only random-seed state advances, so dropout
    masks differ between calls.

    (Keras 3's `trainable=False` would instead switch BatchNormalization to
    its moving statistics: the generator then learns to fool a different
    function than the one being trained, and on the DCGAN tutorial the run
    collapses within ~1,500 iterations; measured here.)

    Args:
        model: A built Keras model.
        inputs: Its inputs.
        training: Passed to the model's call.

    Returns:
        The model's outputs; gradients flow to `inputs`.
    """
    outputs, updated = model.stateless_call(
        model.trainable_variables, model.non_trainable_variables, inputs, training=training
    )
    held = {id(w) for w in model.non_trainable_weights}  # BN statistics stay
    for variable, value in zip(model.non_trainable_variables, updated):
        if id(variable) not in held:  # seed generator states advance
            variable.assign(value)
    return outputs


@contextlib.contextmanager
def precision_policy(mixed):
    """Within the block, new layers and compiled models use mixed precision.

    `mixed_float16` where a GPU is visible (Keras's `compile()` then wraps
    optimizers in a `LossScaleOptimizer`), `mixed_bfloat16` on CPUs (no loss
    scaling needed); the previous global policy is restored on exit.

    Args:
        mixed: Bool; `False` leaves the policy as it is.
    """
    if not mixed:
        yield
        return
    previous = keras.config.dtype_policy()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    keras.config.set_dtype_policy("mixed_float16" if gpu else "mixed_bfloat16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def strategy_scope(strategy, owner):
    """`strategy.scope()`, refusing to open inside another strategy's scope.

    TensorFlow raises "Must not nest tf.distribute.Strategy scopes" from
    deep inside; this says which model is involved and what to do.

    Args:
        strategy: The `tf.distribute.Strategy` the model belongs to.
        owner: How the error names the model, e.g. `"AAE"`.

    Returns:
        The strategy's scope, a context manager.

    Raises:
        ValueError: inside the scope of a different strategy.
    """
    current = tf.distribute.get_strategy()
    if tf.distribute.has_strategy() and current is not strategy:
        mine = type(strategy).__name__
        if mine == "_DefaultDistributionStrategy":  # what get_strategy() gives outside scopes
            mine = "one device (no strategy)"
        raise ValueError(
            f"{owner} was not built in the scope of the {type(current).__name__} it is used "
            f"in: it runs on {mine}. Build it with `strategy=` that strategy (or inside its "
            "scope) to train under it, or use it outside the other scope."
        )
    return strategy.scope()


def replica_seed(seed_generator):
    """The next stateless seed of a Keras `SeedGenerator`, per replica.

    On one device this is exactly the seed `keras.random.*(..., seed=
    seed_generator)` draws with. Under a `tf.distribute` strategy every
    replica reads the same generator state, so the replica's id is folded
    into the seed: replicas draw independent numbers, and replica 0 the
    single-device ones.

    Args:
        seed_generator: A `keras.random.SeedGenerator` (advanced by one draw).

    Returns:
        An int32 tensor of shape `(2,)` for `tf.random.stateless_*`.
    """
    seed = seed_generator.next()
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
        seed = seed + tf.stack([tf.zeros_like(replica), replica])
    if seed.dtype != tf.int32:  # as Keras's TensorFlow backend casts seeds
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
    return seed


def replica_normal(shape, seed_generator, mean=0.0, stddev=1.0, dtype=None):
    """Normal noise from a Keras `SeedGenerator`, different on every replica.

    Draws what `keras.random.normal(shape, mean, stddev, seed=seed_generator)`
    draws on one device; see `replica_seed` for several replicas.

    Args:
        shape: Shape of the sample.
        seed_generator: A `keras.random.SeedGenerator` (advanced by one draw).
        mean: Mean of the distribution. Defaults to `0`.
        stddev: Standard deviation. Defaults to `1`.
        dtype: Optional dtype; defaults to `keras.config.floatx()`.

    Returns:
        A tensor of `dtype`.
    """
    dtype = dtype or keras.config.floatx()
    return tf.random.stateless_normal(
        shape, seed=replica_seed(seed_generator), mean=mean, stddev=stddev, dtype=dtype
    )


def replica_uniform(shape, seed_generator, dtype=None):
    """U(0, 1) noise from a Keras `SeedGenerator`, different on every replica.

    Draws what `keras.random.uniform(shape, seed=seed_generator)` draws on
    one device; see `replica_seed` for several replicas.

    Args:
        shape: Shape of the sample.
        seed_generator: A `keras.random.SeedGenerator` (advanced by one draw).
        dtype: Optional dtype; defaults to `keras.config.floatx()`.

    Returns:
        A tensor of `dtype`.
    """
    dtype = dtype or keras.config.floatx()
    return tf.random.stateless_uniform(
        shape,
        seed=replica_seed(seed_generator),
        minval=tf.cast(0.0, dtype),
        maxval=tf.cast(1.0, dtype),
        dtype=dtype,
    )


@keras.saving.register_keras_serializable(package="keras_gan")
class TailDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A constant rate that falls linearly to zero at the end of a run.

    Counted in iterations of the training loop, `steps_per_iteration`
    optimizer steps each (2 for D, which steps on real then generated
    images; 1 for G): at iteration `k = step // steps_per_iteration` the
    rate is `rate * clip((end - k) / length, 0, 1)`, the full rate until
    `length` iterations before `end`, then linearly down to
    `rate / length` at the last iteration (`end - 1`). `end` and `length`
    are variables that the model family (`DCGAN`, `GaussianGAN`) sets at
    the start of every `train()` / `fit()` run (`set_run`), so one compiled
    function serves every run; until then the rate is constant.

    Args:
        rate: Positive float, the full learning rate.
        steps_per_iteration: Positive integer, optimizer steps per
            iteration. Defaults to `1` (the rate then follows the
            optimizer's own step count).
    """

    def __init__(self, rate, steps_per_iteration=1):
        self.rate = float(rate)
        self.steps_per_iteration = int(steps_per_iteration)
        self.end = keras.Variable(3.0e38, dtype="float32", trainable=False, name="decay_end")
        self.length = keras.Variable(1.0, dtype="float32", trainable=False, name="decay_len")

    def set_run(self, iteration, remaining, length):
        """Decays over the last `length` of the `remaining` iterations after
        `iteration` (all counted in iterations)."""
        self.end.assign(float(iteration + remaining))
        self.length.assign(float(max(int(length), 1)))

    def __call__(self, step):
        k = keras.ops.floor(keras.ops.cast(step, "float32") / self.steps_per_iteration)
        return self.rate * keras.ops.clip((self.end - k) / self.length, 0.0, 1.0)

    def get_config(self):
        return {"rate": self.rate, "steps_per_iteration": self.steps_per_iteration}


def set_schedules_run(schedules, optimizers, remaining, run_iterations, fraction):
    """Points `TailDecay` schedules at a run (no-op without schedules).

    Model families call this at the start of every `train()` / `fit()` run,
    after any resume, so both paths follow the same schedule.

    Args:
        schedules: `TailDecay` schedules, one per optimizer.
        optimizers: The optimizers they drive, in the same order.
        remaining: Non-negative integer, iterations the run has left.
        run_iterations: Positive integer, the whole run's iterations; the
            rates decay over its last `fraction`.
        fraction: Float in [0, 1].
    """
    length = round(fraction * run_iterations)
    for schedule, optimizer in zip(schedules, optimizers):
        done = int(optimizer.iterations.numpy()) // schedule.steps_per_iteration
        schedule.set_run(done, remaining, length)


class ScheduledRatesMixin:
    """`set_run` for a model family with `TailDecay` rates.

    The family sets `_schedules` (one `TailDecay` per optimizer, in the
    order of its `optimizers()`, or none) and `lr_decay_fraction`.
    """

    def set_run(self, remaining, run_iterations):
        """Points the learning-rate schedules at a run (no-op without them).

        `train()` and `fit()` call this at the start of every run, after any
        resume, so both paths follow the same schedule.

        Args:
            remaining: Non-negative integer, iterations the run has left.
            run_iterations: Positive integer, the whole run's iterations; the
                rates decay over its last `lr_decay_fraction`.
        """
        set_schedules_run(
            self._schedules,
            [optimizer for optimizer, _ in self.optimizers().values()],
            remaining,
            run_iterations,
            self.lr_decay_fraction,
        )


class RunSchedule(keras.callbacks.Callback):
    """Points `TailDecay` schedules at a `fit()` run, at its first epoch.

    Keras calls `on_epoch_begin` first with the epoch a run starts from
    (`initial_epoch` when resumed, after the checkpoint is restored), so the
    run's remaining steps are known there.

    Args:
        set_run: Callable `set_run(remaining_steps, run_steps)` of the model
            family (e.g. `DCGAN.set_run`).
        epochs: Positive integer, the run's total epochs.
        steps: Positive integer, steps per epoch.
    """

    def __init__(self, set_run, epochs, steps):
        super().__init__()
        self.set_run, self.epochs, self.steps, self.done = set_run, epochs, steps, False

    def on_epoch_begin(self, epoch, logs=None):
        if not self.done:
            self.set_run((self.epochs - epoch) * self.steps, self.epochs * self.steps)
            self.done = True


class CombinedModel(keras.Model):
    """The generator trained through a frozen discriminator.

    The classic tutorials build `combined = Model(z, D(G(z)))` after setting
    `D.trainable = False`. Keras 3 reads `trainable` when it traces a train
    function, not at `compile()`, so that idiom silently leaves D with
    nothing to learn (or, after a retrace, lets the combined step train D).
    Here the combined model's trainable weights are, by definition, those of
    the networks it trains (`trained_networks`, the generator by default),
    and the discriminator is called through `call_frozen()`. D's own compiled model
    is untouched, so call order and retraces cannot change what either step
    updates.

    Args:
        generator: Keras model mapping latent vectors to samples.
        discriminator: Keras model mapping samples to validity.
        **kwargs: Passed to `keras.Model` (e.g. `name`).

    Example:

    >>> import keras, numpy as np
    >>> generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    >>> discriminator = keras.Sequential(
    ...     [keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")]
    ... )
    >>> combined = CombinedModel(generator, discriminator)
    >>> combined.compile(optimizer="adam", loss="binary_crossentropy")
    >>> z = np.zeros((4, 2), "float32")
    >>> before = discriminator.get_weights()
    >>> _ = combined.train_on_batch(z, np.ones((4, 1)))  # trains G only
    >>> all((a == b).all() for a, b in zip(before, discriminator.get_weights()))
    True
    """

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator

    @property
    def trained_networks(self):
        """The networks whose weights this model's train step updates."""
        return (self.generator,)

    def discriminate(self, samples, training=None):
        """Calls the discriminator frozen (see `call_frozen`)."""
        return call_frozen(self.discriminator, samples, training=training)

    def call(self, z, training=None):
        return self.discriminate(self.generator(z, training=training), training)

    @property
    def trainable_weights(self):
        return [w for net in self.trained_networks for w in net.trainable_weights]

    @property
    def trainable_variables(self):
        return self.trainable_weights


class AdversarialModel(keras.Model):
    """One adversarial iteration per `train_step`, for `fit()`.

    Each step runs `d_steps` times the discriminator updates that
    `discriminator_updates` describes, then `g_steps` generator updates
    minimising `generator_loss`. Every update has its own
    `tf.GradientTape` and applies gradients only to that side's variables
    (the discriminator's, or `generator_networks`'), so no `trainable` flag
    is toggled. During generator updates the discriminator runs frozen
    (`call_frozen()`), exactly as in the classic loop's combined model, so one
    fused iteration updates every variable as one classic iteration does.

    A model family configures it by overriding `begin_iteration`,
    `discriminator_updates`, `generator_loss` and, if needed,
    `adversarial_loss` and `generator_networks`; `loop_unroll` runs the
    `d_steps` / `g_steps` loops in `tf.while_loop`s (see its comment).

    Args:
        generator: Keras model, latent vectors -> samples.
        discriminator: Keras model, samples -> validity.
        latent_dim: Positive integer, size of the generator's input.
        seed_generator: Optional `keras.random.SeedGenerator` for the noise;
            share the family's so both training paths draw the same stream.
        d_steps: Positive integer, discriminator phases per iteration.
        g_steps: Positive integer, generator updates per iteration.
        real_label: Float, the target of real samples in the discriminator's
            updates (`0.9` is one-sided label smoothing); the generator's
            target stays `1`. Defaults to `1.0`.
        d_optimizer: Optional optimizer of the discriminator, so that
            `load_weights()` works before `compile()`; `compile()` sets it.
        g_optimizer: Optional optimizer of the generator side, likewise.
        **kwargs: Passed to `keras.Model`.
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        seed_generator=None,
        d_steps=1,
        g_steps=1,
        real_label=1.0,
        d_optimizer=None,
        g_optimizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.seed_generator = seed_generator or keras.random.SeedGenerator()
        self.d_steps = int(d_steps)
        self.g_steps = int(g_steps)
        self.real_label = float(real_label)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self._bce = keras.losses.BinaryCrossentropy()
        self.built = True  # the networks are built; no symbolic build on data

    # ------------------------------------------------- configuration points

    @property
    def generator_networks(self):
        """Networks the generator updates train."""
        return (self.generator,)

    def sample_latent(self, n):
        """Draws `n` latent vectors from N(0, I) with the model's seeds
        (independent on every replica, see `replica_normal`)."""
        return replica_normal((n, self.latent_dim), self.seed_generator)

    def begin_iteration(self, real):
        """Returns state shared by the iteration's updates (noise, fakes)."""
        z = self.sample_latent(tf.shape(real)[0])
        return {"z": z, "fake": self.generator(z, training=False)}

    def discriminator_updates(self, real, state):
        """Returns the D updates: a list of updates, each a list of terms
        `(inputs, is_real, weight)` whose weighted losses are summed into
        one optimizer step. Default: two updates, real then generated."""
        return [[(real, True, 1.0)], [(state["fake"], False, 1.0)]]

    def generator_loss(self, real, state):
        """The generator's loss; call D through `self.discriminate`."""
        fake = self.generator(state["z"], training=True)
        return self.adversarial_loss(self.discriminate(fake, training=True), True)

    def adversarial_loss(self, prediction, is_real):
        """Loss of D's `prediction` against the label real/fake."""
        target = tf.ones_like(prediction) if is_real else tf.zeros_like(prediction)
        return self._bce(target, prediction)

    def discriminator_term_loss(self, prediction, is_real):
        """Loss of one term of a D update: `adversarial_loss`, except that
        real samples are scored against `real_label` when it is not 1."""
        if is_real and self.real_label != 1.0:
            return self._bce(tf.fill(tf.shape(prediction), self.real_label), prediction)
        return self.adversarial_loss(prediction, is_real)

    def discriminator_term(self, inputs, is_real):
        """The loss of one term of a D update: D (training mode) on `inputs`,
        scored by `discriminator_term_loss`. Override to add a penalty that
        needs the inputs (DCGAN's R1, see `r1_penalty`)."""
        return self.discriminator_term_loss(self.discriminator(inputs, training=True), is_real)

    def after_generator_update(self):
        """Runs after every generator update: moves the `weight_averages`."""
        for average in self.weight_averages:
            average.update()

    # ----------------------------------------------------------- machinery

    def discriminate(self, samples, training=None):
        """Calls the discriminator frozen (see `call_frozen`)."""
        return call_frozen(self.discriminator, samples, training=training)

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Configures the model for `fit()`.

        Args:
            d_optimizer: Optimizer for the discriminator's variables.
                Defaults to the one the model holds (given to its
                constructor or to an earlier `compile()`).
            g_optimizer: Optimizer for the generator networks' variables,
                likewise.
            **kwargs: Passed to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`, ...).

        Raises:
            ValueError: if an optimizer is neither given nor held.
        """
        d_optimizer = self.d_optimizer if d_optimizer is None else d_optimizer
        g_optimizer = self.g_optimizer if g_optimizer is None else g_optimizer
        missing = [
            name
            for name, optimizer in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer))
            if optimizer is None
        ]
        if missing:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} has no {' or '.join(missing)}: pass "
                "it to compile() or to the constructor (for example "
                "d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))."
            )
        replicas = self.distribute_strategy.num_replicas_in_sync
        if replicas > 1:
            # Keras 3.15 / TF 2.21 under a multi-replica strategy: a loop of
            # steps per call, or XLA, around a step whose optimizers all-reduce
            # fails with "You must feed a value for placeholder tensor"
            # (keras-team/keras#19246; a plain Sequential fails the same way).
            spe, jit = kwargs.get("steps_per_execution", 1), kwargs.get("jit_compile", "auto")
            if spe != 1 or jit is True:
                raise ValueError(
                    f"Under a strategy with {replicas} replicas, fit() runs one step per "
                    "call without XLA (Keras cannot run either with several replicas yet, "
                    "keras-team/keras#19246). Received: "
                    f"steps_per_execution={spe!r}, jit_compile={jit!r}; pass "
                    "steps_per_execution=1 and jit_compile=False (or 'auto')."
                )
            kwargs["jit_compile"] = False
        # no optimizer of its own: Keras's default (RMSprop) would be built
        # over every network's weights by callbacks such as BackupAndRestore
        # and saved in every weights file, and would take a
        # LearningRateScheduler's rates without effect
        kwargs.setdefault("optimizer", None)
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    # WeightAverage objects following the generator side (set by families
    # that keep one): `after_generator_update` moves them, and their
    # networks are saved with the model's own state
    weight_averages = ()

    def state_variables(self):
        """The training state that Keras's weights files would otherwise miss.

        `save_weights()` (and so `ModelCheckpoint(save_weights_only=True)`
        and `BackupAndRestore`) stores the networks' weights and BatchNorm
        statistics and both optimizers, but no noise state and nothing
        outside the tracked networks. This model stores these as its own
        variables: its seed generator's state, every other seed state of its
        networks (dropout, the AAE's reparameterization) and the variables of
        its `weight_averages`' networks, so a restored run draws the noise an
        uninterrupted one would.

        Returns:
            A list of variables, in a fixed order.
        """
        found, seen = [], set()

        def add(variables):
            for v in variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    found.append(v)

        add([self.seed_generator.state])
        for net in (*self.generator_networks, self.discriminator):
            weights = {id(w) for w in net.weights}
            add(v for v in net.variables if id(v) not in weights)
        for average in self.weight_averages:
            add(average.average.variables)
        return found

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads a weights file `save_weights()` wrote (`.weights.h5`).

        As `keras.Model.load_weights`, but the optimizers are built first so
        that their slots are loaded too (and `state_variables()`).

        Raises:
            ValueError: if the model has no optimizers yet (pass them to the
                constructor or `compile()` first), or for a file saved by a
                differently configured model.
        """
        if self.d_optimizer is None or self.g_optimizer is None:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} has no optimizers to load into: "
                "pass d_optimizer / g_optimizer to its constructor or call compile() first."
            )
        build_optimizers(self)
        return super().load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)

    def save_own_variables(self, store):
        for i, v in enumerate(self.state_variables()):
            store[str(i)] = v

    def load_own_variables(self, store):
        variables = self.state_variables()
        if len(store.keys()) != len(variables):
            raise ValueError(
                f"The weights file holds {len(store.keys())} state variables for the "
                f"adversarial model {self.name!r}, which has {len(variables)} (noise "
                "states and weight averages): it was saved by a differently configured "
                "model (or by a keras_gan that stored none). Load it into a model built "
                "with the same arguments."
            )
        for i, v in enumerate(variables):
            v.assign(store[str(i)])

    @property
    def generator_weights(self):
        return [w for net in self.generator_networks for w in net.trainable_weights]

    def _update(self, optimizer, tape, loss, weights):
        # a LossScaleOptimizer (mixed_float16) scales here and unscales in
        # apply_gradients; other optimizers return the loss unchanged
        grads = tape.gradient(loss, weights)
        optimizer.apply_gradients(zip(grads, weights))

    # True for families whose iteration updates the generator side first
    # (the AAE). Its `generator_loss` then receives an empty dict as
    # `state` and may record tensors in it (the AAE's codes) for the
    # discriminator phase, whose `begin_iteration` state is merged over it.
    # Not with `loop_unroll`: a while-loop body cannot hand tensors out.
    generator_first = False

    def train_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        # Each replica's loss is a mean over its share of the global batch and
        # optimizers sum gradients over replicas: scale so the update is the
        # one a single device would make on the global batch.
        scale = 1.0 / tf.distribute.get_strategy().num_replicas_in_sync
        if self.generator_first:
            state = {}
            g_loss = self._generator_phase(real, state, scale)
            d_loss, _ = self._discriminator_phase(real, scale, state)
        else:
            d_loss, state = self._discriminator_phase(real, scale)
            g_loss = self._generator_phase(real, state, scale)
        self.average_statistics()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def average_statistics(self):
        """Sets the networks' moving statistics to their mean over replicas.

        Keras creates BatchNormalization's moving statistics with
        aggregation "none": under a multi-replica strategy each replica
        updates its own copy from its share of the batch, so the copies drift
        apart (and saved weights depend on which replica's copy is read).
        Every step ends by averaging them; for a moving mean that is exactly
        the one-device update on the whole batch. A no-op on one replica.
        """
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return
        networks = {id(n): n for n in (*self.generator_networks, self.discriminator)}
        statistics = [  # floats only: seed generators' states are integers
            v
            for net in networks.values()
            for v in net.non_trainable_weights
            if v.dtype.startswith("float")
        ]
        if not statistics:
            return
        means = context.all_reduce("MEAN", [tf.identity(v.value) for v in statistics])
        for variable, mean in zip(statistics, means):
            variable.assign(mean)

    # None: the d_steps and g_steps loops are unrolled in Python, each update
    # traced on its own. An integer n: on one replica they run in two
    # `tf.while_loop`s whose bodies hold n updates, so tracing (and XLA
    # compiling) costs the same for 2 or 2,000 steps; for families with
    # many tiny updates (the 50-line GAN's 20 + 20). The generator phase
    # then receives no state from the discriminator phase (None). Several
    # replicas unroll anyway: optimizers all-reduce through merge_call,
    # which a while-loop body cannot hold.
    loop_unroll = None

    def _looped(self):
        return self.loop_unroll is not None and self.distribute_strategy.num_replicas_in_sync == 1

    def _discriminator_update(self, real, scale, carried=None):
        # one begin_iteration and the D updates it describes; their losses
        state = {**(carried or {}), **self.begin_iteration(real)}
        losses = []
        for terms in self.discriminator_updates(real, state):
            with tf.GradientTape() as tape:
                loss = tf.add_n(
                    [
                        weight * self.discriminator_term(inputs, is_real)
                        for inputs, is_real, weight in terms
                    ]
                )
                scaled = self.d_optimizer.scale_loss(loss * scale)
            self._update(self.d_optimizer, tape, scaled, self.discriminator.trainable_weights)
            losses.append(loss)
        return losses, state

    def _discriminator_phase(self, real, scale, carried=None):
        if self._looped():

            def update(total):
                losses, _ = self._discriminator_update(real, scale, carried)
                return total + tf.add_n(losses) / len(losses)

            total = repeat(update, self.d_steps, self.loop_unroll, tf.constant(0.0))
            return total / self.d_steps, None
        state, d_losses = None, []
        for _ in range(self.d_steps):
            losses, state = self._discriminator_update(real, scale, carried)
            d_losses.extend(losses)
        return tf.add_n(d_losses) / len(d_losses), state

    def _generator_update(self, real, state, scale):
        with tf.GradientTape() as tape:
            g_loss = self.generator_loss(real, state)
            scaled = self.g_optimizer.scale_loss(g_loss * scale)
        self._update(self.g_optimizer, tape, scaled, self.generator_weights)
        self.after_generator_update()
        return g_loss

    def _generator_phase(self, real, state, scale):
        if self._looped():
            return repeat(
                lambda _: self._generator_update(real, state, scale),
                self.g_steps,
                self.loop_unroll,
                tf.constant(0.0),
            )
        for _ in range(self.g_steps):
            g_loss = self._generator_update(real, state, scale)
        return g_loss

    def call(self, z, training=None):
        return self.generator(z, training=training)


def r1_penalty(discriminator, real, gamma):
    """D's prediction on real samples and their R1 gradient penalty.

    R1 (Mescheder, Geiger and Nowozin, "Which training methods for GANs do
    actually converge?", 2018) adds `gamma / 2 * E[||grad_x logit(D(x))||^2]`
    over real samples to the discriminator's loss: D is pushed to be flat
    on the data, which damps the oscillation of the adversarial game. The
    logit is recovered from D's sigmoid output (clipped to
    `[1e-7, 1 - 1e-7]`, as Keras's binary cross-entropy clips it). Call it
    inside the D update's `tf.GradientTape`: the penalty's gradient with
    respect to D's weights is a second derivative through this inner tape.

    Args:
        discriminator: Keras model, samples -> probability of real, shape
            `(n, 1)`; called in training mode.
        real: Float tensor of real samples, batch first.
        gamma: Non-negative float, the penalty's weight; `0` skips the
            gradient and returns a penalty of `0.0`.

    Returns:
        `(prediction, penalty)`: D's output on `real` and the scalar penalty.

    Example:

    >>> import keras, numpy as np
    >>> d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    >>> _ = d.layers[0].kernel.assign([[3.0], [4.0]])
    >>> _, penalty = r1_penalty(d, np.zeros((5, 2), "float32"), gamma=2.0)
    >>> round(float(penalty), 3)  # gamma / 2 * ||w||^2 for a linear logit
    25.0
    """
    real = tf.convert_to_tensor(real)
    if not gamma:
        return discriminator(real, training=True), 0.0
    with tf.GradientTape() as tape:
        tape.watch(real)
        prediction = discriminator(real, training=True)
        p = tf.clip_by_value(tf.cast(prediction, tf.float32), 1e-7, 1.0 - 1e-7)
        logit_sum = tf.reduce_sum(tf.math.log(p) - tf.math.log1p(-p))
    grads = tf.cast(tape.gradient(logit_sum, real), tf.float32)
    squared = tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(grads)[0], -1]), axis=1)
    return prediction, 0.5 * gamma * tf.reduce_mean(squared)


def repeat(fn, n, unroll, value):
    """`value = fn(value)` `n` times in order, in a `tf.while_loop` whose body
    holds `unroll` calls (the remainder unrolled after it).

    Args:
        fn: Callable taking and returning a tensor of a fixed shape and dtype.
        n: Non-negative integer, calls in all.
        unroll: Positive integer, calls traced per loop iteration.
        value: The initial tensor.

    Returns:
        The last value.
    """
    unroll = max(1, min(unroll, n))

    def body(i, value):
        for _ in range(unroll):
            value = fn(value)
        return i + 1, value

    if n // unroll > 1:
        _, value = tf.while_loop(
            lambda i, _: i < n // unroll, body, (tf.constant(0), value), parallel_iterations=1
        )
    elif n // unroll == 1:
        _, value = body(0, value)
    for _ in range(n % unroll):
        value = fn(value)
    return value


def check_average_strategy(ema_decay, strategy, averaged):
    """Refuses a weight average (`ema_decay`) under a multi-replica strategy.

    Args:
        ema_decay: The family's `ema_decay` (`None`: no average).
        strategy: The family's `tf.distribute.Strategy`.
        averaged: What is averaged, for the message (e.g. "the generator").

    Raises:
        ValueError: if there is an average and more than one replica.
    """
    replicas = strategy.num_replicas_in_sync
    if ema_decay is not None and replicas > 1:
        raise ValueError(
            f"ema_decay (a weight average of {averaged}, part of the 'improved' settings) "
            "is not supported under a multi-replica strategy yet. Received: "
            f"ema_decay={ema_decay} with {replicas} replicas; pass ema_decay=0 to train "
            "without it."
        )


class WeightAverage:
    """An exponential moving average of a network, for sampling.

    `average` is a copy of `network` (same architecture, its own variables)
    whose every variable, weights and BatchNorm statistics alike, follows
    `average = decay * average + (1 - decay) * current` at each `update()`.
    Sampling from the average of a GAN generator's recent weights smooths
    out the oscillation of the adversarial game.

    Args:
        network: A built Keras model.
        decay: Float in (0, 1), the weight of the past.
    """

    def __init__(self, network, decay):
        self.decay = float(decay)
        self.average = keras.models.clone_model(network)
        self.average.set_weights(network.get_weights())
        self._pairs = [
            (avg, cur)
            for avg, cur in zip(self.average.variables, network.variables)
            if "float" in str(avg.dtype)  # not seed states
        ]

    def update(self):
        """Moves the average one step towards the network's current values."""
        for avg, cur in self._pairs:
            avg.assign(self.decay * avg + (1.0 - self.decay) * cur)


def batch_norm_layers(network):
    """Every `BatchNormalization` layer in `network`, nested models included."""
    found = []
    for layer in getattr(network, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        else:
            found.extend(batch_norm_layers(layer))
    return found


def update_batch_norm_statistics(networks, forward, batches):
    """Sets BatchNorm moving statistics to their plain average over `batches`.

    During training Keras keeps an exponential moving average of each
    BatchNormalization layer's batch statistics (the tutorials' momentum
    0.8-0.9 averages the last 5-10 batches, taken while the weights were
    still moving), and inference-mode outputs use it. Those estimates are
    noisy: on the AAE they shift the encoded test codes' means by up to 0.2
    from what training-mode codes show. This runs `forward(batch)` with the
    final weights over `batches` and sets every layer's moving mean and
    variance to the average of the batch statistics ("precise BatchNorm",
    as `torch.optim.swa_utils.update_bn`). No weight changes and every
    other variable (seed generator states) is put back afterwards. Training
    mode never reads these statistics, so only inference-mode outputs change.

    Args:
        networks: Keras models whose BatchNormalization layers are updated.
        forward: Callable taking one batch and calling the networks with
            `training=True`, as training does.
        batches: Iterable of batches for `forward`; its length is the
            number of batches averaged.

    Returns:
        The number of batches averaged.

    Raises:
        ValueError: If `batches` is empty, or a BatchNormalization layer is
            frozen (`trainable=False` layers never update their statistics).

    Example:

    >>> import numpy as np, keras
    >>> net = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
    >>> batches = [np.full((4, 2), 3.0, "float32"), np.full((4, 2), 5.0, "float32")]
    >>> update_batch_norm_statistics([net], lambda b: net(b, training=True), batches)
    2
    >>> net.layers[0].moving_mean.numpy()
    array([4., 4.], dtype=float32)
    """
    layers = [layer for net in networks for layer in batch_norm_layers(net)]
    frozen = [layer.name for layer in layers if not layer.trainable]
    if frozen:
        raise ValueError(
            f"update_batch_norm_statistics: BatchNormalization layers {frozen} are frozen "
            "(trainable=False), so they would not update; unfreeze them first."
        )
    stats = {id(v) for layer in layers for v in (layer.moving_mean, layer.moving_variance)}
    others = [
        (v, v.numpy())
        for net in networks
        for v in net.non_trainable_variables
        if id(v) not in stats
    ]
    momenta = [layer.momentum for layer in layers]
    count = 0
    try:
        for count, batch in enumerate(batches, start=1):
            for layer in layers:  # moving = (k-1)/k * moving + 1/k * batch: the mean
                layer.momentum = (count - 1) / count
            forward(batch)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        for variable, value in others:
            variable.assign(value)
    if count == 0:
        raise ValueError("update_batch_norm_statistics: received no batches; pass at least one.")
    return count


class CheckpointMixin:
    """Checkpoint and resume for a model family's classic training loop.

    A family provides `networks()` (name -> Keras model), `optimizers()`
    (name -> `(optimizer, variables it updates)`), `get_config()`, and the
    attributes `seed_generator` (noise), `_rng` (a NumPy generator for batch
    choice) and `iterations` (done so far). A checkpoint then holds every
    network variable (BatchNorm statistics and dropout seeds included), every
    optimizer's state, the noise and batch random states, the iteration
    counter, the history and the configuration.

    `CONFIG_ADDED` names configuration keys a family gained after its
    checkpoints were first written, with the value older checkpoints
    implied, so those still resume under the configuration they describe.
    """

    CONFIG_ADDED = {}

    def _checkpoint_variables(self):
        groups = {name: list(net.variables) for name, net in self.networks().items()}
        for name, (optimizer, weights) in self.optimizers().items():
            if not optimizer.built:
                optimizer.build(weights)
            groups[f"optimizer/{name}"] = list(optimizer.variables)
        groups["seed_generator"] = [self.seed_generator.state]
        return groups

    def save_checkpoint(self, directory, history=None, keep=3, epochs=None):
        """Writes an atomic checkpoint of the whole training state.

        Args:
            directory: Checkpoint directory of the run.
            history: Optional dict of the history so far.
            keep: Positive integer, checkpoints kept (older ones pruned).
            epochs: For `fit()` runs, the epochs done; the checkpoint is then
                named by epochs instead of classic iterations.

        Returns:
            The checkpoint directory written.

        Raises:
            FloatingPointError: if a variable is NaN or inf (nothing written).
        """
        meta = {
            "class": type(self).__name__,
            "config": self.get_config(),
            "iterations": int(self.iterations),
            "epochs": epochs,
            "rng": self._rng.bit_generator.state,
            "history": dict(history or {}),
        }
        step = self.iterations if epochs is None else epochs
        return ckpt.save_checkpoint(directory, step, self._checkpoint_variables(), meta, keep=keep)

    def restore_checkpoint(self, directory, entry=None):
        """Restores the latest good checkpoint in `directory`, if any.

        Every check runs before any variable is assigned: a refused
        checkpoint leaves the model as it was.

        Args:
            directory: Checkpoint directory of the run.
            entry: Optional name of the resuming call: `"train()"` refuses
                a checkpoint that `fit()` wrote (counted in epochs), any
                other name (e.g. `"fit()"`) one that `train()` wrote
                (counted in iterations). `None` accepts both.

        Returns:
            The checkpoint's metadata (`history`, `iterations`, `epochs`,
            `config`, ...), or `None` if there is no checkpoint.

        Raises:
            keras_gan.checkpoint.CheckpointError: (a ValueError) for corrupt
                checkpoints or one written by another model class or
                configuration.
        """
        loaded = ckpt.load_latest(directory)
        if loaded is None:
            return None
        manifest, arrays = loaded
        meta = manifest["meta"]
        name = type(self).__name__
        if meta.get("class") != name:
            raise ckpt.CheckpointError(
                f"The checkpoint in {str(directory)!r} was written by {meta.get('class')}, "
                f"not {name}."
            )
        ours = {k: v for k, v in self.get_config().items() if k != "seed"}
        theirs = {k: v for k, v in meta["config"].items() if k != "seed"}
        theirs = {**json.loads(json.dumps(self.CONFIG_ADDED)), **theirs}  # older checkpoints
        if json.loads(json.dumps(ours)) != theirs:
            raise ckpt.CheckpointError(
                f"The checkpoint in {str(directory)!r} was written by {name} with "
                f"{theirs}; this model has {ours}. Build the model with the same "
                "configuration to resume."
            )
        from_fit = meta.get("epochs") is not None
        if entry is not None and from_fit != (entry != "train()"):
            writer, resume_with = ("fit()", "fit") if from_fit else ("train()", "train")
            raise ckpt.CheckpointError(
                f"The checkpoint in {str(directory)!r} comes from {writer}, not {entry}; "
                f"resume it with {resume_with}(..., resume=True)."
            )
        ckpt.assign(self._checkpoint_variables(), arrays)
        self.iterations = int(meta["iterations"])
        self._rng.bit_generator.state = meta["rng"]
        return meta


def run_loop(
    step,
    iterations,
    *,
    start=0,
    history=None,
    hooks=(),
    callbacks=None,
    verbose=1,
    unit_name="iteration",
    on_start=None,
):
    """Runs the classic training loop around a per-iteration `step`.

    Args:
        step: Callable `step(i) -> dict` of scalar logs for iteration `i`.
        iterations: Number of iterations to run.
        start: Index of the first iteration (for numbering when a model
            continues training).
        history: Optional dict of earlier history (a resumed run) that the
            new values are appended to.
        hooks: Sequence of `(interval, fn)`; `fn(i)` runs after iteration
            `i` whenever `i % interval == 0`, as the documents save samples.
        callbacks: Optional list of `keras.callbacks.Callback`. They get
            `on_train_begin`, `on_train_batch_end(i, logs)` after every
            iteration and `on_train_end`; keys they add to `logs` are
            recorded in the history (NaN for iterations without a value).
        verbose: `0` silent, `1` a progress bar showing the latest logs.
        unit_name: Name of one iteration in the progress bar.
        on_start: Optional `fn(history)` called with the `History` being
            filled before the first iteration (hooks that checkpoint it).

    Returns:
        A `keras.callbacks.History` whose `history` maps each log name to
        its per-iteration values and whose `epoch` lists the iteration
        indices.

    Raises:
        TrainingDivergedError: when a log value of `step` is NaN or
            infinite; the message names the iteration and the value. Hooks
            and callbacks do not run for that iteration.
    """
    previous = history or {}
    history = keras.callbacks.History()
    history.history = {k: list(v) for k, v in previous.items()}
    done = len(next(iter(previous.values()), []))
    history.epoch = list(range(start - done, start))
    if on_start is not None:
        on_start(history)
    callbacks = list(callbacks or [])  # called directly: they may add to logs
    for cb in callbacks:
        cb.on_train_begin()
    progbar = None
    for n, i in enumerate(range(start, start + iterations)):
        logs = {k: float(v) for k, v in step(i).items()}
        for name, value in logs.items():
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"Training diverged at {unit_name} {i}: {name}={value}. "
                    "Lower the learning rates or check the data for extreme "
                    "values."
                )
        for cb in callbacks:
            cb.on_train_batch_end(i, logs)
        for name in logs.keys() | history.history.keys():
            values = history.history.setdefault(name, [math.nan] * len(history.epoch))
            values.append(float(logs.get(name, math.nan)))
        history.epoch.append(i)
        for interval, fn in hooks:  # after recording: a checkpoint holds iteration i
            if interval and i % interval == 0:
                fn(i)
        if verbose:
            if progbar is None:  # GAN losses jump: show the latest, not a mean
                progbar = keras.utils.Progbar(
                    iterations, stateful_metrics=list(logs), unit_name=unit_name
                )
            progbar.update(n + 1, values=list(logs.items()), finalize=False)
    if progbar is not None:
        progbar.update(iterations, finalize=True)
    for cb in callbacks:
        cb.on_train_end()
    return history


def make_dataset(x, batch_size, seed=None, repeat=False, shuffle=True):
    """A shuffled, batched, prefetched `tf.data.Dataset` over an array.

    Batches have exactly `batch_size` rows (the remainder of each pass is
    dropped, so every step sees the same shapes and no retrace happens).
    Two batches are prefetched, with tf.data's autotuning off: its
    background thread sleeps in periods that double from 10 ms (up to a
    minute), and destroying the iterator at the end of `fit()` waited for
    the current period to end, up to as long again as the training took
    (measured: 100 AAE batches trained in 1.5 s, `fit()` returned after
    2.55 s). Slicing and batching an in-memory array needs no tuning.

    Args:
        x: NumPy array of samples, first axis the examples.
        batch_size: Positive integer.
        seed: Optional integer seed of the shuffle.
        repeat: If `True`, repeat forever, reshuffling every pass; with a
            seed, pass k's order is the same in every process, so a resumed
            run can `skip()` to where it stopped.
        shuffle: If `False`, every pass visits the rows in order (as a
            PyTorch `DataLoader` without `shuffle=True`). Defaults to `True`.

    Returns:
        A `tf.data.Dataset` yielding float32 batches.
    """
    if batch_size > len(x):
        raise ValueError(
            f"batch_size must not exceed the number of samples ({len(x)}). "
            f"Received: batch_size={batch_size}"
        )
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(x, dtype=np.float32))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    if repeat:
        ds = ds.repeat()
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)


def build_optimizers(model):
    """Builds an `AdversarialModel`'s optimizers for their variables.

    An optimizer first used inside a traced step would create its slots
    there; under `tf.distribute` that fails, so `fit()` builds them first.
    """
    with model.distribute_strategy.scope():
        for optimizer, weights in (
            (model.d_optimizer, model.discriminator.trainable_weights),
            (model.g_optimizer, model.generator_weights),
        ):
            if not optimizer.built:
                optimizer.build(weights)


class _StopOnDivergence(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                raise TrainingDivergedError(
                    f"Training diverged at batch {batch} of epoch {self._epoch}: "
                    f"{name}={float(value)}. Lower the learning rates or check the data."
                )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


class _EpochCheckpoint(keras.callbacks.Callback):
    def __init__(self, family, directory, interval, keep, history):
        super().__init__()
        self.family, self.directory = family, directory
        self.interval, self.keep = interval, keep
        self.history = {k: list(v) for k, v in history.items()}
        self.last_saved = None

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        if (epoch + 1) % self.interval == 0:
            self.save(epoch + 1)

    def save(self, epochs):
        self.family.save_checkpoint(self.directory, self.history, self.keep, epochs=epochs)
        self.last_saved = epochs


def check_checkpoint_args(checkpoint_dir, checkpoint_interval, keep_checkpoints, resume):
    """Checks a training call's checkpoint arguments before training starts.

    Returns:
        `(checkpoint_interval, keep_checkpoints)` as ints.

    Raises:
        ValueError: for a non-positive interval or count, `resume=True`
            without a `checkpoint_dir`, or a directory that cannot be
            written (created if missing).
    """
    checkpoint_interval = check_int("checkpoint_interval", checkpoint_interval)
    keep_checkpoints = check_int("keep_checkpoints", keep_checkpoints)
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a checkpoint_dir to resume from.")
    if checkpoint_dir is not None:
        check_writable_dir(checkpoint_dir, "checkpoint_dir")
    return checkpoint_interval, keep_checkpoints


def restore_epoch_checkpoint(family, checkpoint_dir, entry):
    """Restores the latest epoch-counted checkpoint (`fit()`'s) for `entry`.

    Args:
        family: The model family (a `CheckpointMixin`).
        checkpoint_dir: Checkpoint directory of the run.
        entry: How the refusal names the resuming call, e.g. `"fit()"`.

    Returns:
        `(initial_epoch, history)`: `(0, {})` without a checkpoint.

    Raises:
        keras_gan.checkpoint.CheckpointError: for a checkpoint that `train()`
            wrote (counted in iterations), or as `restore_checkpoint`.
    """
    meta = family.restore_checkpoint(checkpoint_dir, entry=entry)
    if meta is None:
        return 0, {}
    return int(meta["epochs"]), meta["history"]


def fit_adversarial(
    family,
    model,
    x,
    *,
    epochs,
    batch_size,
    callbacks=None,
    checkpoint_dir=None,
    checkpoint_interval=1,
    keep_checkpoints=3,
    resume=False,
    shuffle=True,
    **kwargs,
):
    """Runs `model.fit` for a family, with checkpoints and resume.

    The shared body of every family's `fit()`: a seeded, repeating
    `tf.data` pipeline (so a resumed run sees the batches an uninterrupted
    one would), optimizers built before tracing, an error on divergence,
    and, given `checkpoint_dir`, an atomic checkpoint every
    `checkpoint_interval` epochs and at the end. With `resume=True`, `epochs`
    is the total: training continues from the latest checkpoint's epoch.
    `shuffle=False` visits the rows in order every epoch.

    Returns:
        A `keras.callbacks.History` holding the whole run's epochs.
    """
    checkpoint_interval, keep_checkpoints = check_checkpoint_args(
        checkpoint_dir, checkpoint_interval, keep_checkpoints, resume
    )
    steps = len(x) // batch_size
    initial_epoch, previous = 0, {}
    if resume:
        initial_epoch, previous = restore_epoch_checkpoint(family, checkpoint_dir, "fit()")
    # Keras's BackupAndRestore restores the weights and the epoch inside
    # fit(); the batches must start at that epoch too
    first_epoch = max([initial_epoch, *(_backed_up_epoch(c) for c in callbacks or [])])
    dataset = make_dataset(x, batch_size, seed=family.seed, repeat=True, shuffle=shuffle)
    dataset = dataset.skip(first_epoch * steps)
    build_optimizers(model)
    callbacks = [_StopOnDivergence(), *(callbacks or [])]
    saver = None
    if checkpoint_dir is not None:
        saver = _EpochCheckpoint(
            family, checkpoint_dir, checkpoint_interval, keep_checkpoints, previous
        )
        callbacks.append(saver)
    kwargs.setdefault("shuffle", False)  # the dataset shuffles itself
    history = model.fit(
        dataset,
        epochs=epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps,
        callbacks=callbacks,
        **kwargs,
    )
    if saver is not None and epochs > initial_epoch and saver.last_saved != epochs:
        saver.save(epochs)
    if previous:
        for name, values in previous.items():
            history.history[name] = list(values) + history.history.get(name, [])
        history.epoch = list(range(len(next(iter(history.history.values()), []))))
    return history


def _backed_up_epoch(callback):
    # the epoch a keras.callbacks.BackupAndRestore will resume fit() at: the
    # one its backup's training_metadata.json holds (0 without a backup)
    if not isinstance(callback, keras.callbacks.BackupAndRestore):
        return 0
    path = os.path.join(callback.backup_dir, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return int(json.load(f)["epoch"])


def targets(batch_size, value):
    """Returns a `(batch_size, 1)` float32 array filled with `value`."""
    return np.full((batch_size, 1), value, dtype=np.float32)
