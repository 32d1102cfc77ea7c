"""The adversarial machinery, written once for every model family.

- `frozen(model)`: run a network as Keras runs a frozen model, at trace time.
- `CombinedModel`: the "combined" model of the classic tutorials
  (z -> generator -> frozen discriminator) whose trainable weights are the
  generator's only, so freezing does not depend on when `trainable` flags
  were set or when Keras traces its train function.
- `run_loop`: the classic loop's scaffolding (progress bar, history,
  periodic hooks, divergence check).

The engine knows no model family: families pass networks and step functions.
"""

import contextlib
import math

import keras
import numpy as np


class TrainingDivergedError(FloatingPointError):
    """Raised when a loss becomes NaN or infinite during training."""


@contextlib.contextmanager
def frozen(model):
    """Calls of `model` inside this block run as a frozen Keras model.

    In Keras a layer with `trainable=False` is frozen: BatchNormalization
    then normalises with its moving statistics and updates nothing, while
    Dropout stays active in training mode. This context sets that flag on
    the BatchNormalization layers of `model` (the only built-in layers whose
    call reads it) and restores it on exit, so the behaviour is fixed into
    whatever graph is traced inside the block and nothing outside changes.
    Which variables a step trains is decided separately (see
    `CombinedModel.trainable_weights`), never by this flag.

    Args:
        model: A Keras layer or model.

    Example:

    >>> with frozen(discriminator):  # doctest: +SKIP
    ...     validity = discriminator(images, training=True)
    """
    bn_layers = [
        layer
        for layer in model._flatten_layers(include_self=True)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]
    for layer in bn_layers:
        layer.trainable = False
    try:
        yield model
    finally:
        for layer in bn_layers:
            layer.trainable = True


class CombinedModel(keras.Model):
    """The generator trained through a frozen discriminator.

    The classic tutorials build `combined = Model(z, D(G(z)))` after setting
    `D.trainable = False`. Keras 3 reads `trainable` when it traces a train
    function, not at `compile()`, so that idiom silently leaves D with
    nothing to learn (or, after a retrace, lets the combined step train D).
    Here the combined model's trainable weights are, by definition, those of
    the networks it trains (`trained_networks`, the generator by default),
    and the discriminator is called inside `frozen()`. D's own compiled model
    is untouched, so call order and retraces cannot change what either step
    updates.

    Args:
        generator: Keras model mapping latent vectors to samples.
        discriminator: Keras model mapping samples to validity.
        **kwargs: Passed to `keras.Model` (e.g. `name`).

    Example:

    >>> combined = CombinedModel(generator, discriminator)  # doctest: +SKIP
    >>> combined.compile(optimizer="adam", loss="binary_crossentropy")
    >>> combined.train_on_batch(z, np.ones((len(z), 1)))  # trains G only
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
        """Calls the discriminator frozen (see `frozen`)."""
        with frozen(self.discriminator):
            return self.discriminator(samples, training=training)

    def call(self, z, training=None):
        return self.discriminate(self.generator(z, training=training), training)

    @property
    def trainable_weights(self):
        return [w for net in self.trained_networks for w in net.trainable_weights]

    @property
    def trainable_variables(self):
        return self.trainable_weights


def run_loop(
    step,
    iterations,
    *,
    start=0,
    hooks=(),
    callbacks=None,
    verbose=1,
    unit_name="iteration",
):
    """Runs the classic training loop around a per-iteration `step`.

    Args:
        step: Callable `step(i) -> dict` of scalar logs for iteration `i`.
        iterations: Number of iterations to run.
        start: Index of the first iteration (for numbering when a model
            continues training).
        hooks: Sequence of `(interval, fn)`; `fn(i)` runs after iteration
            `i` whenever `i % interval == 0`, as the documents save samples.
        callbacks: Optional list of `keras.callbacks.Callback`. They get
            `on_train_begin`, `on_train_batch_end(i, logs)` after every
            iteration and `on_train_end`; keys they add to `logs` are
            recorded in the history (NaN for iterations without a value).
        verbose: `0` silent, `1` a progress bar showing the latest logs.
        unit_name: Name of one iteration in the progress bar.

    Returns:
        A `keras.callbacks.History` whose `history` maps each log name to
        its per-iteration values and whose `epoch` lists the iteration
        indices.

    Raises:
        TrainingDivergedError: when a log value of `step` is NaN or
            infinite; the message names the iteration and the value. Hooks
            and callbacks do not run for that iteration.
    """
    history = keras.callbacks.History()
    history.history, history.epoch = {}, []
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
        for interval, fn in hooks:
            if interval and i % interval == 0:
                fn(i)
        for cb in callbacks:
            cb.on_train_batch_end(i, logs)
        for name in logs.keys() | history.history.keys():
            values = history.history.setdefault(name, [math.nan] * n)
            values.append(float(logs.get(name, math.nan)))
        history.epoch.append(i)
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


def targets(batch_size, value):
    """Returns a `(batch_size, 1)` float32 array filled with `value`."""
    return np.full((batch_size, 1), value, dtype=np.float32)
