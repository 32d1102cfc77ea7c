import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan import AAE, DCGAN, GaussianGAN, MomentsGAN
from keras_gan.engine import (
    AdversarialModel,
    build_optimizers,
    make_dataset,
    update_batch_norm_statistics,
)

from .conftest import from_the_same_start


def state_variables(gan, model):
    """Every variable one iteration may touch: weights, BN statistics,
    dropout and noise seeds, both optimizers' slots and counters (and the
    generator's moving average, where there is one)."""
    average = [] if gan.ema_generator is None else list(gan.ema_generator.variables)
    return (
        list(gan.generator.variables)
        + list(gan.discriminator.variables)
        + list(model.d_optimizer.variables)
        + list(model.g_optimizer.variables)
        + [gan.seed_generator.state]
        + average
    )


@pytest.mark.parametrize("settings", ["document", "improved", "improved-r1"])
def test_fused_dcgan_iteration_updates_every_variable_as_the_classic_one(settings):
    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0, settings=settings)
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    gan.train_iteration(x)  # builds both optimizers and traces the classic path
    model = gan.adversarial_model
    model.compile(
        d_optimizer=gan.discriminator.optimizer,
        g_optimizer=gan.combined.optimizer,
        jit_compile=False,
    )
    build_optimizers(model)
    variables = state_variables(gan, model)
    if settings == "document":
        assert any("seed" in v.path for v in gan.discriminator.variables), "dropout seeds tracked"
    start, classic, _, logs = from_the_same_start(
        variables,
        lambda: gan.train_iteration(x),
        lambda: model.train_on_batch(x, return_dict=True),
    )
    fused = [v.numpy().copy() for v in variables]

    # G's convolutions followed by BatchNorm: the normalisation cancels their
    # biases, so the exact gradient there is zero and Adam turns round-off
    # (~1e-9) into steps of up to one learning rate. With the R1 penalty the
    # two paths' D steps differ by round-off (second derivatives in two
    # graphs), which changes that round-off: only a step's size is checked.
    layers = gan.generator.layers
    cancelled = {
        layer.bias.path
        for layer, after in zip(layers, layers[1:])
        if isinstance(layer, keras.layers.Conv2D)
        and isinstance(after, keras.layers.BatchNormalization)
    }
    assert len(cancelled) == 2
    moved = 0
    for v, a, b, s in zip(variables, classic, fused, start):
        if settings == "improved-r1" and v.path in cancelled:
            assert np.abs(b - a).max() <= 2 * gan.learning_rate, v.path
        else:
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=v.path)
        moved += not np.array_equal(a, s)
    assert moved >= len(gan.generator.trainable_weights) + len(gan.discriminator.trainable_weights)
    assert set(logs) == {"d_loss", "g_loss"}


def test_fit_returns_history_and_trains_both_sides(tiny_images):
    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    g0 = [w.numpy().copy() for w in gan.generator.trainable_weights]
    d0 = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    hist = gan.fit(tiny_images, epochs=2, batch_size=16, verbose=0, jit_compile=False)
    assert isinstance(hist, keras.callbacks.History)
    assert set(hist.history) == {"d_loss", "g_loss"} and len(hist.history["d_loss"]) == 2
    assert all(np.isfinite(v) for v in hist.history["g_loss"])
    assert all(
        not np.array_equal(a, w.numpy()) for a, w in zip(g0, gan.generator.trainable_weights)
    )
    assert all(
        not np.array_equal(a, w.numpy()) for a, w in zip(d0, gan.discriminator.trainable_weights)
    )
    # 64 images / 16 per batch = 4 steps per epoch, 2 epochs = 8 Adam steps for
    # G and 16 for D (two D updates per iteration), after no classic iteration
    assert int(gan.combined.optimizer.iterations) == 8
    assert int(gan.discriminator.optimizer.iterations) == 16


def test_fit_with_stock_callbacks_and_steps_per_execution(tiny_images, tmp_path):
    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    csv = tmp_path / "log.csv"
    hist = gan.fit(
        tiny_images,
        epochs=3,
        batch_size=16,
        steps_per_execution=2,
        verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(csv))],
    )
    assert len(hist.history["g_loss"]) == 3
    rows = csv.read_text().strip().splitlines()
    header = rows[0].split(",")
    assert header[:3] == ["epoch", "d_loss", "g_loss"] and len(rows) == 4


def test_fit_with_model_checkpoint_tensorboard_and_early_stopping(tiny_images, tmp_path):
    """ModelCheckpoint's weights files load into a new model with every
    variable (networks, both optimizers, noise states); TensorBoard writes
    its event file; EarlyStopping ends the run."""
    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    hist = gan.fit(
        tiny_images,
        epochs=5,
        batch_size=16,
        verbose=0,
        jit_compile=False,
        callbacks=[
            keras.callbacks.ModelCheckpoint(
                str(tmp_path / "ck_{epoch}.weights.h5"), save_weights_only=True
            ),
            keras.callbacks.TensorBoard(str(tmp_path / "tb")),
            # no improvement is ever this large: stops after patience + 1 epochs
            keras.callbacks.EarlyStopping(monitor="g_loss", mode="min", min_delta=100, patience=1),
        ],
    )
    assert hist.epoch == [0, 1] and len(hist.history["g_loss"]) == 2
    assert sorted(p.name for p in tmp_path.glob("ck_*")) == ["ck_1.weights.h5", "ck_2.weights.h5"]
    events = list((tmp_path / "tb" / "train").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 100

    other = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=5)
    other.adversarial_model.load_weights(tmp_path / "ck_2.weights.h5")
    mine, theirs = gan.adversarial_model, other.adversarial_model
    assert mine.optimizer is None  # no unused default optimizer saved with the weights
    for a, b in zip(
        state_variables(gan, mine) + mine.state_variables(),
        state_variables(other, theirs) + theirs.state_variables(),
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    # a file from a differently configured model is refused, saying why
    averaged = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0, ema_decay=0.9)
    with pytest.raises(ValueError, match="differently configured"):
        averaged.adversarial_model.load_weights(tmp_path / "ck_2.weights.h5")


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


@pytest.mark.parametrize("family", ["dcgan", "aae", "gaussian", "moments"])
def test_backup_and_restore_resumes_fit_as_an_uninterrupted_run(tiny_images, tmp_path, family):
    """fit() killed after epoch 2 of 4 under keras.callbacks.BackupAndRestore
    and run again by a new object ends bit for bit where an uninterrupted
    run does: weights, weight averages, optimizers, noise states, and the
    batches (the data resume at the restored epoch)."""
    from keras_gan import AAE, GaussianGAN, MomentsGAN

    args = {"epochs": 4, "verbose": 0}
    data = {"x": tiny_images, "batch_size": 16, "jit_compile": False}
    if family == "gaussian":
        data = {}
    if family == "moments":  # a Keras epoch: 100 of the document's epochs
        args, data = {"epochs": 400, "log_interval": 100, "verbose": 0}, {}

    def make():
        if family == "dcgan":
            return DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0, ema_decay=0.9)
        if family == "aae":
            return AAE(latent_dim=3, img_size=8, seed=0, settings="improved")
        if family == "gaussian":
            return GaussianGAN("softmax", seed=0)
        return MomentsGAN(seed=0)

    def every_variable(obj):
        m = getattr(obj, "adversarial_model", None) or next(iter(obj._fused.values()))
        nets = (*m.generator_networks, m.discriminator)
        return (
            [w for net in nets for w in net.weights]
            + list(m.d_optimizer.variables)
            + list(m.g_optimizer.variables)
            + m.state_variables()
        )

    args.update(data)
    straight = make()
    expected = straight.fit(**args)
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        make().fit(callbacks=[keras.callbacks.BackupAndRestore(backup), _Interrupt()], **args)
    resumed = make()
    history = resumed.fit(callbacks=[keras.callbacks.BackupAndRestore(backup)], **args)
    assert history.epoch == [2, 3]
    assert history.history["g_loss"] == expected.history["g_loss"][2:]
    for a, b in zip(every_variable(straight), every_variable(resumed)):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_make_dataset_shapes_and_errors():
    x = np.zeros((10, 3), "float32")
    batches = list(make_dataset(x, 4, seed=0))
    assert [tuple(b.shape) for b in batches] == [(4, 3), (4, 3)]
    with pytest.raises(
        ValueError, match=r"batch_size must not exceed the number of samples \(10\)"
    ):
        make_dataset(x, 11)


def test_make_dataset_runs_without_the_autotuner():
    """tf.data's autotuning thread sleeps in doubling periods and ending an
    iterator waited for the current one (fit() returned seconds after its
    last batch); make_dataset turns it off, also through the skip() that
    resuming adds."""
    x = np.zeros((10, 3), "float32")
    for ds in (make_dataset(x, 2, seed=0), make_dataset(x, 2, repeat=True).skip(3)):
        assert ds.options().autotune.enabled is False


def test_make_dataset_order():
    x = np.arange(10, dtype="float32")[:, None]
    passes = list(make_dataset(x, 5, seed=0, repeat=True).take(4))
    rows = [np.asarray(b)[:, 0].tolist() for b in passes]
    assert rows[0] + rows[1] != list(range(10))  # shuffled
    assert sorted(rows[0] + rows[1]) == list(range(10))
    assert rows[0] + rows[1] != rows[2] + rows[3]  # reshuffled every pass
    in_order = list(make_dataset(x, 5, repeat=True, shuffle=False).take(4))
    assert [np.asarray(b)[:, 0].tolist() for b in in_order] == [
        [0, 1, 2, 3, 4],
        [5, 6, 7, 8, 9],
    ] * 2


def test_adversarial_model_is_generic():
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model = AdversarialModel(g, d, latent_dim=2, seed_generator=keras.random.SeedGenerator(0))
    model.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    build_optimizers(model)
    logs = model.train_on_batch(np.ones((8, 2), "float32"), return_dict=True)
    assert np.isfinite(logs["d_loss"]) and np.isfinite(logs["g_loss"])


def test_compile_defaults_to_the_optimizers_the_model_holds():
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    bare = AdversarialModel(g, d, latent_dim=2)
    with pytest.raises(ValueError, match="has no d_optimizer or g_optimizer: pass"):
        bare.compile()
    d_opt, g_opt = keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.2)
    held = AdversarialModel(g, d, latent_dim=2, d_optimizer=d_opt, g_optimizer=g_opt)
    held.compile(jit_compile=False)
    assert held.d_optimizer is d_opt and held.g_optimizer is g_opt
    other = keras.optimizers.SGD(0.3)
    held.compile(g_optimizer=other)  # one replaced, the other kept
    assert held.d_optimizer is d_opt and held.g_optimizer is other
    # every family's fit() compiles its model this way: the model holds the
    # optimizers of the classic path's D and combined models
    families = [
        (DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0), None),
        (AAE(latent_dim=4, img_size=8, seed=0), None),
        (GaussianGAN(seed=0), None),
        (MomentsGAN(seed=0), (2, 3)),
    ]
    for gan, steps in families:
        model = gan.adversarial_model if steps is None else gan.fused_model(*steps)
        assert model.d_optimizer is gan.discriminator.optimizer, type(gan).__name__
        assert model.g_optimizer is gan.combined.optimizer, type(gan).__name__


class _OwnNoiseGAN(AdversarialModel):
    # its generator updates draw their own noise (no state from the D phase);
    # counts the D updates traced
    traced = 0

    def discriminator_updates(self, real, state):
        self.traced += 1
        return super().discriminator_updates(real, state)

    def generator_loss(self, real, state):
        fake = self.generator(self.sample_latent(tf.shape(real)[0]), training=True)
        return self.adversarial_loss(self.discriminate(fake, training=True), True)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_loop_unroll_runs_the_updates_of_the_unrolled_step(jit_compile):
    """5 D and 3 G updates per step in tf.while_loops (2 per body, the
    remainder unrolled) end where Python-unrolled loops end."""
    x = np.random.default_rng(0).normal(1.0, 1.0, (8, 2)).astype("float32")
    ends = []
    for unroll in (None, 2):
        keras.utils.set_random_seed(0)
        g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4), keras.layers.Dense(2)])
        d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
        model = _OwnNoiseGAN(
            g, d, latent_dim=2, seed_generator=keras.random.SeedGenerator(0), d_steps=5, g_steps=3
        )
        model.loop_unroll = unroll
        model.compile(
            d_optimizer=keras.optimizers.Adam(0.01),
            g_optimizer=keras.optimizers.Adam(0.01),
            jit_compile=jit_compile,
        )
        build_optimizers(model)
        for _ in range(2):
            logs = model.train_on_batch(x, return_dict=True)
        ends.append((logs, [w.numpy() for w in g.weights + d.weights], model.traced))
    (logs_a, w_a, traced_a), (logs_b, w_b, traced_b) = ends
    assert (traced_a, traced_b) == (5, 3)  # the loop traced 2 + the remainder 1
    assert logs_a == pytest.approx(logs_b, rel=1e-5)

    for a, b in zip(w_a, w_b):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_call_frozen_uses_batch_statistics_and_changes_nothing():
    from keras_gan.engine import call_frozen

    d = keras.Sequential(
        [keras.Input((3,)), keras.layers.BatchNormalization(momentum=0.8), keras.layers.Dense(1)]
    )
    x = np.random.default_rng(0).normal(3.0, 2.0, (16, 3)).astype("float32")
    before = [v.numpy().copy() for v in d.weights]
    frozen_out = np.asarray(call_frozen(d, x, training=True))
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, d.weights))
    inference_out = np.asarray(d(x, training=False))
    assert not np.allclose(frozen_out, inference_out, atol=1e-3)  # not moving statistics
    training_out = np.asarray(d(x, training=True))  # batch statistics (and an update)
    np.testing.assert_allclose(frozen_out, training_out, rtol=1e-5, atol=1e-6)
    assert not all(np.array_equal(a, v.numpy()) for a, v in zip(before, d.weights))


def test_sample_writer_callback_in_fit(tiny_images, tmp_path):
    from keras_gan.callbacks import SampleWriter

    from .conftest import png_pixels

    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    writer = SampleWriter(tmp_path, gan.generate, every_n_epochs=1, every_n_batches=3, n=4)
    gan.fit(tiny_images, epochs=2, batch_size=16, verbose=0, jit_compile=False, callbacks=[writer])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["batch_3.png", "batch_6.png", "epoch_1.png", "epoch_2.png"]
    assert png_pixels(tmp_path / "epoch_2.png").std() > 5


@pytest.mark.parametrize("settings", ["document", "improved"])
def test_fused_aae_iteration_updates_every_variable_as_the_classic_one(settings):
    """Every variable, the improved settings' weight averages included."""
    from keras_gan import AAE

    aae = AAE(latent_dim=3, img_size=8, seed=0, settings=settings)
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    aae.train_iteration(x)  # builds optimizers, traces the classic path
    model = aae.adversarial_model
    model.compile(
        d_optimizer=aae.discriminator.optimizer,
        g_optimizer=aae.combined.optimizer,
        jit_compile=False,
    )
    build_optimizers(model)
    variables = (
        list(aae.encoder.variables)
        + list(aae.decoder.variables)
        + list(aae.discriminator.variables)
        + list(model.d_optimizer.variables)
        + list(model.g_optimizer.variables)
        + [aae.seed_generator.state]
    )
    nets = (aae.ema_encoder, aae.ema_decoder)
    averages = [v for net in nets if net is not None for v in net.weights]
    variables += averages
    start, classic, _, _ = from_the_same_start(
        variables, lambda: aae.train_iteration(x), lambda: model.train_on_batch(x)
    )
    moved = 0
    for v, a, s in zip(variables, classic, start):
        np.testing.assert_allclose(v.numpy(), a, rtol=1e-4, atol=1e-5, err_msg=v.path)
        moved += not np.array_equal(a, s)
    assert moved > len(aae.discriminator.trainable_weights)
    if settings == "improved":
        assert averages and not np.array_equal(averages[0].numpy(), start[-len(averages)])


def test_aae_fit_trains_and_resumes(tmp_path):
    from keras_gan import AAE

    x = np.random.default_rng(0).integers(0, 256, (48, 28, 28), dtype=np.uint8)
    args = dict(batch_size=16, verbose=0, jit_compile=False)
    straight = AAE(latent_dim=3, img_size=8, seed=0)
    h = straight.fit(x, epochs=2, **args)
    assert set(h.history) == {"d_loss", "g_loss"} and len(h.history["g_loss"]) == 2
    first = AAE(latent_dim=3, img_size=8, seed=0)
    first.fit(x, epochs=1, checkpoint_dir=tmp_path, **args)
    resumed = AAE(latent_dim=3, img_size=8, seed=0)
    resumed.fit(x, epochs=2, checkpoint_dir=tmp_path, resume=True, **args)
    for a, b in zip(straight.decoder.weights, resumed.decoder.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_update_batch_norm_statistics_is_the_average_of_batch_statistics():
    """Dense -> BN -> GaussianNoise -> nested (Dense -> BN): the first BN's
    statistics become the mean of the batches' means and (biased) variances,
    the nested one's those of what it received in training mode; momentum
    and the noise layer's seed state are put back; frozen BN is refused."""
    keras.utils.set_random_seed(0)
    inner = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(3), keras.layers.BatchNormalization()]
    )
    first = keras.layers.Dense(3)
    bn = keras.layers.BatchNormalization(momentum=0.8)
    noise = keras.layers.GaussianNoise(0.1, seed=1)
    net = keras.Sequential([keras.Input((4,)), first, bn, noise, inner])
    rng = np.random.default_rng(0)
    batches = [rng.normal(2.0, 3.0, (16, 4)).astype("float32") for _ in range(5)]
    seed_state = noise.seed_generator.state.numpy().copy()
    weights = [w.numpy().copy() for w in net.trainable_weights]

    n = update_batch_norm_statistics([net], lambda b: net(b, training=True), batches)

    assert n == 5
    h = [np.asarray(first(b)) for b in batches]
    np.testing.assert_allclose(
        bn.moving_mean.numpy(), np.mean([x.mean(0) for x in h], 0), rtol=1e-5
    )
    np.testing.assert_allclose(
        bn.moving_variance.numpy(), np.mean([x.var(0) for x in h], 0), rtol=1e-5
    )
    assert bn.momentum == 0.8 and inner.layers[-1].momentum == 0.99
    np.testing.assert_array_equal(noise.seed_generator.state.numpy(), seed_state)
    for before, w in zip(weights, net.trainable_weights):
        np.testing.assert_array_equal(before, w.numpy())
    # the nested layer moved off its initial statistics (0 / 1)
    assert np.abs(inner.layers[-1].moving_mean.numpy()).max() > 1e-3

    bn.trainable = False
    with pytest.raises(ValueError, match="frozen"):
        update_batch_norm_statistics([net], lambda b: net(b, training=True), batches)
    bn.trainable = True
    with pytest.raises(ValueError, match="no batches"):
        update_batch_norm_statistics([net], lambda b: net(b, training=True), [])
