"""Training over several devices or machines with a TensorFlow custom loop.

Keras 3's `fit()` does not run under `tf.distribute.MultiWorkerMirroredStrategy`
(keras-team/keras#20585: even a plain `Sequential` fails with "Attempt to
convert a value (PerReplica ...)"). `train_distributed` therefore drives the
family's `AdversarialModel.train_step` — the same fused iteration `fit()` runs,
not a copy — with `strategy.run` inside a `tf.function`, over
`strategy.experimental_distribute_dataset`. It works with any strategy:
`MultiWorkerMirroredStrategy` across machines, `MirroredStrategy` across the
GPUs of one machine, or the default (one device).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_gan import checkpoint as ckpt
from keras_gan import data as data_lib
from keras_gan.engine import (
    TrainingDivergedError,
    build_optimizers,
    make_dataset,
    restore_epoch_checkpoint,
    strategy_scope,
)

# What a collective raises when a peer stops: the coordination service's
# missed heartbeats (UnavailableError), or a `CommunicationOptions` timeout.
_PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError)


def is_chief(strategy):
    """Whether this process is the one that writes files for a strategy.

    The chief is the task of type `"chief"`, or worker 0 when the cluster has
    no chief; a strategy without a cluster (one machine) is always chief.

    Args:
        strategy: A `tf.distribute.Strategy`.

    Returns:
        Bool.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster


def train_distributed(
    family,
    x=None,
    epochs=1,
    batch_size=128,
    steps_per_epoch=None,
    jit_compile=False,
    checkpoint_dir=None,
    checkpoint_interval=1,
    keep_checkpoints=3,
    resume=False,
    callbacks=None,
    verbose=1,
):
    """Trains a model family with `strategy.run` around its fused train step.

    Every step runs the family's `adversarial_model.train_step` (the
    iteration `fit()` runs) once on every replica, on that replica's share of
    a global batch of `batch_size` images; the step scales losses by the
    number of replicas and draws different noise per replica, so one step
    updates the weights as one device would on the whole batch. The strategy
    is the family's (`DCGAN(strategy=...)`; for `AAE`, the scope it was
    built in), so build the family inside the strategy's scope. Under
    `MultiWorkerMirroredStrategy`, start the same call on every worker
    (each with its `TF_CONFIG`); every worker must pass the same data and a
    family built with the same `seed`, since all workers shuffle the data in
    the same order and each takes its part of every batch.

    Checkpoints use `family.save_checkpoint` (the format `fit()` writes, so
    a run can resume with either) and are written by the chief only (see
    `is_chief`); writing them reads the variables locally and needs no
    collective, so other workers do not wait for it. To resume on several
    machines, `checkpoint_dir` must be storage every worker reads (a shared
    file system): every worker restores it, and the run stops with an error
    if the workers found different checkpoints.

    Args:
        family: A model family with an `adversarial_model`
            (`keras_gan.DCGAN`, `keras_gan.AAE`), built in the strategy's
            scope.
        x: Optional images, as the family's `fit()` takes them. Defaults to
            MNIST's training images.
        epochs: Positive integer, epochs to train (with `resume=True`, the
            total including the resumed ones). Defaults to `1`.
        batch_size: Positive integer, the global batch, split evenly over
            the replicas (a multiple of their number). Defaults to `128`.
        steps_per_epoch: Optional positive integer, steps per epoch.
            Defaults to one pass over the data (`len(x) // batch_size`).
            `1` gives the classic loop's "an epoch is one iteration".
        jit_compile: Bool, compile the step with XLA: one replica only
            (XLA cannot compile the all-reduces of several, see `Raises`).
            Defaults to `False`.
        checkpoint_dir: Optional directory for atomic checkpoints, every
            `checkpoint_interval` epochs and at the end.
        checkpoint_interval: Positive integer, in epochs. Defaults to `1`.
        keep_checkpoints: Positive integer, checkpoints kept. Defaults to `3`.
        resume: If `True`, continue from the latest checkpoint in
            `checkpoint_dir`; `epochs` is then the total.
        callbacks: Optional list of `keras.callbacks.Callback`; they get the
            usual train, epoch and batch calls, with the logs reduced over
            all replicas. They run on every worker: write files from the
            chief only (`is_chief(strategy)`).
        verbose: `0` silent, `1` a progress bar, `2` one line per epoch.
            Defaults to `1`.

    Returns:
        A `keras.callbacks.History` with the epoch means of `d_loss` and
        `g_loss`, averaged over all replicas (including resumed epochs).

    Raises:
        ValueError: for a family without `adversarial_model` or built
            outside the strategy's scope, non-positive sizes, a
            `batch_size` that is not a multiple of the replicas or exceeds
            the images, bad images, `resume=True` without
            `checkpoint_dir`, or `jit_compile=True` with several replicas.
        keras_gan.checkpoint.CheckpointError: for a checkpoint of another
            model, or workers that found different checkpoints.
        keras_gan.engine.TrainingDivergedError: if a loss becomes NaN.
        tf.errors.OpError: if a worker stops during a collective (with
            `CommunicationOptions(timeout_seconds=...)` given to the
            strategy, after at most that many seconds).

    Example:

    On every worker, with its `TF_CONFIG` set (see README, "GPUs and
    clusters"):

    >>> strategy = tf.distribute.MultiWorkerMirroredStrategy()  # doctest: +SKIP
    >>> gan = DCGAN(seed=0, strategy=strategy)  # doctest: +SKIP
    >>> history = train_distributed(gan, epochs=5, batch_size=256)  # doctest: +SKIP
    """
    model = getattr(family, "adversarial_model", None)
    if model is None:
        raise ValueError(
            "train_distributed needs a model family with an `adversarial_model` "
            f"(DCGAN, AAE). Received: family={type(family).__name__}"
        )
    epochs = data_lib.check_int("epochs", epochs)
    batch_size = data_lib.check_int("batch_size", batch_size)
    if steps_per_epoch is not None:
        steps_per_epoch = data_lib.check_int("steps_per_epoch", steps_per_epoch)
    checkpoint_interval = data_lib.check_int("checkpoint_interval", checkpoint_interval)
    keep_checkpoints = data_lib.check_int("keep_checkpoints", keep_checkpoints)
    if not isinstance(jit_compile, bool):
        raise ValueError(
            f"jit_compile must be True or False. Received: jit_compile={jit_compile!r}"
        )
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a checkpoint_dir to resume from.")
    strategy = family.strategy
    replicas = strategy.num_replicas_in_sync
    if jit_compile and replicas > 1:
        raise ValueError(
            f"jit_compile=True needs one replica; this strategy has {replicas}. XLA cannot "
            "compile a step whose optimizers all-reduce across replicas in Keras 3.15 / "
            "TF 2.21 (keras-team/keras#19246). Received: jit_compile=True; pass "
            "jit_compile=False."
        )
    if batch_size % replicas:
        raise ValueError(
            f"batch_size must be a multiple of the {replicas} replicas in sync, so every "
            f"replica gets the same share of the batch. Received: batch_size={batch_size}"
        )
    variables = model.generator_weights + model.discriminator.trainable_weights
    if any(not strategy.extended.variable_created_in_scope(v.value) for v in variables):
        raise ValueError(
            f"{type(family).__name__} was not built in the scope of the "
            f"{type(strategy).__name__} it trains with. Build it inside "
            "`with strategy.scope():` or pass `strategy=`."
        )
    if x is None:
        (x, _), _ = data_lib.load_mnist()
    prepare = getattr(family, "prepare", None)  # AAE resizes; DCGAN checks the shape
    x = prepare(x, name="x") if prepare else data_lib.prepare_images(x, family.img_shape, "x")
    if batch_size > len(x):
        raise ValueError(
            f"batch_size must not exceed the number of images ({len(x)}). "
            f"Received: batch_size={batch_size}"
        )
    chief = is_chief(strategy)
    if checkpoint_dir is not None and chief:
        data_lib.check_writable_dir(checkpoint_dir, "checkpoint_dir")
    steps = steps_per_epoch or len(x) // batch_size

    with strategy_scope(strategy, type(family).__name__):  # fit()'s optimizers, built here
        model.compile()
    build_optimizers(model)
    initial_epoch, previous = 0, {}
    if resume:
        initial_epoch, previous = restore_epoch_checkpoint(
            family, checkpoint_dir, "fit() or train_distributed()"
        )
        _check_workers_agree(strategy, initial_epoch, checkpoint_dir)

    # Every worker must shuffle alike (each keeps its part of every batch):
    # an unseeded family still gets one shared order.
    seed = family.seed if family.seed is not None else 0
    dataset = make_dataset(x, batch_size, seed=seed, repeat=True).skip(initial_epoch * steps)
    batches = iter(strategy.experimental_distribute_dataset(dataset))

    # fit()'s own step (it ends by averaging BN statistics over replicas),
    # passed to strategy.run directly, as Keras's trainer passes it (a
    # tf.function nested in the replica function may not all-reduce)
    replica_step = tf.function(
        tf.autograph.experimental.do_not_convert(model.train_step),
        jit_compile=jit_compile,
        reduce_retracing=True,
    )

    @tf.function
    def distributed_step(batch):
        logs = strategy.run(replica_step, args=(batch,))
        return {k: strategy.reduce("MEAN", v, axis=None) for k, v in logs.items()}

    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        [*(callbacks or []), history],
        add_history=False,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
    )
    model.stop_training = False  # a callback may set it (EarlyStopping)
    callback_list.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        for metric in model.metrics:  # epoch means, as fit() reports them
            metric.reset_state()
        callback_list.on_epoch_begin(epoch)
        for step in range(steps):
            callback_list.on_train_batch_begin(step)
            try:
                logs = {k: float(v) for k, v in distributed_step(next(batches)).items()}
            except _PEER_ERRORS as e:
                e.add_note(
                    f"keras_gan: a collective failed at step {step} of epoch {epoch}: another "
                    "worker has probably stopped or become unreachable. Restart every worker "
                    "with resume=True to continue from the last checkpoint."
                )
                raise
            for name, value in logs.items():
                if not math.isfinite(value):
                    raise TrainingDivergedError(
                        f"Training diverged at step {step} of epoch {epoch}: {name}={value}. "
                        "Lower the learning rates or check the data."
                    )
            callback_list.on_train_batch_end(step, logs)
        callback_list.on_epoch_end(epoch, logs)
        done = epoch + 1
        if checkpoint_dir is not None and (done % checkpoint_interval == 0 or done == epochs):
            if chief:
                merged = {k: list(v) for k, v in previous.items()}
                for name, values in history.history.items():
                    merged[name] = merged.get(name, []) + list(values)
                family.save_checkpoint(checkpoint_dir, merged, keep_checkpoints, epochs=done)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
    for name, values in previous.items():
        history.history[name] = list(values) + history.history.get(name, [])
    history.epoch = list(range(len(next(iter(history.history.values()), []))))
    return history


def _check_workers_agree(strategy, initial_epoch, checkpoint_dir):
    """All replicas resumed at the same epoch, or a clear error (not a hang)."""
    if strategy.num_replicas_in_sync == 1:
        return
    local = tf.constant([float(initial_epoch), float(initial_epoch) ** 2])

    @tf.function
    def moments():
        per_replica = strategy.run(lambda: tf.identity(local))
        return strategy.reduce("MEAN", per_replica, axis=None)

    mean, mean_sq = np.asarray(moments())
    if mean_sq - mean**2 > 1e-6 or mean != initial_epoch:
        raise ckpt.CheckpointError(
            f"The workers found different checkpoints in {str(checkpoint_dir)!r} (this one "
            f"resumes at epoch {initial_epoch}, the mean over workers is {mean:g}). Put "
            "checkpoint_dir on storage every worker reads, so they resume together."
        )
