import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan import MomentsGAN, viz
from keras_gan import checkpoint as ckpt
from keras_gan.engine import TrainingDivergedError, build_optimizers
from keras_gan.layers import MeanDiffs, Moments, RawValues
from keras_gan.moments import MomentsAdversarial

from .conftest import from_the_same_start, png_pixels


def snapshot(model):
    return [v.numpy().copy() for v in model.weights]


def changed(before, model):
    return [not np.array_equal(a, v.numpy()) for a, v in zip(before, model.weights)]


@pytest.fixture
def small():
    """The document's networks on minibatches of 50 values (fast)."""
    return MomentsGAN(seed=0, minibatch_size=50)


def test_networks_are_the_documents():
    gan = MomentsGAN(seed=0)
    g, d = gan.generator, gan.discriminator
    assert [layer.units for layer in g.layers] == [5, 5, 1]
    assert [layer.activation.__name__ for layer in g.layers] == ["tanh", "tanh", "linear"]
    assert g.input_shape == (None, 1) and g.output_shape == (None, 1)
    assert isinstance(d.layers[0], Moments) and d.input_shape == (None, 500)
    assert [layer.units for layer in d.layers[1:]] == [10, 10, 1]
    assert [layer.activation.__name__ for layer in d.layers[1:]] == ["sigmoid"] * 3
    assert d.layers[1].kernel.shape == (4, 10)  # mean, std, skew, kurtosis
    for opt in (gan.d_optimizer, gan.g_optimizer):
        assert isinstance(opt, keras.optimizers.SGD)
        assert np.isclose(float(opt.learning_rate), 1e-3) and opt.momentum == 0.9


@pytest.mark.parametrize(
    "preprocess, cls, width",
    [("raw", RawValues, 500), ("diffs", MeanDiffs, 1000), ("variances", MeanDiffs, 1000)],
)
def test_preprocess_choice_is_a_layer_inside_d(preprocess, cls, width):
    d = MomentsGAN(preprocess, seed=0).discriminator
    assert isinstance(d.layers[0], cls) and d.layers[1].kernel.shape == (width, 10)


def test_pytorch_initialisation_and_the_keras_option():
    gan = MomentsGAN(seed=0, init="pytorch")
    for layer in [*gan.generator.layers, *gan.discriminator.layers[1:]]:
        bound = 1 / math.sqrt(layer.kernel.shape[0])  # nn.Linear: U(-1/sqrt(fan_in), ...)
        for w in (layer.kernel.numpy(), layer.bias.numpy()):
            assert np.abs(w).max() <= bound
        assert np.abs(layer.bias.numpy()).max() > 0.05 * bound  # biases are drawn too
    keras_init = MomentsGAN(seed=0, init="keras")
    assert all(
        np.all(layer.bias.numpy() == 0)
        for layer in [*keras_init.generator.layers, *keras_init.discriminator.layers[1:]]
    )


def test_noise_is_uniform_and_real_data_gaussian(small):
    z = small.noise((20000,))
    assert z.dtype == np.float32 and z.min() >= 0 and z.max() < 1
    assert abs(z.mean() - 0.5) < 0.01 and abs(z.std() - math.sqrt(1 / 12)) < 0.01
    r = small.real_samples((20000,))
    assert abs(r.mean() - 4) < 0.05 and abs(r.std() - 1.25) < 0.05


def test_d_step_loss_is_the_documents_sum(small):
    """D's compiled loss over [real; fake] == BCE(real, 1) + BCE(fake, 0)."""
    pair = np.stack([small.real_samples((50,)), small.noise((50,))]).astype(np.float32)
    p_real, p_fake = small.discriminator(pair).numpy()[:, 0]
    expected = -math.log(p_real) - math.log(1 - p_fake)
    loss = small.discriminator.train_on_batch(pair, np.array([[1.0], [0.0]], np.float32))
    assert np.isclose(loss, expected, rtol=1e-5)


def test_freezing_facts(small):
    pair = np.stack([small.real_samples((50,)), small.noise((50,))]).astype(np.float32)
    g0, d0 = snapshot(small.generator), snapshot(small.discriminator)
    small.discriminator.train_on_batch(pair, np.array([[1.0], [0.0]], np.float32))
    assert all(changed(d0, small.discriminator)), "the D step must update every D variable"
    assert not any(changed(g0, small.generator)), "the D step must not touch G"
    for _ in range(2):
        g0, d0 = snapshot(small.generator), snapshot(small.discriminator)
        small.combined.train_on_batch(small.noise((1, 50)), np.ones((1, 1), np.float32))
        assert all(changed(g0, small.generator)), "the combined step must update G"
        assert not any(changed(d0, small.discriminator)), "the combined step must not touch D"


def test_combined_reads_a_row_of_noise_as_one_minibatch(small):
    z = small.noise((3, 50))
    expected = small.discriminator(small.generator(z.reshape(-1, 1)).numpy().reshape(3, 50))
    np.testing.assert_allclose(small.combined(z).numpy(), expected.numpy(), rtol=1e-6)


def test_train_prints_the_documents_line_and_returns_history(small, capsys):
    history = small.train(epochs=5, d_steps=2, g_steps=3, print_interval=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["Epoch 0", "Epoch 2", "Epoch 4"]
    assert "real_err" in lines[0] and "fake_err" in lines[0] and "Fake Dist ([" in lines[0]
    keys = [
        "d_fake_error",
        "d_real_error",
        "fake_mean",
        "fake_std",
        "g_error",
        "real_mean",
        "real_std",
    ]
    assert sorted(history.history) == keys
    assert all(len(v) == 5 and all(map(math.isfinite, v)) for v in history.history.values())
    assert small.epochs == 5
    small.train(epochs=1, d_steps=1, g_steps=1, print_interval=0)
    assert small.epochs == 6 and capsys.readouterr().out == ""


def test_short_run_reaches_the_target_mean():
    """200 short epochs (5 + 5 steps, minibatch 100, lr 3e-3): ~2,000 updates.

    The untrained generator sits near 0, |mean - 4| ~ 4. The GAN's mean
    travels to 4 and (in this early phase) overshoots, so the test asserts
    the closest approach: at some epoch the generated minibatch's mean is
    within 0.4 of 4, a 10-fold reduction, on each seed tried (0-3). Fitting
    the std takes the document's thousands of epochs: see
    scripts/eval_gaussian_quality.py.
    """
    gan = MomentsGAN(seed=0, minibatch_size=100, d_learning_rate=3e-3, g_learning_rate=3e-3)
    before = abs(gan.generate(10000).mean() - 4)
    history = gan.train(epochs=200, d_steps=5, g_steps=5, print_interval=0)
    closest = np.abs(np.array(history.history["fake_mean"]) - 4).min()
    assert before > 3.5 and closest < before / 10, (before, closest)


def test_d_weight_decay_option():
    assert MomentsGAN(seed=0).d_optimizer.weight_decay is None  # the document's SGD
    gan = MomentsGAN(seed=0, minibatch_size=50, d_weight_decay=0.1)
    assert gan.d_optimizer.weight_decay == 0.1 and gan.g_optimizer.weight_decay is None
    with pytest.raises(ValueError, match=r"Received: d_weight_decay=-1"):
        MomentsGAN(d_weight_decay=-1)


def test_label_smoothing_sets_the_real_target(small):
    smooth = MomentsGAN(seed=0, minibatch_size=50, label_smoothing=0.1)
    h = smooth.train(epochs=1, d_steps=1, g_steps=1, print_interval=0).history
    assert h["d_real_error"][0] > 0.3  # BCE against 0.9 never reaches 0


@pytest.mark.parametrize("preprocess", ["raw", "diffs", "variances", "moments"])
def test_discriminator_keras_round_trip(preprocess, tmp_path):
    gan = MomentsGAN(preprocess, seed=0, minibatch_size=40)
    gan.train(epochs=1, d_steps=1, g_steps=1, print_interval=0)
    rows = np.stack([gan.real_samples((40,)), gan.noise((40,))])
    path = tmp_path / "d.keras"
    gan.discriminator.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded(rows).numpy(), gan.discriminator(rows).numpy())


def test_generate_and_plots(small, tmp_path):
    history = small.train(epochs=3, d_steps=1, g_steps=1, print_interval=0)
    values = small.generate(1000)
    assert values.shape == (1000,) and values.dtype == np.float32
    hist = viz.plot_histogram_1d(small.real_samples(1000), values, tmp_path / "h.png", 4.0, 1.25)
    stats = viz.plot_stats_over_training(
        history.epoch,
        history.history["fake_mean"],
        history.history["fake_std"],
        tmp_path / "s.png",
        4.0,
        1.25,
    )
    for path in (hist, stats):
        px = png_pixels(path)
        assert px.std() > 10 and px.min() < 100  # drawn, not blank
    with pytest.raises(ValueError, match=r"equally long. Received: 3, 2, 3"):
        viz.plot_stats_over_training([0, 1, 2], [1, 2], [1, 2, 3], tmp_path / "x.png", 4, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"preprocess": "cubes"}, r"Received: preprocess='cubes'"),
        ({"init": "xavier"}, r"init must be one of 'pytorch', 'keras'. Received: init='xavier'"),
        ({"minibatch_size": 0}, r"Received: minibatch_size=0"),
        (
            {"data_stddev": -1.0},
            r"data_stddev must be a positive number. Received: data_stddev=-1.0",
        ),
        ({"data_mean": float("nan")}, r"Received: data_mean=nan"),
        ({"data_mean": "4"}, r"Received: data_mean='4'"),
        ({"d_learning_rate": 0}, r"Received: d_learning_rate=0"),
        ({"momentum": 1.0}, r"Received: momentum=1.0"),
        ({"label_smoothing": 0.5}, r"Received: label_smoothing=0.5"),
        ({"g_hidden_size": 2.5}, r"Received: g_hidden_size=2.5"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MomentsGAN(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, r"Received: epochs=0"),
        ({"d_steps": -1}, r"Received: d_steps=-1"),
        ({"g_steps": 0}, r"Received: g_steps=0"),
        ({"print_interval": -5}, r"Received: print_interval=-5"),
    ],
)
def test_bad_training_arguments(small, kwargs, message):
    with pytest.raises(ValueError, match=message):
        small.train(**kwargs)


# ------------------------------------------------------------------ fit()


class FedSamples(MomentsAdversarial):
    """Test-only sampling hooks: the given real and noise rows, in order."""

    def __init__(self, gan, real, noise, **kwargs):
        super().__init__(gan, d_steps=len(real), g_steps=len(noise) - len(real), **kwargs)
        self.fed = [tf.constant(real), tf.constant(noise), tf.Variable(0), tf.Variable(0)]

    def _next(self, rows, counter):
        i = counter.assign_add(1) - 1  # in-graph: the steps run in a tf.while_loop
        return tf.gather(rows, tf.reshape(i, (1,)))  # (1, m)

    def sample_real(self):
        return self._next(self.fed[0], self.fed[2])

    def sample_noise(self):
        return self._next(self.fed[1], self.fed[3])


@pytest.mark.parametrize(
    "options", [{}, {"label_smoothing": 0.1, "d_weight_decay": 0.5, "momentum": 0.5}]
)
def test_fused_step_updates_every_variable_as_the_classic_epoch(options):
    m, d_steps, g_steps = 16, 2, 3
    gan = MomentsGAN(seed=0, minibatch_size=m, **options)
    gan.train(epochs=1, d_steps=d_steps, g_steps=g_steps, print_interval=0)  # momentum != 0
    rng = np.random.default_rng(1)
    real = rng.normal(4.0, 1.25, (d_steps, m)).astype("float32")
    z_d = rng.random((d_steps, m), dtype=np.float32)
    z_g = rng.random((g_steps, m), dtype=np.float32)
    # the classic loop draws all D rows, then all D noise, then all G noise
    gan.real_samples = lambda shape, rng=None: real.reshape(shape)
    noise = iter([z_d, z_g.reshape(g_steps, 1, m)])
    gan.noise = lambda shape, rng=None: next(noise)
    model = FedSamples(gan, real, np.concatenate([z_d, z_g]))  # draws D rows, then G's
    model.compile(d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer, jit_compile=False)
    build_optimizers(model)
    variables = (
        gan.generator.variables
        + gan.discriminator.variables
        + gan.d_optimizer.variables
        + gan.g_optimizer.variables
    )
    fakes = gan.generator(z_d.reshape(-1, 1)).numpy().reshape(d_steps, m)

    start, classic, _, logs = from_the_same_start(
        variables,
        lambda: gan.train(epochs=1, d_steps=d_steps, g_steps=g_steps, print_interval=0),
        lambda: model.train_on_batch(np.zeros((1, 1), "float32"), return_dict=True),
    )

    for v, a, s in zip(variables, classic, start):
        # the updates themselves agree (measured: to ~1e-11; weights move ~1e-5)
        np.testing.assert_allclose(v.numpy() - s, a - s, rtol=1e-5, atol=1e-9, err_msg=v.path)
    moving = [
        *gan.generator.trainable_weights,
        *gan.discriminator.trainable_weights,
        *[v for v in gan.d_optimizer.variables + gan.g_optimizer.variables if "momentum" in v.path],
    ]
    assert len(moving) == 2 * (6 + 6)
    moved = {id(v) for v, a, s in zip(variables, classic, start) if not np.array_equal(a, s)}
    assert all(id(v) in moved for v in moving)
    assert (
        int(gan.d_optimizer.iterations) == 2 * d_steps
        and int(gan.g_optimizer.iterations) == 2 * g_steps
    )
    # the history's fake stats: the D steps' generated minibatches, averaged
    np.testing.assert_allclose(logs["fake_mean"], fakes.mean(1).mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["fake_std"], fakes.std(1).mean(), rtol=1e-4)


def test_fit_history_and_mixing_with_train():
    gan = MomentsGAN(seed=0, minibatch_size=20)
    gan.train(epochs=2, d_steps=1, g_steps=1, print_interval=0)
    h = gan.fit(epochs=4, d_steps=2, g_steps=3, log_interval=2, verbose=0, jit_compile=False)
    assert isinstance(h, keras.callbacks.History)
    assert sorted(h.history) == ["d_loss", "fake_mean", "fake_std", "g_loss"]
    assert all(len(v) == 2 and all(map(math.isfinite, v)) for v in h.history.values())
    assert 0 < h.history["fake_std"][-1] < 5 and h.epoch == [0, 1]
    # one step = one document epoch: 2 D and 3 G updates each, on the SAME
    # optimizers as train()'s 2 epochs of 1 + 1
    assert gan.epochs == 6
    assert int(gan.d_optimizer.iterations) == 2 + 4 * 2
    assert int(gan.g_optimizer.iterations) == 2 + 4 * 3
    gan.fit(epochs=3, d_steps=1, g_steps=1, log_interval=3, verbose=0, jit_compile=False)
    assert gan.epochs == 9 and int(gan.d_optimizer.iterations) == 13
    gan.train(epochs=1, d_steps=1, g_steps=1, print_interval=0)
    assert gan.epochs == 10 and int(gan.g_optimizer.iterations) == 18


def test_fit_with_xla_reaches_the_target_mean():
    """fit()'s default (XLA, one call per Keras epoch) on the short run of
    `test_short_run_reaches_the_target_mean`: same closest approach."""
    gan = MomentsGAN(seed=0, minibatch_size=100, d_learning_rate=3e-3, g_learning_rate=3e-3)
    before = abs(gan.generate(10000).mean() - 4)
    h = gan.fit(epochs=200, d_steps=5, g_steps=5, log_interval=5, verbose=0)
    assert gan.fused_model(5, 5).jit_compile is True
    closest = np.abs(np.array(h.history["fake_mean"]) - 4).min()
    assert before > 3.5 and closest < before / 10, (before, closest)


def weights(gan):
    return [v.numpy() for v in gan.generator.variables + gan.discriminator.variables]


def test_train_interrupted_and_resumed_ends_with_the_same_weights(tmp_path):
    args = dict(d_steps=2, g_steps=2, print_interval=0, checkpoint_interval=2)
    straight = MomentsGAN(seed=0, minibatch_size=20)
    h_straight = straight.train(6, checkpoint_dir=tmp_path / "a", **args)
    MomentsGAN(seed=0, minibatch_size=20).train(3, checkpoint_dir=tmp_path / "b", **args)
    resumed = MomentsGAN(seed=0, minibatch_size=20)  # a new process: then the checkpoint
    h = resumed.train(6, checkpoint_dir=tmp_path / "b", resume=True, **args)
    assert resumed.epochs == 6 and h.epoch == list(range(6))
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h.history["g_error"], h_straight.history["g_error"], rtol=1e-6)
    meta = json.loads((tmp_path / "b" / "ckpt-00000006" / "manifest.json").read_text())["meta"]
    assert meta["class"] == "MomentsGAN" and meta["iterations"] == 6
    assert meta["config"] == straight.get_config()
    assert MomentsGAN(**straight.get_config()).get_config() == straight.get_config()


def test_fit_interrupted_and_resumed_ends_with_the_same_weights(tmp_path):
    args = dict(d_steps=2, g_steps=2, log_interval=2, checkpoint_interval=2, verbose=0)
    args.update(jit_compile=False)
    straight = MomentsGAN(seed=0, minibatch_size=20)
    h_straight = straight.fit(6, checkpoint_dir=tmp_path / "a", **args)
    MomentsGAN(seed=0, minibatch_size=20).fit(4, checkpoint_dir=tmp_path / "b", **args)
    resumed = MomentsGAN(seed=0, minibatch_size=20)
    h = resumed.fit(6, checkpoint_dir=tmp_path / "b", resume=True, **args)
    assert resumed.epochs == 6 and h.epoch == [0, 1, 2]
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.history["g_loss"], h_straight.history["g_loss"], rtol=1e-5)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "b")][-1] == "ckpt-00000003"
    with pytest.raises(ValueError, match=r"log_interval=2; resume it.*log_interval=3"):
        MomentsGAN(seed=0, minibatch_size=20).fit(
            6, d_steps=1, g_steps=1, log_interval=3, checkpoint_interval=3,
            checkpoint_dir=tmp_path / "b", resume=True, verbose=0,
        )  # fmt: skip
    fresh = MomentsGAN(seed=0, minibatch_size=20)
    g0 = [w.numpy().copy() for w in fresh.generator.weights]
    with pytest.raises(ValueError, match=r"comes from fit\(\), not train\(\)"):
        fresh.train(8, print_interval=0, checkpoint_dir=tmp_path / "b", resume=True)
    assert fresh.epochs == 0  # refused before anything was restored
    for a, w in zip(g0, fresh.generator.weights):
        np.testing.assert_array_equal(a, w.numpy())


def test_checkpoint_of_another_configuration_is_refused(tmp_path):
    MomentsGAN(seed=0, minibatch_size=20).train(
        1, d_steps=1, g_steps=1, print_interval=0, checkpoint_dir=tmp_path
    )
    with pytest.raises(ValueError, match=r"minibatch_size.*20.*this model has.*minibatch_size.*30"):
        MomentsGAN(seed=0, minibatch_size=30).train(
            2, print_interval=0, checkpoint_dir=tmp_path, resume=True
        )
    with pytest.raises(ValueError, match=r"label_smoothing"):
        MomentsGAN(minibatch_size=20, label_smoothing=0.2).restore_checkpoint(tmp_path)
    with pytest.raises(ValueError, match=r"'settings': 'stable'.*this model has.*'document'"):
        MomentsGAN(minibatch_size=20, settings="document").restore_checkpoint(tmp_path)
    with pytest.raises(ValueError, match=r"comes from train\(\), not fit\(\)"):
        MomentsGAN(seed=0, minibatch_size=20).fit(
            2, log_interval=1, checkpoint_interval=1, checkpoint_dir=tmp_path, resume=True
        )


def test_a_checkpoint_from_before_the_settings_resumes_as_the_document(tmp_path):
    """MomentsGAN checkpoints written before `settings` existed (its first
    versions wrote every other key, label smoothing included) describe the
    50-line document's GAN: `settings="document"` resumes them, the default
    "stable" (another label smoothing) is refused."""
    gan = MomentsGAN(seed=0, minibatch_size=20, settings="document")
    gan.train(1, d_steps=1, g_steps=1, print_interval=0)
    older = {k: v for k, v in gan.get_config().items() if k not in MomentsGAN.CONFIG_ADDED}
    assert "settings" not in older and older["label_smoothing"] == 0.0
    gan.get_config = lambda: older
    gan.save_checkpoint(tmp_path, {"g_loss": [1.0]}, 1)
    fresh = MomentsGAN(seed=0, minibatch_size=20, settings="document")
    assert fresh.restore_checkpoint(tmp_path)["iterations"] == 1
    for a, b in zip(gan.generator.weights, fresh.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match=r"label_smoothing.*0.0.*this model has"):
        MomentsGAN(seed=0, minibatch_size=20).restore_checkpoint(tmp_path)


def test_nan_raises_naming_the_epoch(tmp_path):
    gan = MomentsGAN(seed=0, minibatch_size=20)
    gan.train(2, d_steps=1, g_steps=1, print_interval=0)
    for v in gan.generator.trainable_weights:
        v.assign(np.full(v.shape, np.nan, "float32"))
    with pytest.raises(TrainingDivergedError, match=r"at epoch 2: d_fake_error=nan"):
        gan.train(2, d_steps=1, g_steps=1, print_interval=0, checkpoint_dir=tmp_path)
    gan.epochs = 4
    with pytest.raises(TrainingDivergedError, match=r"epoch 0: d_loss=nan.*document epochs 4 to 6"):
        gan.fit(6, d_steps=1, g_steps=1, log_interval=3, checkpoint_interval=3,
                verbose=0, jit_compile=False, checkpoint_dir=tmp_path)  # fmt: skip
    assert ckpt.list_checkpoints(tmp_path) == []  # nothing NaN was written


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 150}, r"epochs must be a multiple of log_interval \(100\).*epochs=150"),
        ({"checkpoint_interval": 150}, r"Received: checkpoint_interval=150"),
        ({"steps_per_execution": 30}, r"divide log_interval \(100\).*execution=30"),
        ({"log_interval": 0}, r"Received: log_interval=0"),
        ({"d_steps": 0}, r"Received: d_steps=0"),
        ({"resume": True}, r"resume=True needs a checkpoint_dir"),
    ],
)
def test_bad_fit_arguments(small, kwargs, message):
    with pytest.raises(ValueError, match=message):
        small.fit(**{"epochs": 100, "verbose": 0, **kwargs})


def test_default_settings_add_label_smoothing_and_the_document_stays_available():
    assert MomentsGAN(minibatch_size=20).label_smoothing == 0.1
    doc = MomentsGAN(minibatch_size=20, settings="document")
    assert doc.label_smoothing == 0.0 and doc.get_config()["settings"] == "document"
    explicit = MomentsGAN(minibatch_size=20, settings="document", label_smoothing=0.2)
    assert explicit.label_smoothing == 0.2 and explicit.fused_model(1, 1).real_label == 0.8
    with pytest.raises(
        ValueError,
        match=r"settings must be one of 'document', 'stable'\. "
        r"Received: settings='fast'",
    ):
        MomentsGAN(settings="fast")
