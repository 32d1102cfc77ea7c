import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan import DCGAN
from keras_gan.checkpoint import CheckpointError
from keras_gan.engine import TrainingDivergedError, build_optimizers, r1_penalty

from .conftest import from_the_same_start, png_pixels


def snapshot(model):
    return [v.numpy().copy() for v in model.weights]


def changed(before, model):
    return [not np.array_equal(a, v.numpy()) for a, v in zip(before, model.weights)]


@pytest.fixture
def small_gan():
    return DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=1)


def test_generator_is_the_documents_network_layer_for_layer():
    g = DCGAN(seed=0).build_generator()
    assert [type(layer).__name__ for layer in g.layers] == [
        "Dense",
        "Reshape",
        "UpSampling2D",
        "Conv2D",
        "BatchNormalization",
        "Activation",
        "UpSampling2D",
        "Conv2D",
        "BatchNormalization",
        "Activation",
        "Conv2D",
        "Activation",
    ]
    dense, reshape = g.layers[0], g.layers[1]
    assert dense.units == 128 * 7 * 7 and dense.activation.__name__ == "relu"
    assert reshape.target_shape == (7, 7, 128)
    assert [layer.filters for layer in g.layers if hasattr(layer, "filters")] == [128, 64, 1]
    assert all(
        layer.kernel_size == (3, 3) and layer.padding == "same"
        for layer in g.layers
        if isinstance(layer, keras.layers.Conv2D)
    )
    assert all(
        layer.momentum == 0.8
        for layer in g.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    )
    assert [
        layer.activation.__name__
        for layer in g.layers
        if isinstance(layer, keras.layers.Activation)
    ] == ["relu", "relu", "tanh"]
    assert g.input_shape == (None, 100) and g.output_shape == (None, 28, 28, 1)


def test_fast_upsampling_is_the_same_generator_with_fewer_operations():
    """fast_upsampling=True swaps each UpSampling2D + Conv2D pair for one
    UpSamplingConv2D: the same initial weights and images (to float
    rounding), and one training iteration from the same state gives the
    same losses and, to within two Adam steps, the same weights."""
    kw = dict(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    plain, fast = DCGAN(**kw), DCGAN(fast_upsampling=True, **kw)
    names = [type(layer).__name__ for layer in fast.generator.layers]
    assert names.count("UpSamplingConv2D") == 2 and "UpSampling2D" not in names
    assert fast.get_config()["fast_upsampling"] and not plain.get_config()["fast_upsampling"]
    for a, b in zip(plain.generator.weights, fast.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    z = np.random.default_rng(0).normal(size=(5, 8)).astype("float32")
    np.testing.assert_allclose(fast.generator(z), plain.generator(z), atol=1e-5)
    x = np.random.default_rng(1).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    logs_plain, logs_fast = plain.train_iteration(x), fast.train_iteration(x)
    for key in ("d_loss", "g_loss"):
        assert logs_fast[key] == pytest.approx(logs_plain[key], rel=1e-4), key
    moved = 0
    for a, b, start in zip(
        plain.generator.weights, fast.generator.weights, snapshot(DCGAN(**kw).generator)
    ):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=2 * 2e-4 + 1e-6)
        moved += not np.allclose(b.numpy(), start)
    assert moved >= 10  # the iteration did train G (kernels, biases, BN)
    mixed = DCGAN(mixed_precision=True, fast_upsampling=True, **kw)
    up = next(
        layer for layer in mixed.generator.layers if type(layer).__name__ == "UpSamplingConv2D"
    )
    assert up.compute_dtype == "bfloat16" and mixed.generate(2).dtype == np.float32


def test_discriminator_is_the_documents_network_layer_for_layer():
    d = DCGAN(seed=0).build_discriminator()
    assert [type(layer).__name__ for layer in d.layers] == [
        "Conv2D",
        "LeakyReLU",
        "Dropout",
        "Conv2D",
        "ZeroPadding2D",
        "BatchNormalization",
        "LeakyReLU",
        "Dropout",
        "Conv2D",
        "BatchNormalization",
        "LeakyReLU",
        "Dropout",
        "Conv2D",
        "BatchNormalization",
        "LeakyReLU",
        "Dropout",
        "Flatten",
        "Dense",
    ]
    convs = [layer for layer in d.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.strides) for c in convs] == [
        (32, (2, 2)),
        (64, (2, 2)),
        (128, (2, 2)),
        (256, (1, 1)),
    ]
    assert all(c.kernel_size == (3, 3) and c.padding == "same" for c in convs)
    assert all(
        layer.negative_slope == pytest.approx(0.2)
        for layer in d.layers
        if isinstance(layer, keras.layers.LeakyReLU)
    )
    assert all(layer.rate == 0.25 for layer in d.layers if isinstance(layer, keras.layers.Dropout))
    assert d.layers[4].padding == ((0, 1), (0, 1))
    assert d.layers[-1].units == 1 and d.layers[-1].activation.__name__ == "sigmoid"
    assert d.output_shape == (None, 1)


def test_optimizers_losses_and_accuracy_match_the_document():
    gan = DCGAN(seed=0)
    for model in (gan.discriminator, gan.combined):
        opt = model.optimizer
        assert isinstance(opt, keras.optimizers.Adam)
        assert float(opt.learning_rate) == pytest.approx(0.0002)
        assert float(opt.beta_1) == pytest.approx(0.5)
    assert gan.discriminator.optimizer is not gan.combined.optimizer
    assert gan.combined.generator is gan.generator
    assert gan.combined.discriminator is gan.discriminator


def test_discriminator_learns_in_its_own_step_even_after_a_retrace(small_gan):
    d = small_gan.discriminator
    x = np.random.default_rng(0).uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    for batch in (8, 5):  # a new batch size makes Keras trace the step again
        before = snapshot(d)
        d.train_on_batch(x[:batch], np.ones((batch, 1)))
        flags = changed(before, d)
        trainable = [v.trainable for v in d.weights]
        # every trainable weight moved; BN moving statistics moved too
        assert all(flags), (batch, flags, trainable)


def test_combined_step_trains_the_generator_only(small_gan):
    gan = small_gan
    z = np.random.default_rng(0).normal(size=(8, 8)).astype("float32")
    # train D first so its train function is traced before the combined one,
    # then the combined step at two batch sizes (a retrace), then D again
    gan.discriminator.train_on_batch(gan.generate(8), np.zeros((8, 1)))
    for batch in (8, 3):
        d_before, g_before = snapshot(gan.discriminator), snapshot(gan.generator)
        gan.combined.train_on_batch(z[:batch], np.ones((batch, 1)))
        assert not any(changed(d_before, gan.discriminator)), "D changed in the G step"
        g_changed = changed(g_before, gan.generator)
        assert all(g_changed[i] for i, v in enumerate(gan.generator.weights) if v.trainable)
    before = snapshot(gan.discriminator)
    gan.discriminator.train_on_batch(gan.generate(8), np.zeros((8, 1)))
    assert all(changed(before, gan.discriminator))
    assert {id(v) for v in gan.combined.trainable_weights} == {
        id(v) for v in gan.generator.trainable_weights
    }


def test_keras2_idiom_really_leaves_d_untrained_in_keras3():
    """The trap the combined model avoids: D.trainable=False before tracing."""
    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=2)
    d = gan.build_discriminator()
    d.compile(loss="binary_crossentropy", optimizer="adam")
    d.trainable = False
    combined = keras.Model(gan.generator.inputs, d(gan.generator.outputs[0]))
    combined.compile(loss="binary_crossentropy", optimizer="adam")
    before = snapshot(d)
    # Keras says so only as a warning, at D's first train step
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        d.train_on_batch(np.zeros((4, 8, 8, 1)), np.ones((4, 1)))
    assert not any(changed(before, d))


def test_train_history_samples_and_continuation(small_gan, tiny_images, tmp_path):
    hist = small_gan.train(
        5, batch_size=16, save_interval=2, x_train=tiny_images, sample_dir=tmp_path, verbose=0
    )
    assert set(hist.history) == {"d_loss", "d_acc", "g_loss"}
    assert all(len(v) == 5 for v in hist.history.values())
    assert all(0.0 <= a <= 1.0 for a in hist.history["d_acc"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mnist_0.png",
        "mnist_2.png",
        "mnist_4.png",
    ]
    hist2 = small_gan.train(
        2, batch_size=16, save_interval=1, x_train=tiny_images, sample_dir=tmp_path, verbose=0
    )
    assert hist2.epoch == [5, 6] and small_gan.iterations == 7
    pixels = png_pixels(tmp_path / "mnist_6.png")
    assert pixels.shape[0] >= 100 and pixels.shape[1] >= 100
    assert pixels.std() > 5, "grid is blank"


def test_save_imgs_writes_a_5x5_grid(tmp_path):
    gan = DCGAN(seed=0)
    gan.sample_dir = str(tmp_path)
    path = gan.save_imgs(7)
    assert path.endswith("mnist_7.png")
    pixels = png_pixels(path)
    assert pixels.std() > 5


def test_generate_shape_range_and_seeded_repeatability():
    a = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=3)
    b = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=3)
    ga, gb = a.generate(6), b.generate(6)
    assert ga.shape == (6, 8, 8, 1) and ga.dtype == np.float32
    assert ga.min() >= -1 and ga.max() <= 1
    np.testing.assert_array_equal(ga, gb)


def test_seeded_training_repeats(tiny_images):
    runs = []
    for _ in range(2):
        gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=5)
        h = gan.train(3, batch_size=8, save_interval=0, x_train=tiny_images, verbose=0)
        runs.append((h.history["g_loss"], snapshot(gan.generator)))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_other_image_sizes_and_channels(tmp_path):
    gan = DCGAN(latent_dim=4, img_shape=(12, 16, 3), seed=0)
    assert gan.generate(2).shape == (2, 12, 16, 3)
    x = np.random.default_rng(0).integers(0, 256, (10, 12, 16, 3), dtype=np.uint8)
    gan.train(1, batch_size=4, save_interval=1, x_train=x, sample_dir=tmp_path, verbose=0)
    assert (tmp_path / "mnist_0.png").is_file()


def test_generator_keras_round_trip(tmp_path):
    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    path = tmp_path / "generator.keras"
    gan.generator.save(path)
    loaded = keras.saving.load_model(path)
    z = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_allclose(
        loaded(z, training=False), gan.generator(z, training=False), atol=1e-6
    )


def test_mnist_default_data_is_used_and_scaled(monkeypatch, mnist_path):
    import keras_gan.data as data_lib

    seen = {}
    real_prepare = data_lib.prepare_images

    def spy(x, img_shape, name="x_train"):
        out = real_prepare(x[:64], img_shape, name)
        seen["range"] = (out.min(), out.max())
        seen["shape"] = out.shape
        return out

    monkeypatch.setenv("KERAS_GAN_MNIST", str(mnist_path))
    monkeypatch.setattr(data_lib, "prepare_images", spy)
    DCGAN(seed=0).train(1, batch_size=4, save_interval=0, verbose=0)
    assert seen["shape"] == (64, 28, 28, 1) and seen["range"] == (-1.0, 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"latent_dim": 0}, r"latent_dim must be a positive integer. Received: latent_dim=0"),
        ({"latent_dim": 2.5}, r"Received: latent_dim=2.5"),
        ({"img_shape": (30, 28, 1)}, r"multiples of 4.*\(30, 28, 1\)"),
        ({"img_shape": (28, 28)}, r"three positive integers.*\(28, 28\)"),
        ({"img_shape": (28, 28, 0)}, r"three positive integers"),
        ({"seed": -1}, r"seed must be an integer >= 0. Received: seed=-1"),
        ({"settings": "best"}, r"settings must be one of 'document', 'improved'.*'best'"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\). Received: dropout=1.0"),
        ({"label_smoothing": 0.5}, r"label_smoothing must be .* Received: label_smoothing=0.5"),
        ({"learning_rate": 0}, r"learning_rate must be a positive number. Received: "),
        ({"ema_decay": True}, r"ema_decay must be a number .* Received: ema_decay=True"),
        (
            {"d_normalization": "group"},
            r"d_normalization must be one of 'batch', 'layer', 'none'. Received: "
            r"d_normalization='group'",
        ),
        ({"d_normalization": False}, r"Received: d_normalization=False"),
        (
            {"lr_decay_fraction": 1.5},
            r"lr_decay_fraction must be a number in \[0, 1\]. Received: lr_decay_fraction=1.5",
        ),
        ({"lr_decay_fraction": True}, r"Received: lr_decay_fraction=True"),
        ({"lr_decay_fraction": -0.1}, r"Received: lr_decay_fraction=-0.1"),
        ({"r1_gamma": -1.0}, r"r1_gamma must be a non-negative number. Received: r1_gamma=-1.0"),
        ({"r1_gamma": float("nan")}, r"Received: r1_gamma=nan"),
        ({"r1_gamma": "1"}, r"Received: r1_gamma='1'"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DCGAN(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, r"epochs must be a positive integer. Received: epochs=0"),
        ({"batch_size": -4}, r"batch_size must be a positive integer. Received: batch_size=-4"),
        ({"save_interval": -1}, r"save_interval must be an integer >= 0"),
        ({"batch_size": 65}, r"batch_size must not exceed the number of images \(64\)"),
        (
            {"x_train": np.zeros((4, 28, 28), "uint8")},
            r"shape \(n, 8, 8, 1\).*Received: shape \(4, 28, 28, 1\)",
        ),
        ({"x_train": np.full((4, 8, 8), np.nan, "float32")}, r"NaN or infinite"),
        (
            {"x_train": np.full((4, 8, 8), 3.0, "float32")},
            r"\[-1, 1\].*Received: values in \[3, 3\]",
        ),
        ({"x_train": np.zeros((0, 8, 8), "uint8")}, r"empty"),
        ({"x_train": np.array([["a"]])}, r"dtype <U1"),
    ],
)
def test_bad_train_arguments(small_gan, tiny_images, kwargs, match):
    args = {"epochs": 1, "batch_size": 4, "save_interval": 0, "x_train": tiny_images, "verbose": 0}
    args.update(kwargs)
    if "x_train" in kwargs and "batch_size" not in kwargs:
        args["batch_size"] = 1
    with pytest.raises(ValueError, match=match):
        small_gan.train(**args)


def test_divergence_is_reported_with_iteration(small_gan, tiny_images, monkeypatch):
    small_gan.train(1, batch_size=8, save_interval=0, x_train=tiny_images, verbose=0)
    for v in small_gan.generator.trainable_weights:
        v.assign(np.full(v.shape, np.nan, "float32"))
    with pytest.raises(TrainingDivergedError, match=r"iteration 1: .*=nan"):
        small_gan.train(1, batch_size=8, save_interval=0, x_train=tiny_images, verbose=0)


def test_callbacks_see_every_iteration_and_can_add_logs(small_gan, tiny_images):
    class EveryOther(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append((batch, sorted(logs)))
            if batch % 2 == 0:
                logs["quality"] = float(batch)

    cb = EveryOther()
    h = small_gan.train(
        4, batch_size=8, save_interval=0, x_train=tiny_images, verbose=0, callbacks=[cb]
    )
    assert [b for b, _ in cb.seen] == [0, 1, 2, 3]
    assert cb.seen[0][1] == ["d_acc", "d_loss", "g_loss"]
    np.testing.assert_array_equal(h.history["quality"], [0.0, np.nan, 2.0, np.nan])
    assert len(h.history["g_loss"]) == 4


def test_mixed_precision_on_cpu_is_bfloat16_with_float32_outputs(tiny_images):
    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0, mixed_precision=True)
    assert keras.config.dtype_policy().name == "float32"  # global policy restored
    conv = next(layer for layer in gan.generator.layers if isinstance(layer, keras.layers.Conv2D))
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    images = gan.generate(3)
    assert images.dtype == np.float32 and np.abs(images).max() <= 1
    assert gan.discriminator(images).dtype == "float32"
    h = gan.train(2, batch_size=8, save_interval=0, x_train=tiny_images, verbose=0)
    f = gan.fit(tiny_images, epochs=1, batch_size=16, verbose=0, jit_compile=False)
    assert np.isfinite(h.history["g_loss"]).all() and np.isfinite(f.history["g_loss"]).all()


def test_improved_settings_change_exactly_what_they_name():
    doc = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    imp = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0, settings="improved")
    assert sum(isinstance(x, keras.layers.Dropout) for x in doc.discriminator.layers) == 4
    assert not any(isinstance(x, keras.layers.Dropout) for x in imp.discriminator.layers)
    assert [type(x) for x in doc.generator.layers] == [type(x) for x in imp.generator.layers]
    for gan, rate in ((doc, 2e-4), (imp, 4e-4)):
        for opt in (gan.discriminator.optimizer, gan.combined.optimizer):
            assert float(opt.learning_rate) == pytest.approx(rate)
            assert float(opt.beta_1) == 0.5
    assert doc.ema_generator is None and doc.sampling_generator is doc.generator
    assert imp.sampling_generator is imp.ema_generator is not imp.generator
    assert imp.get_config()["ema_decay"] == 0.995 and imp.label_smoothing == 0.1
    # one argument overrides its settings' value and nothing else
    one = DCGAN(latent_dim=8, img_shape=(8, 8, 1), settings="improved", dropout=0.25)
    assert one.dropout == 0.25 and one.learning_rate == 4e-4
    off = DCGAN(latent_dim=8, img_shape=(8, 8, 1), settings="improved", ema_decay=0)
    assert off.ema_generator is None and off.get_config()["ema_decay"] is None


def test_label_smoothing_is_the_real_target_of_ds_step_only(tiny_images, monkeypatch):
    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0, dropout=0.0, label_smoothing=0.2)
    x = tiny_images[:8, :, :, None].astype("float32") / 127.5 - 1.0
    model = gan.adversarial_model
    p = gan.discriminator(x, training=True)
    smoothed = float(model.discriminator_term_loss(p, True))
    plain = float(model.adversarial_loss(p, True))
    expected = float(keras.losses.binary_crossentropy(np.full((8, 1), 0.8), p).numpy().mean())
    assert smoothed == pytest.approx(expected, rel=1e-5) and smoothed != pytest.approx(plain)
    # the classic iteration trains D on real images against 0.8 (in its own
    # step, for the accuracy), fakes against 0, G through combined against 1
    seen = []
    train_on_batch, real_step = keras.Model.train_on_batch, gan._real_step_fn

    def spy(self, a, y, **kwargs):
        seen.append((self.name, np.unique(y).tolist()))
        return train_on_batch(self, a, y, **kwargs)

    def spy_real(imgs, target):
        seen.append(("real step", np.unique(target).tolist()))
        return real_step(imgs, target)

    monkeypatch.setattr(keras.Model, "train_on_batch", spy)
    monkeypatch.setattr(gan, "_real_step_fn", spy_real)
    gan.train_iteration(x)
    assert seen == [
        ("real step", [pytest.approx(0.8)]),
        ("discriminator", [0.0]),
        ("combined", [1.0]),
    ]


def test_weight_average_follows_the_generator_and_samples_come_from_it(tiny_images, tmp_path):
    gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0, ema_decay=0.5)
    g, avg = gan.generator, gan.ema_generator
    for a, b in zip(avg.weights, g.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    before = [v.numpy().copy() for v in avg.weights]
    gan.train(1, batch_size=8, save_interval=0, x_train=tiny_images, verbose=0)
    for a, b, old in zip(avg.weights, g.weights, before):
        np.testing.assert_allclose(a.numpy(), 0.5 * old + 0.5 * b.numpy(), rtol=1e-5, atol=1e-6)
    assert any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(avg.weights, g.weights))
    # generate() samples the average: same noise through the average, not G
    state = gan.seed_generator.state.numpy().copy()
    images = gan.generate(4)
    gan.seed_generator.state.assign(state)
    z = keras.random.normal((4, 8), seed=gan.seed_generator)
    np.testing.assert_allclose(images, avg(z, training=False), atol=1e-6)
    # the average is checkpointed and restored with the rest
    gan.save_checkpoint(tmp_path)
    again = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0, ema_decay=0.5)
    again.restore_checkpoint(tmp_path)
    for a, b in zip(again.ema_generator.weights, avg.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ------------------------------------------------ issue 8: D's normalisation, rate decay


def layer_types(model):
    return [type(x).__name__ for x in model.layers]


def test_d_normalization_replaces_or_removes_ds_batch_norm_and_nothing_else():
    kw = dict(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    doc = DCGAN(**kw)
    assert layer_types(doc.discriminator).count("BatchNormalization") == 3
    for norm, replacement in (("none", []), ("layer", ["LayerNormalization"])):
        gan = DCGAN(d_normalization=norm, **kw)
        expected = []
        for name in layer_types(doc.discriminator):
            expected += replacement if name == "BatchNormalization" else [name]
        assert layer_types(gan.discriminator) == expected
        assert layer_types(gan.generator) == layer_types(doc.generator)  # G keeps its BN
        assert gan.get_config()["d_normalization"] == norm
        assert gan.discriminator(np.zeros((2, 8, 8, 1), "float32")).shape == (2, 1)
    assert doc.get_config()["d_normalization"] == "batch"
    assert doc.get_config()["lr_decay_fraction"] == 0.0
    # the tutorial's constant rate is a plain float, not a schedule
    for opt in (doc.discriminator.optimizer, doc.combined.optimizer):
        assert isinstance(opt.learning_rate, keras.Variable)
        assert float(opt.learning_rate) == pytest.approx(2e-4)


class RateLog(keras.callbacks.Callback):
    """Both optimizers' rates after every iteration (the next one's rates)."""

    def __init__(self, gan):
        super().__init__()
        self.gan, self.rates = gan, []

    def on_train_batch_end(self, batch, logs=None):
        d, g = self.gan.discriminator.optimizer, self.gan.combined.optimizer
        self.rates.append((float(d.learning_rate), float(g.learning_rate)))


def test_rates_decay_linearly_to_zero_alike_in_train_and_fit(tiny_images):
    kw = dict(latent_dim=8, img_shape=(8, 8, 1), seed=0, learning_rate=4e-4)
    classic = DCGAN(lr_decay_fraction=0.5, **kw)
    log = RateLog(classic)
    classic.train(
        8, batch_size=16, save_interval=0, x_train=tiny_images, verbose=0, callbacks=[log]
    )
    # 8 iterations, the last 4 decaying: the rate of iteration k is
    # 4e-4 * min(1, (8 - k) / 4); D (two steps an iteration) follows G's
    expected = [4e-4 * min(1.0, (8 - k) / 4) for k in range(1, 9)]
    np.testing.assert_allclose([d for d, _ in log.rates], expected, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose([g for _, g in log.rates], expected, rtol=1e-6, atol=1e-12)
    assert int(classic.discriminator.optimizer.iterations) == 16
    # past the run's end the rate is 0: an extra iteration changes no weight
    x = tiny_images[:8, :, :, None].astype("float32") / 127.5 - 1.0
    trained = [w.numpy().copy() for w in classic.generator.trainable_weights]
    trained += [w.numpy().copy() for w in classic.discriminator.trainable_weights]
    classic.train_iteration(x)
    after = classic.generator.trainable_weights + classic.discriminator.trainable_weights
    for a, w in zip(trained, after):
        np.testing.assert_array_equal(a, w.numpy())
    # fit(): 64 images / 16 = 4 iterations an epoch, 2 epochs, the same schedule
    fused = DCGAN(lr_decay_fraction=0.5, **kw)
    flog = RateLog(fused)
    fused.fit(tiny_images, epochs=2, batch_size=16, verbose=0, jit_compile=False, callbacks=[flog])
    np.testing.assert_allclose(flog.rates, log.rates, rtol=1e-6, atol=1e-12)
    # a new run starts again from the full rate
    log.rates.clear()
    classic.train(
        2, batch_size=16, save_interval=0, x_train=tiny_images, verbose=0, callbacks=[log]
    )
    np.testing.assert_allclose([g for _, g in log.rates], [4e-4, 0.0], rtol=1e-6, atol=1e-12)


def test_fused_iteration_equals_the_classic_one_under_a_decaying_rate():
    gan = DCGAN(
        latent_dim=8, img_shape=(8, 8, 1), seed=0, d_normalization="none", lr_decay_fraction=1.0
    )
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    gan.set_run(3, 3)  # a 3-iteration run decaying throughout
    gan.train_iteration(x)  # iteration 0 (full rate); builds and traces the classic path
    model = gan.adversarial_model
    model.compile(
        d_optimizer=gan.discriminator.optimizer,
        g_optimizer=gan.combined.optimizer,
        jit_compile=False,
    )
    build_optimizers(model)
    assert float(gan.combined.optimizer.learning_rate) == pytest.approx(2e-4 * 2 / 3)
    assert float(gan.discriminator.optimizer.learning_rate) == pytest.approx(2e-4 * 2 / 3)
    variables = (
        list(gan.generator.variables)
        + list(gan.discriminator.variables)
        + list(gan.discriminator.optimizer.variables)
        + list(gan.combined.optimizer.variables)
        + [gan.seed_generator.state]
    )
    _, classic, _, _ = from_the_same_start(
        variables, lambda: gan.train_iteration(x), lambda: model.train_on_batch(x)
    )
    for v, a in zip(variables, classic):
        np.testing.assert_allclose(v.numpy(), a, rtol=1e-4, atol=1e-5, err_msg=v.path)


class Kill(keras.callbacks.Callback):
    """Stops a run by raising, as a killed process would stop it."""

    def __init__(self, iteration=None, epoch=None):
        super().__init__()
        self.iteration, self.epoch = iteration, epoch

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.iteration:
            raise KeyboardInterrupt

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def all_weights(gan):
    return [v.numpy() for v in gan.generator.variables + gan.discriminator.variables]


def test_interrupted_decaying_train_resumes_on_the_same_schedule(tiny_images, tmp_path):
    def small():
        return DCGAN(latent_dim=6, img_shape=(8, 8, 1), seed=0, lr_decay_fraction=0.5)

    args = dict(batch_size=8, save_interval=0, x_train=tiny_images, verbose=0)
    straight = small()
    straight.train(6, **args)  # iterations 3, 4, 5 at 1, 2/3 and 1/3 of the rate
    first = small()
    with pytest.raises(KeyboardInterrupt):  # checkpoint after iteration 2, killed in 4
        first.train(6, checkpoint_dir=tmp_path, checkpoint_interval=2, callbacks=[Kill(4)], **args)
    resumed = small()
    resumed.train(6, checkpoint_dir=tmp_path, checkpoint_interval=2, resume=True, **args)
    assert resumed.iterations == 6
    for a, b in zip(all_weights(straight), all_weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_interrupted_decaying_fit_resumes_on_the_same_schedule(tiny_images, tmp_path):
    def small():
        return DCGAN(latent_dim=6, img_shape=(8, 8, 1), seed=0, lr_decay_fraction=0.5)

    args = dict(batch_size=16, verbose=0, jit_compile=False)
    straight = small()
    straight.fit(tiny_images, epochs=3, **args)
    first = small()
    with pytest.raises(KeyboardInterrupt):  # checkpoint after epoch 1, killed at 2
        first.fit(tiny_images, epochs=3, checkpoint_dir=tmp_path, callbacks=[Kill(epoch=2)], **args)
    resumed = small()
    resumed.fit(tiny_images, epochs=3, checkpoint_dir=tmp_path, resume=True, **args)
    assert int(resumed.combined.optimizer.iterations) == 12
    for a, b in zip(all_weights(straight), all_weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_improved_decay_is_improved_with_a_doubled_rate_decaying_over_the_last_half():
    kw = dict(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    imp, dec = DCGAN(settings="improved", **kw), DCGAN(settings="improved-decay", **kw)
    a, b = imp.get_config(), dec.get_config()
    assert {k for k in a if a[k] != b[k]} == {"settings", "learning_rate", "lr_decay_fraction"}
    assert b["learning_rate"] == 8e-4 and b["lr_decay_fraction"] == 0.5
    assert layer_types(dec.discriminator) == layer_types(imp.discriminator)
    assert layer_types(dec.generator) == layer_types(imp.generator)
    assert dec.ema_generator is not None
    for opt in (dec.discriminator.optimizer, dec.combined.optimizer):
        assert not isinstance(opt.learning_rate, keras.Variable)  # a schedule
        assert float(opt.learning_rate) == pytest.approx(8e-4)  # full rate until a run is set


def test_new_options_round_trip_and_a_mismatched_checkpoint_is_refused(tmp_path):
    gan = DCGAN(
        latent_dim=6, img_shape=(8, 8, 1), seed=0, d_normalization="layer", lr_decay_fraction=0.25
    )
    config = gan.get_config()
    assert config["d_normalization"] == "layer" and config["lr_decay_fraction"] == 0.25
    assert DCGAN(**config).get_config() == config
    gan.save_checkpoint(tmp_path)
    other = dict(config, lr_decay_fraction=0.5)
    with pytest.raises(ValueError, match=r"lr_decay_fraction.*0.25.*this model has"):
        DCGAN(**other).restore_checkpoint(tmp_path)


def test_a_checkpoint_from_before_the_settings_resumes_as_the_tutorial(tmp_path):
    """DCGAN checkpoints written before mixed_precision, the settings and
    their knobs existed describe the tutorial's DCGAN: that one resumes
    from them, an improved one is refused."""
    gan = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0)
    gan.train_iteration(np.zeros((4, 8, 8, 1), "float32"))
    newer = set(DCGAN.CONFIG_ADDED)
    older = {k: v for k, v in gan.get_config().items() if k not in newer}
    assert set(older) == {"latent_dim", "img_shape", "seed"}  # what the first version wrote
    gan.get_config = lambda: older
    gan.save_checkpoint(tmp_path, {"g_loss": [1.0]}, 1)
    fresh = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0)
    assert fresh.restore_checkpoint(tmp_path)["iterations"] == 1
    for a, b in zip(gan.generator.weights, fresh.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    improved = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0, settings="improved")
    with pytest.raises(CheckpointError, match="Build the model with the same configuration"):
        improved.restore_checkpoint(tmp_path)


def test_r1_penalty_is_half_gamma_times_the_squared_logit_gradient_and_differentiable():
    """For a linear logit `w . x + b` the R1 penalty is `gamma / 2 * ||w||^2`
    whatever the inputs, and its gradient with respect to `w` is
    `gamma * w`: the second derivative through the inner tape is there."""
    d = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    w = np.array([[0.5], [-1.0], [2.0]], "float32")
    d.layers[0].kernel.assign(w)
    x = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    with tf.GradientTape() as tape:
        prediction, penalty = r1_penalty(d, x, gamma=3.0)
    np.testing.assert_allclose(float(penalty), 1.5 * float(np.sum(w**2)), rtol=1e-5)
    np.testing.assert_allclose(prediction.numpy(), d(x).numpy(), rtol=1e-6)
    grad = tape.gradient(penalty, d.layers[0].kernel)
    np.testing.assert_allclose(grad.numpy(), 3.0 * w, rtol=1e-5)
    prediction, penalty = r1_penalty(d, x, gamma=0.0)  # no penalty, D's output
    assert penalty == 0.0
    np.testing.assert_allclose(prediction.numpy(), d(x).numpy(), rtol=1e-6)


def test_label_smoothing_step_is_train_on_batchs_and_counts_real_images_right():
    """With smoothed real labels the classic loop trains D on real images in
    its own compiled step: bit for bit what `train_on_batch` with the 0.9
    target does (every weight, the loss), but `d_acc` counts a real image
    as recognised when D says above 0.5 (`train_on_batch`'s accuracy
    compares with 0.9 itself and never counts one)."""
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    kw = dict(latent_dim=8, img_shape=(8, 8, 1), seed=0, settings="improved")
    gan, twin = DCGAN(**kw), DCGAN(**kw)
    assert gan.label_smoothing == 0.1 and gan.r1_gamma == 0.0
    logs = gan.train_iteration(x)
    # the same iteration with train_on_batch for D's real step, as before
    noise, gen_imgs = twin._sample_fn(16)
    smoothed = np.full((16, 1), 0.9, "float32")
    real = twin.discriminator.train_on_batch(x, smoothed, return_dict=True)
    fake = twin.discriminator.train_on_batch(
        gen_imgs, np.zeros((16, 1), "float32"), return_dict=True
    )
    g = twin.combined.train_on_batch(noise, np.ones((16, 1), "float32"), return_dict=True)
    assert real["accuracy"] == 0.0  # what d_acc's real half used to be
    for model in ("discriminator", "generator"):
        for a, b in zip(getattr(gan, model).weights, getattr(twin, model).weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{model} {a.path}")
    assert logs["d_loss"] == pytest.approx(0.5 * (real["loss"] + fake["loss"]), abs=1e-6)
    assert logs["g_loss"] == pytest.approx(g["loss"], abs=1e-6)
    # d_acc's real half is D's hard decisions on the real batch
    probe = DCGAN(**kw)
    before = probe.discriminator(x, training=True).numpy()  # same weights, same dropout-free D
    assert logs["d_acc"] == pytest.approx(0.5 * (np.mean(before > 0.5) + fake["accuracy"]))
    assert logs["d_acc"] > 0.5 * fake["accuracy"]


def test_r1_gamma_changes_ds_update_and_reports_the_penalty():
    """From the same state, an iteration with `r1_gamma` moves D's weights
    differently from one without it (the penalty is in D's real step), and
    the reported D loss includes the penalty (larger)."""
    x = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    kw = dict(latent_dim=8, img_shape=(8, 8, 1), seed=0, settings="improved-decay")
    plain, penalised = DCGAN(**kw), DCGAN(r1_gamma=10.0, **kw)
    assert DCGAN(settings="improved-r1").r1_gamma == 0.3 and plain.r1_gamma == 0.0
    for a, b in zip(plain.discriminator.weights, penalised.discriminator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # same start
    logs_plain, logs_r1 = plain.train_iteration(x), penalised.train_iteration(x)
    moved = [
        not np.allclose(a.numpy(), b.numpy(), atol=1e-7)
        for a, b in zip(
            plain.discriminator.trainable_weights, penalised.discriminator.trainable_weights
        )
    ]
    assert sum(moved) >= len(moved) // 2, moved
    assert logs_r1["d_loss"] > logs_plain["d_loss"]
    assert set(logs_r1) == {"d_loss", "d_acc", "g_loss"}
    assert all(isinstance(v, float) for v in logs_r1.values())
