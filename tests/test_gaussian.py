import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan import GaussianGAN, data, viz

from .conftest import png_pixels


def snapshot(model):
    return [v.numpy().copy() for v in model.weights]


def changed(before, model):
    return [not np.array_equal(a, v.numpy()) for a, v in zip(before, model.weights)]


def errors(points):
    """max |mean - b| and max |cov - AᵀA| of points against the documents' target."""
    b, cov = data.gaussian_2d_moments()
    points = np.asarray(points, dtype=np.float64)
    return np.abs(points.mean(0) - b).max(), np.abs(np.cov(points, rowvar=False) - cov).max()


def test_sampler_exposes_the_documents_parameters():
    np.testing.assert_array_equal(data.GAUSSIAN_2D_A, [[1, 2], [-0.1, 0.5]])
    np.testing.assert_array_equal(data.GAUSSIAN_2D_B, [1, 2])
    assert data.GAUSSIAN_2D_N == 1000
    x = data.gaussian_2d(seed=0)
    assert x.shape == (1000, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x, data.gaussian_2d(seed=0))
    b, cov = data.gaussian_2d_moments()
    np.testing.assert_allclose(cov, [[1.01, 1.95], [1.95, 4.25]])
    big = data.gaussian_2d(200_000, seed=1).astype(np.float64)
    np.testing.assert_allclose(big.mean(0), b, atol=0.02)
    np.testing.assert_allclose(np.cov(big, rowvar=False), cov, atol=0.05)


@pytest.mark.parametrize(
    "variant, units, activation", [("bce", 1, "sigmoid"), ("softmax", 2, "softmax")]
)
def test_networks_are_the_documents(variant, units, activation):
    gan = GaussianGAN(variant, seed=0)
    g, d = gan.generator, gan.discriminator
    assert [type(layer).__name__ for layer in g.layers] == ["Dense"]
    assert g.layers[0].units == 2 and g.layers[0].activation.__name__ == "linear"
    assert [layer.units for layer in d.layers] == [5, 3, units]
    assert [layer.activation.__name__ for layer in d.layers] == ["tanh", "tanh", activation]
    for layer in [*g.layers, *d.layers]:
        kernel, bias = layer.get_weights()
        assert np.all(bias == 0) and 0.005 < kernel.std() < 0.05 and abs(kernel).max() < 0.15
    assert d.input_shape == (None, 2) and g.input_shape == (None, 2)
    lr_g = {"bce": 0.005, "softmax": 0.01}[variant]
    assert (gan.lr_d, gan.lr_g) == (0.05, lr_g)
    for opt, lr in ((gan.d_optimizer, 0.05), (gan.g_optimizer, lr_g)):
        assert isinstance(opt, keras.optimizers.Adam) and opt.epsilon == 1e-8
        assert np.isclose(float(opt.learning_rate), lr)


@pytest.mark.parametrize("variant", ["bce", "softmax"])
def test_one_d_step_equals_the_documents_loss_and_update(variant):
    """ONE train_on_batch on [real; fake] == the document's D loss and Adam step."""
    gan = GaussianGAN(variant, seed=3)
    # Weights of N(0, 0.5) rather than N(0, 0.02): gradients then dwarf
    # Adam's epsilon, which would otherwise magnify float rounding.
    rng = np.random.default_rng(0)
    gan.discriminator.set_weights(
        [rng.normal(0, 0.5, w.shape).astype(np.float32) for w in gan.discriminator.get_weights()]
    )
    real = data.gaussian_2d(8, seed=1)
    z = gan.noise(8, np.random.default_rng(2))
    fake = gan.generator(z).numpy()
    reference = keras.models.clone_model(gan.discriminator)
    reference.set_weights(gan.discriminator.get_weights())
    opt = keras.optimizers.Adam(0.05, epsilon=1e-8)
    if variant == "bce":  # d2l: (loss(real, ones) + loss(fake, zeros)) / 2
        bce = keras.losses.BinaryCrossentropy()

        def doc_loss():
            return (
                bce(np.ones((8, 1)), reference(real)) + bce(np.zeros((8, 1)), reference(fake))
            ) / 2

    else:  # softmax document: loss_fake + loss_real, class 1 = real
        cce = keras.losses.SparseCategoricalCrossentropy()

        def doc_loss():
            return cce(np.ones(8), reference(real)) + cce(np.zeros(8), reference(fake))

    with tf.GradientTape() as tape:
        expected = doc_loss()
    grads = tape.gradient(expected, reference.trainable_weights)
    opt.apply_gradients(zip(grads, reference.trainable_weights))

    d_loss, _ = gan.train_iteration(real, z)
    assert np.isclose(d_loss, float(expected), rtol=1e-5)
    # The G step does not touch D, so D's weights are those of the D step.
    for ours, ref in zip(gan.discriminator.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant", ["bce", "softmax"])
def test_freezing_facts(variant):
    gan = GaussianGAN(variant, seed=1)
    real, z = data.gaussian_2d(8, seed=0), gan.noise(8)
    d_labels, g_labels = gan.labels(8)
    g0, d0 = snapshot(gan.generator), snapshot(gan.discriminator)
    gan.discriminator.train_on_batch(gan._d_input(real, z), d_labels)
    assert all(changed(d0, gan.discriminator)), "the D step must update every D variable"
    assert not any(changed(g0, gan.generator)), "the D step must not touch G"
    for _ in range(2):  # twice: a retrace must not change what the step trains
        g0, d0 = snapshot(gan.generator), snapshot(gan.discriminator)
        gan.combined.train_on_batch(z, g_labels)
        assert all(changed(g0, gan.generator)), "the combined step must update G"
        assert not any(changed(d0, gan.discriminator)), "the combined step must not touch D"


def test_labels_follow_the_variant():
    d, g = GaussianGAN("bce", seed=0).labels(3)
    assert d.shape == (6, 1) and d.dtype == np.float32 and g.shape == (3, 1)
    np.testing.assert_array_equal(d[:, 0], [1, 1, 1, 0, 0, 0])
    d, g = GaussianGAN("softmax", seed=0).labels(3)
    assert d.shape == (6,) and d.dtype == np.int32 and g.tolist() == [1, 1, 1]


@pytest.mark.parametrize("variant", ["bce", "softmax"])
def test_short_run_shrinks_the_error(variant):
    """8 of the documents' 20 epochs (1000 iterations).

    The untrained generator outputs ~N(0, 0.03²) points, so its errors are
    max|b| = 2 and max(AᵀA) = 4.25. Adam moves each generator weight by at
    most lr_g per step, so it needs several hundred steps to travel the 2
    units b asks for: after 1000 steps both errors are at least halved on
    every seed we tried (full-length quality: scripts/eval_gaussian_quality.py).
    """
    gan = GaussianGAN(variant, seed=0)
    before = errors(gan.generate(10000))
    assert before[0] > 1.9 and before[1] > 4.1
    history = gan.train(data.gaussian_2d(seed=0), epochs=8, verbose=0)
    after = errors(gan.generate(10000))
    assert after[0] < before[0] / 2 and after[1] < before[1] / 2, (before, after)
    assert sorted(history.history) == ["d_loss", "g_loss"]
    assert len(history.history["d_loss"]) == 8 and history.epoch == list(range(8))
    assert gan.epochs == 8
    gan.train(data.gaussian_2d(seed=0), epochs=1, verbose=0)
    assert gan.epochs == 9


def test_partial_last_batch_and_history_are_per_epoch():
    gan = GaussianGAN(seed=0)
    history = gan.train(data.gaussian_2d(20, seed=0), epochs=2, batch_size=8, verbose=0)
    assert len(history.history["g_loss"]) == 2 and 4 in gan._labels  # 8 + 8 + 4 rows


def test_generate_test_and_other_dimensions():
    gan = GaussianGAN("softmax", seed=0)
    assert gan.generate(7).shape == (7, 2)
    x, z = data.gaussian_2d(5, seed=0), gan.noise(6)
    fake, pred_real, pred_fake = gan.test(x, z)
    assert fake.shape == (6, 2) and pred_real.shape == (5, 2) and pred_fake.shape == (6, 2)
    np.testing.assert_allclose(pred_real.sum(1), 1.0, rtol=1e-5)
    gan3 = GaussianGAN(data_dim=3, latent_dim=4, seed=0)
    gan3.train(np.random.default_rng(0).normal(size=(40, 3)), epochs=1, verbose=0)
    assert gan3.generate(2).shape == (2, 3)


def test_seed_repeats_runs():
    runs = []
    for _ in range(2):
        gan = GaussianGAN(seed=5)
        gan.train(epochs=1, verbose=0)
        runs.append(gan.generator.get_weights()[0])
    np.testing.assert_allclose(runs[0], runs[1], atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"variant": "wgan"}, r"variant must be one of 'bce', 'softmax'. Received: variant='wgan'"),
        ({"latent_dim": 0}, r"Received: latent_dim=0"),
        ({"data_dim": -1}, r"Received: data_dim=-1"),
        ({"lr_d": 0}, r"lr_d must be a positive number. Received: lr_d=0"),
        ({"lr_g": float("nan")}, r"Received: lr_g=nan"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GaussianGAN(**kwargs)


@pytest.mark.parametrize(
    "data_, kwargs, message",
    [
        (np.zeros((100, 3), np.float32), {}, r"shape \(n, 2\). Received: shape \(100, 3\)"),
        (np.zeros(100, np.float32), {}, r"Received: shape \(100,\)"),
        (np.array([["a", "b"]] * 10), {}, r"must hold real numbers \(float\). Received: dtype <U1"),
        (np.ones((10, 2), bool), {}, r"Received: dtype bool"),
        (np.full((10, 2), np.nan), {}, r"holds 20 NaN or infinite values"),
        (np.array([[0.0, np.inf]] * 10), {}, r"holds 10 NaN or infinite values"),
        (np.zeros((5, 2)), {"batch_size": 8}, r"at least 8 rows \(one batch\). Received: 5 rows"),
        (None, {"epochs": 0}, r"Received: epochs=0"),
        (None, {"batch_size": -2}, r"Received: batch_size=-2"),
    ],
)
def test_bad_training_inputs(data_, kwargs, message):
    with pytest.raises(ValueError, match=message):
        GaussianGAN(seed=0).train(data_, verbose=0, **kwargs)


def test_models_round_trip_and_plots(tmp_path):
    gan = GaussianGAN(seed=0)
    history = gan.train(epochs=2, verbose=0)
    x = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    for model in (gan.generator, gan.discriminator):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        np.testing.assert_array_equal(keras.saving.load_model(path)(x).numpy(), model(x).numpy())
    real = data.gaussian_2d(seed=0)
    scatter = png_pixels(viz.plot_scatter_2d(real, gan.generate(500), tmp_path / "s.png"))
    assert scatter.std() > 10 and scatter.shape == (500, 600)
    losses = png_pixels(viz.plot_history(history, tmp_path / "l.png", xlabel="epoch"))
    assert losses.std() > 5
    with pytest.raises(ValueError, match=r"Received: shape \(3, 3\)"):
        viz.plot_scatter_2d(np.zeros((3, 3)), real, tmp_path / "x.png")
