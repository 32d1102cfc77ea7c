import json
import math

import keras
import numpy as np
import pytest
from keras import ops

from keras_gan import AAE, viz
from keras_gan.aae import AAECombined, Reparameterization
from keras_gan.checkpoint import CheckpointError
from keras_gan.cli import main
from keras_gan.data import resize_images
from keras_gan.engine import batch_norm_layers

from .conftest import from_the_same_start, png_pixels


def snapshot(model):
    return [v.numpy().copy() for v in model.weights]


def changed(before, model):
    return [not np.array_equal(a, v.numpy()) for a, v in zip(before, model.weights)]


@pytest.fixture
def small_aae():
    return AAE(latent_dim=4, img_size=8, seed=1)


@pytest.fixture
def batch():
    return np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")


def test_networks_are_the_documents_layer_for_layer():
    aae = AAE(seed=0)
    enc, dec, d = aae.encoder, aae.decoder, aae.discriminator
    assert [type(layer).__name__ for layer in enc.layers] == [
        "InputLayer",
        "Flatten",
        "Dense",
        "LeakyReLU",
        "Dense",
        "BatchNormalization",
        "LeakyReLU",
        "Dense",
        "Dense",
        "Reparameterization",
    ]
    assert [layer.units for layer in enc.layers if isinstance(layer, keras.layers.Dense)] == [
        512,
        512,
        10,
        10,
    ]
    assert enc.get_layer("mu").units == enc.get_layer("logvar").units == 10
    assert [type(layer).__name__ for layer in dec.layers] == [
        "Dense",
        "LeakyReLU",
        "Dense",
        "BatchNormalization",
        "LeakyReLU",
        "Dense",
        "Reshape",
    ]
    assert [layer.units for layer in dec.layers if isinstance(layer, keras.layers.Dense)] == [
        512,
        512,
        32 * 32,
    ]
    assert dec.layers[-2].activation.__name__ == "tanh"
    assert [type(layer).__name__ for layer in d.layers] == [
        "Dense",
        "LeakyReLU",
        "Dense",
        "LeakyReLU",
        "Dense",
    ]
    assert [layer.units for layer in d.layers if isinstance(layer, keras.layers.Dense)] == [
        512,
        256,
        1,
    ]
    assert d.layers[-1].activation.__name__ == "sigmoid"
    for net in (enc, dec, d):
        for layer in net.layers:
            if isinstance(layer, keras.layers.LeakyReLU):
                assert layer.negative_slope == pytest.approx(0.2)
            if isinstance(layer, keras.layers.BatchNormalization):  # PyTorch's defaults
                assert layer.momentum == pytest.approx(0.9) and layer.epsilon == 1e-5
    assert enc.input_shape == (None, 32, 32, 1) and enc.output_shape == (None, 10)
    assert dec.input_shape == (None, 10) and dec.output_shape == (None, 32, 32, 1)
    assert d.input_shape == (None, 10) and d.output_shape == (None, 1)


def test_optimizers_and_combined_model():
    aae = AAE(seed=0)
    for model in (aae.discriminator, aae.combined):
        opt = model.optimizer
        assert isinstance(opt, keras.optimizers.Adam)
        assert float(opt.learning_rate) == pytest.approx(0.0002)
        assert float(opt.beta_1) == pytest.approx(0.5)
        assert float(opt.beta_2) == pytest.approx(0.999)
    assert aae.discriminator.optimizer is not aae.combined.optimizer
    assert isinstance(aae.combined, AAECombined)
    assert aae.combined.trained_networks == (aae.encoder, aae.decoder)
    assert {id(v) for v in aae.combined.trainable_weights} == {
        id(v) for v in aae.encoder.trainable_weights + aae.decoder.trainable_weights
    }


def test_shapes_of_the_public_methods(small_aae):
    x = np.random.default_rng(0).integers(0, 256, (5, 8, 8), dtype=np.uint8)
    assert small_aae.encode(x).shape == (5, 4)
    assert small_aae.decode(np.zeros((3, 4))).shape == (3, 8, 8, 1)
    r = small_aae.reconstruct(x)
    assert r.shape == (5, 8, 8, 1) and r.dtype == np.float32
    g = small_aae.generate(6)
    assert g.shape == (6, 8, 8, 1) and g.min() >= -1 and g.max() <= 1


def test_discriminator_learns_in_its_own_step(small_aae, batch):
    d = small_aae.discriminator
    for n in (8, 5):  # a new batch size retraces
        codes = np.asarray(small_aae._d_batch_fn(small_aae.encoder(batch[:n])))
        assert codes.shape == (2 * n, 4)
        before = snapshot(d)
        d.train_on_batch(codes, small_aae._labels(n)[1])
        assert all(changed(before, d))


def test_combined_step_trains_encoder_and_decoder_only(small_aae, batch):
    aae = small_aae
    aae.discriminator.train_on_batch(aae._d_batch_fn(aae.encoder(batch[:8])), aae._labels(8)[1])
    for n in (16, 7):  # a retrace must not change what trains
        d0, e0, g0 = snapshot(aae.discriminator), snapshot(aae.encoder), snapshot(aae.decoder)
        aae.combined.train_on_batch(
            batch[:n], {"reconstruction": batch[:n], "validity": np.ones((n, 1))}
        )
        assert not any(changed(d0, aae.discriminator)), "D changed in the combined step"
        for net, before in ((aae.encoder, e0), (aae.decoder, g0)):
            flags = changed(before, net)
            assert all(f for f, v in zip(flags, net.weights) if v.trainable), net.name
    # the full iteration: D moves in its step, every weight of all three moved
    before = [snapshot(m) for m in (aae.encoder, aae.decoder, aae.discriminator)]
    logs = aae.train_iteration(batch)
    for b, m in zip(before, (aae.encoder, aae.decoder, aae.discriminator)):
        assert all(changed(b, m)), m.name
    assert set(logs) == {"d_loss", "d_acc", "g_loss", "l1_loss", "adv_loss"}


def _state(aae):
    """Every variable one iteration can change: weights, BN statistics,
    optimizer slots and counters, noise states."""
    return [
        *aae.encoder.variables,
        *aae.decoder.variables,
        *aae.discriminator.variables,
        *aae.combined.optimizer.variables,
        *aae.discriminator.optimizer.variables,
        aae.seed_generator.state,
    ]


def test_compiled_iteration_is_the_documents_loop_body(batch):
    """train_iteration (one compiled call, no XLA) is the document's loop
    body written out with tapes: the generator step, then D on prior samples
    against the *same* codes, detached (pre-update encoder, training mode,
    the same noise). Re-encoding for D (another noise draw, or the updated
    encoder) moves D's weights elsewhere and fails this. Its generator half
    is `combined.train_on_batch` bit for bit."""
    import tensorflow as tf

    aae = AAE(latent_dim=4, img_size=8, seed=6)
    aae.train_iteration(batch, jit_compile=False)  # builds everything
    variables = _state(aae)
    bce = keras.losses.BinaryCrossentropy()
    enc, dec, d = aae.encoder, aae.decoder, aae.discriminator
    g_vars = enc.trainable_weights + dec.trainable_weights

    def documents_loop():
        with tf.GradientTape() as tape:
            codes = enc(batch, training=True)
            l1 = ops.mean(ops.abs(dec(codes, training=True) - batch))
            adv = bce(ops.ones((16, 1)), d(codes))
            g_loss = 0.999 * l1 + 0.001 * adv
        aae.combined.optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        prior = keras.random.normal((16, 4), seed=aae.seed_generator)
        with tf.GradientTape() as tape:
            d_loss = 0.5 * (
                bce(ops.ones((16, 1)), d(prior))
                + bce(ops.zeros((16, 1)), d(tf.stop_gradient(codes)))
            )
        grads = tape.gradient(d_loss, d.trainable_weights)
        d.optimizer.apply_gradients(zip(grads, d.trainable_weights))
        return {"d_loss": float(d_loss), "g_loss": float(g_loss), "l1_loss": float(l1)}

    start, reference, ref_logs, logs = from_the_same_start(
        variables, documents_loop, lambda: aae.train_iteration(batch, jit_compile=False)
    )
    for key, value in ref_logs.items():
        assert logs[key] == pytest.approx(value, rel=1e-5), key
    # atol: 0.5 % of one Adam step (2e-4); the biases feeding BatchNorm have
    # a true gradient of 0, so summation order alone moves them by ~1e-7
    moved = 0
    for v, ref, s in zip(variables, reference, start):
        np.testing.assert_allclose(v.numpy(), ref, rtol=1e-5, atol=1e-6, err_msg=v.path)
        moved += not np.array_equal(ref, s)
    assert moved > len(d.trainable_weights) + len(g_vars)

    # the generator half: combined.train_on_batch, bit for bit
    halves = [*enc.variables, *dec.variables, *aae.combined.optimizer.variables]
    valid = aae._labels(16)[0]
    _, after_g, g, logs = from_the_same_start(
        halves,
        lambda: aae.combined.train_on_batch(
            batch, {"reconstruction": batch, "validity": valid}, return_dict=True
        ),
        lambda: aae.train_iteration(batch, jit_compile=False),
    )
    assert (logs["g_loss"], logs["l1_loss"], logs["adv_loss"]) == (
        g["loss"], g["reconstruction_loss"], g["validity_loss"],
    )  # fmt: skip
    for v, ref in zip(halves, after_g):
        np.testing.assert_array_equal(v.numpy(), ref, err_msg=v.path)


def test_xla_iteration_trains_the_same_sides_and_repeats(batch):
    """With XLA (the noise then comes from XLA's generator) D is still
    frozen in the combined step, every trained weight moves, and a seeded
    run repeats; a bad jit_compile is refused."""
    runs = []
    for _ in range(2):
        aae = AAE(latent_dim=4, img_size=8, seed=8)
        h = aae.train(1, batch_size=8, sample_interval=0, x_train=batch, verbose=0,
                      jit_compile=True)  # fmt: skip
        runs.append((h.history["g_loss"], snapshot(aae.encoder)))
    assert runs[0][0] == runs[1][0] and np.isfinite(runs[0][0]).all()
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    # D's own step a no-op (learning rate 0): so if D moves, the combined
    # step (its own optimizer, 2e-4) trained it
    aae.discriminator.optimizer.learning_rate.assign(0.0)
    d0, e0, g0 = snapshot(aae.discriminator), snapshot(aae.encoder), snapshot(aae.decoder)
    aae.train_iteration(batch, jit_compile=True)
    assert not any(changed(d0, aae.discriminator)), "D changed in the combined step"
    for before, net in ((e0, aae.encoder), (g0, aae.decoder)):
        flags = changed(before, net)
        assert all(f for f, v in zip(flags, net.weights) if v.trainable), net.name
    aae.discriminator.optimizer.learning_rate.assign(2e-4)
    d0 = snapshot(aae.discriminator)
    logs = aae.train_iteration(batch, jit_compile=True)
    assert all(changed(d0, aae.discriminator))
    assert 0 <= logs["d_acc"] <= 1 and logs["l1_loss"] > 0
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match=rf"Received: jit_compile={bad!r}"):
            aae.train_iteration(batch, jit_compile=bad)


def test_classic_loop_under_a_one_device_strategy_is_the_plain_one(batch):
    """train() runs its compiled iteration through the strategy (as
    train_on_batch would): on one device, the same numbers."""
    import tensorflow as tf

    plain = AAE(latent_dim=4, img_size=8, seed=9)
    scoped = AAE(
        latent_dim=4, img_size=8, seed=9, strategy=tf.distribute.OneDeviceStrategy("/cpu:0")
    )
    args = {"batch_size": 8, "sample_interval": 0, "x_train": batch, "verbose": 0}
    h1, h2 = plain.train(1, **args), scoped.train(1, **args)
    assert h1.history == h2.history
    for a, b in zip(snapshot(plain.decoder), snapshot(scoped.decoder)):
        np.testing.assert_array_equal(a, b)


def _deterministic(aae):
    """Makes the codes z = mu exactly: sigma = exp(-50) is 0 in float32."""
    logvar = aae.encoder.get_layer("logvar")
    logvar.kernel.assign(np.zeros(logvar.kernel.shape, "float32"))
    logvar.bias.assign(np.full(logvar.bias.shape, -200.0, "float32"))


@pytest.mark.parametrize("weights", [(0.999, 0.001), (0.3, 0.7)])
def test_generator_loss_is_the_weighted_sum(batch, weights):
    aae = AAE(latent_dim=4, img_size=8, seed=2, reconstruction_weight=weights[0],
              adversarial_weight=weights[1])  # fmt: skip
    _deterministic(aae)
    z = np.asarray(aae.encoder(batch, training=False))
    l1 = np.abs(np.asarray(aae.decoder(z, training=False)) - batch).mean()
    p = np.clip(np.asarray(aae.discriminator(z, training=False)), 1e-7, 1 - 1e-7)
    bce = -np.log(p).mean()
    assert abs(l1 - bce) > 0.05  # so swapping the weights would be seen
    logs = aae.combined.test_on_batch(
        batch, {"reconstruction": batch, "validity": np.ones((16, 1))}, return_dict=True
    )
    assert logs["reconstruction_loss"] == pytest.approx(l1, rel=1e-4)
    assert logs["validity_loss"] == pytest.approx(bce, rel=1e-4)
    assert logs["loss"] == pytest.approx(weights[0] * l1 + weights[1] * bce, rel=1e-4)
    swapped = weights[1] * l1 + weights[0] * bce
    assert abs(logs["loss"] - swapped) > 1e-2


def test_zero_reconstruction_weight_leaves_the_decoder_untrained(batch):
    """The weights reach the gradients: no L1 term, no decoder gradient."""
    aae = AAE(latent_dim=4, img_size=8, seed=3, reconstruction_weight=0.0, adversarial_weight=1.0)
    dec0, enc0 = snapshot(aae.decoder), snapshot(aae.encoder)
    aae.combined.train_on_batch(batch, {"reconstruction": batch, "validity": np.ones((16, 1))})
    flags = changed(dec0, aae.decoder)
    assert not any(f for f, v in zip(flags, aae.decoder.weights) if v.trainable)
    assert any(changed(enc0, aae.encoder))


def test_reparameterization_mean_and_variance():
    # z = 1.5 + 2 * eps: mean 1.5, variance 4. With n = 40,000 draws per
    # dimension the standard errors are 0.01 (mean) and 0.028 (variance);
    # the tolerances are five standard errors.
    n, dims = 40_000, 3
    layer = Reparameterization(seed=0)
    mu = np.full((n, dims), 1.5, "float32")
    logvar = np.full((n, dims), math.log(4.0), "float32")
    z = np.asarray(layer([mu, logvar]))
    np.testing.assert_allclose(z.mean(axis=0), 1.5, atol=0.05)
    np.testing.assert_allclose(z.var(axis=0), 4.0, atol=0.15)
    corr = np.corrcoef(z.T)[np.triu_indices(dims, 1)]
    assert np.all(np.abs(corr) < 0.03)  # independent dimensions
    assert not np.allclose(np.asarray(layer([mu, logvar])), z)  # fresh noise per call
    assert Reparameterization.from_config(layer.get_config()).seed == 0


def test_encoder_and_decoder_keras_round_trips(tmp_path, batch):
    aae = AAE(latent_dim=4, img_size=8, seed=4)
    aae.train(1, batch_size=8, sample_interval=0, x_train=batch, verbose=0)
    aae.encoder.save(tmp_path / "encoder.keras")
    aae.decoder.save(tmp_path / "decoder.keras")
    encoder = keras.saving.load_model(tmp_path / "encoder.keras")  # safe mode
    decoder = keras.saving.load_model(tmp_path / "decoder.keras")
    # fixed eps: give the loaded noise layer the original's seed state
    rep, loaded_rep = (
        aae.encoder.get_layer("reparameterization"),
        encoder.get_layer("reparameterization"),
    )
    assert isinstance(loaded_rep, Reparameterization)
    loaded_rep.seed_generator.state.assign(rep.seed_generator.state)
    np.testing.assert_allclose(
        encoder(batch, training=False), aae.encoder(batch, training=False), atol=1e-6
    )
    z = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(decoder(z, training=False), aae.decoder(z, training=False), 1e-6)


def test_encode_and_reconstruct_take_uint8_28x28_and_float_images():
    aae = AAE(latent_dim=4, seed=5)  # img_size 32
    rng = np.random.default_rng(0)
    x8 = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    prepared = aae.prepare(x8)
    expected = resize_images(x8[..., None].astype("float32") / 127.5 - 1, 32)
    np.testing.assert_allclose(prepared, expected, atol=1e-6)
    assert prepared.shape == (6, 32, 32, 1) and prepared.min() >= -1 and prepared.max() <= 1
    assert aae.encode(x8).shape == (6, 4)
    assert aae.reconstruct(x8).shape == (6, 32, 32, 1)
    xf = rng.uniform(-1, 1, (3, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(aae.prepare(xf), xf)  # already the model's size
    assert aae.encode(xf).shape == (3, 4) and aae.reconstruct(xf[..., 0]).shape == (3, 32, 32, 1)


def test_resize_images_is_half_pixel_bilinear():
    x = np.array([0.0, 1.0], "float32").reshape(1, 1, 2, 1)
    out = resize_images(x, (1, 4))[0, 0, :, 0]
    np.testing.assert_allclose(out, [0.0, 0.25, 0.75, 1.0], atol=1e-6)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda a: a.encode(np.zeros((5, 28))), r"x must be images .*Received: shape \(5, 28\)"),
        (lambda a: a.encode(np.zeros((2, 8, 8, 3))), r"Received: shape \(2, 8, 8, 3\)"),
        (lambda a: a.reconstruct(np.full((2, 8, 8), 2.0)), r"\[-1, 1\].*Received: values"),
        (lambda a: a.encode(np.full((2, 8, 8), np.nan)), r"NaN or infinite"),
        (lambda a: a.encode(np.array([["a"]])), r"Received: shape \(1, 1\)"),
        (lambda a: a.encode(np.full((2, 8, 8), "a")), r"dtype <U1"),
        (lambda a: a.decode(np.zeros((2, 3))), r"z must have shape \(n, 4\).*\(2, 3\)"),
        (lambda a: a.generate(0), r"n must be a positive integer. Received: n=0"),
    ],
)
def test_bad_inputs_name_what_was_received(small_aae, call, match):
    with pytest.raises(ValueError, match=match):
        call(small_aae)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"latent_dim": 0}, r"Received: latent_dim=0"),
        ({"img_size": 2.5}, r"Received: img_size=2.5"),
        ({"channels": -1}, r"Received: channels=-1"),
        ({"seed": -1}, r"Received: seed=-1"),
        ({"adversarial_weight": -0.1}, r"Received: adversarial_weight=-0.1"),
        ({"reconstruction_weight": float("nan")}, r"Received: reconstruction_weight=nan"),
        ({"settings": "fast"}, r"one of 'document', 'improved'. Received: settings='fast'"),
        ({"ema_decay": 1.0}, r"ema_decay must be a number in \[0, 1\). Received: ema_decay=1.0"),
        ({"mixed_precision": "no"}, r"True or False. Received: mixed_precision='no'"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AAE(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, r"Received: epochs=0"),
        ({"batch_size": 17}, r"batch_size must not exceed the number of images \(16\)"),
        ({"sample_interval": -1}, r"Received: sample_interval=-1"),
        ({"x_train": np.zeros((4, 8, 8, 2))}, r"x_train must be images.*\(4, 8, 8, 2\)"),
    ],
)
def test_bad_train_arguments(small_aae, batch, kwargs, match):
    args = {"epochs": 1, "batch_size": 4, "sample_interval": 0, "x_train": batch, "verbose": 0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        small_aae.train(**args)


def test_true_epochs_samples_and_continuation(small_aae, tmp_path, monkeypatch):
    # image i is constant -1 + 2i/9, so a batch shows which images it holds
    x = np.repeat(np.linspace(-1, 1, 10, dtype="float32"), 64).reshape(10, 8, 8, 1)
    seen = []
    real = small_aae.train_iteration

    def spy(imgs, **kwargs):
        seen.append(np.round((np.asarray(imgs)[:, 0, 0, 0] + 1) * 4.5).astype(int).tolist())
        return real(imgs, **kwargs)

    monkeypatch.setattr(small_aae, "train_iteration", spy)
    h = small_aae.train(2, batch_size=4, sample_interval=3, x_train=x, sample_dir=tmp_path,
                        verbose=0, jit_compile=False)  # fmt: skip
    assert [len(b) for b in seen] == [4, 4, 2, 4, 4, 2]  # the last batch is smaller
    epoch1, epoch2 = sum(seen[:3], []), sum(seen[3:], [])
    assert sorted(epoch1) == sorted(epoch2) == list(range(10))  # each image once per epoch
    assert epoch1 != epoch2  # reshuffled
    assert h.epoch == list(range(6)) and set(h.history) == {
        "d_loss",
        "d_acc",
        "g_loss",
        "l1_loss",
        "adv_loss",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.png", "3.png"]
    h2 = small_aae.train(1, batch_size=4, sample_interval=3, x_train=x, sample_dir=tmp_path,
                         verbose=0)  # fmt: skip
    assert h2.epoch == [6, 7, 8] and small_aae.iterations == 9 and small_aae.epochs_trained == 3
    grid = png_pixels(tmp_path / "6.png")
    assert grid.shape[0] >= 500 and grid.std() > 5  # a 10x10 grid, not blank


def test_seeded_training_repeats(batch):
    runs = []
    for _ in range(2):
        aae = AAE(latent_dim=4, img_size=8, seed=7)
        # without XLA here; test_xla_iteration_... repeats a seeded XLA run
        args = {"batch_size": 8, "sample_interval": 0, "x_train": batch, "verbose": 0}
        h = aae.train(1, jit_compile=False, **args)
        runs.append((h.history["g_loss"], aae.encode(batch), snapshot(aae.decoder)))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    for a, b in zip(runs[0][2], runs[1][2]):
        np.testing.assert_array_equal(a, b)


def test_viz_reconstructions_and_latent_codes(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (6, 8, 8, 1))
    p = viz.save_reconstructions(a, -a, tmp_path / "r.png", rows=2, cols=3)
    assert png_pixels(p).std() > 5
    with pytest.raises(ValueError, match=r"same shape"):
        viz.save_reconstructions(a, a[:5], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"needs 25 images"):
        viz.save_reconstructions(a, a, tmp_path / "x.png")
    codes, labels = rng.normal(size=(300, 3)), rng.integers(0, 10, 300)
    assert png_pixels(viz.plot_latent_codes(codes, tmp_path / "c.png", labels)).std() > 5
    assert (tmp_path / "c.png").is_file()
    viz.plot_latent_codes(codes, tmp_path / "c2.png")  # no labels
    with pytest.raises(ValueError, match=r"d >= 2. Received: \(300, 1\)"):
        viz.plot_latent_codes(codes[:, :1], tmp_path / "c3.png")
    with pytest.raises(ValueError, match=r"one entry per code \(300\). Received: 5"):
        viz.plot_latent_codes(codes, tmp_path / "c3.png", labels[:5])


def test_cli_train_aae_end_to_end(tmp_path, tiny_images, capsys):
    data = tmp_path / "x.npy"
    np.save(data, tiny_images)
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "aae",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--sample-interval",
            "3",
            "--latent-dim",
            "3",
            "--image-size",
            "12",
            "--seed",
            "0",
            "--data",
            str(data),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    for name in (
        "encoder.keras",
        "decoder.keras",
        "discriminator.keras",
        "losses.png",
        "training.gif",
        "reconstructions.png",
        "latent_codes.png",
        "history.json",
        "summary.json",
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "0.png",
        "3.png",
        "6.png",
        "8.png",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["batches"] == 8 and summary["epochs"] == 2
    assert len(summary["heldout_code_std"]) == 3 and 0 <= summary["heldout_l1"] <= 2
    assert len(json.loads((out / "history.json").read_text())["l1_loss"]) == 8
    assert png_pixels(out / "reconstructions.png").std() > 5
    decoder = keras.saving.load_model(out / "decoder.keras")
    assert decoder.output_shape == (None, 12, 12, 1)
    encoder = keras.saving.load_model(out / "encoder.keras")
    assert encoder(np.zeros((2, 12, 12, 1))).shape == (2, 3)
    grid = tmp_path / "grid.png"
    assert main(["sample", str(out / "decoder.keras"), "-n", "4", "-o", str(grid)]) == 0
    assert "trained 2 epochs (8 batches)" in capsys.readouterr().out
    # a checkpoint per epoch; --resume to a total of 3 trains one more epoch
    assert (out / "checkpoints" / "latest").read_text().strip() == "ckpt-00000008"
    argv = ["train", "aae", "--epochs", "3", "--batch-size", "16", "--sample-interval", "0"]
    argv += ["--latent-dim", "3", "--image-size", "12", "--seed", "0", "--data", str(data)]
    assert main([*argv, "--out", str(out), "--quiet", "--resume"]) == 0
    assert len(json.loads((out / "history.json").read_text())["l1_loss"]) == 12
    assert (out / "checkpoints" / "latest").read_text().strip() == "ckpt-00000012"


@pytest.mark.parametrize("decay, jit_compile", [(0.0, False), (0.5, "auto")])
def test_train_interrupted_and_resumed_ends_as_an_uninterrupted_run(
    batch, tmp_path, decay, jit_compile
):
    """3 epochs straight vs 2 epochs, a new object, resume to the total of 3
    (batch of 16 images at batch size 6: 3 batches an epoch, the last one
    partial, so epoch boundaries and the shuffle state are both exercised).
    With a rate decay (which spans one run) the first run is the 3-epoch run
    itself, stopped by an exception in its 8th batch, as a crash would."""

    class Crash(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 7:
                raise KeyboardInterrupt

    def run(epochs, directory, resume=False, callbacks=None):
        aae = AAE(latent_dim=4, img_size=8, seed=3, lr_decay_fraction=decay)
        h = aae.train(
            epochs,
            batch_size=6,
            sample_interval=0,
            x_train=batch,
            verbose=0,
            checkpoint_dir=directory,
            keep_checkpoints=2,
            resume=resume,
            callbacks=callbacks,
            jit_compile=jit_compile,
        )
        return aae, h

    straight, h_straight = run(3, tmp_path / "a")
    if decay:
        with pytest.raises(KeyboardInterrupt):
            run(3, tmp_path / "b", callbacks=[Crash()])
    else:
        run(2, tmp_path / "b")
    resumed, h_resumed = run(3, tmp_path / "b", resume=True)
    assert resumed.iterations == straight.iterations == 9
    assert resumed.epochs_trained == straight.epochs_trained == 3
    assert h_resumed.history["g_loss"] == pytest.approx(h_straight.history["g_loss"], rel=1e-6)
    for net in ("encoder", "decoder", "discriminator"):
        for a, b in zip(getattr(straight, net).variables, getattr(resumed, net).variables):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=a.path)
    # every epoch boundary was checkpointed; two are kept
    names = sorted(p.name for p in (tmp_path / "a").glob("ckpt-*"))
    assert names == ["ckpt-00000006", "ckpt-00000009"]
    # resuming a finished run trains nothing more
    again, h_again = run(3, tmp_path / "a", resume=True)
    assert again.iterations == 9 and len(h_again.history["g_loss"]) == 9


def test_mixed_precision_on_cpu_is_bfloat16_with_float32_outputs(batch, tmp_path):
    aae = AAE(latent_dim=4, img_size=8, seed=0, mixed_precision=True)
    assert keras.config.dtype_policy().name == "float32"  # global policy restored
    for net in (aae.encoder, aae.decoder, aae.discriminator):
        dense = next(x for x in net.layers if isinstance(x, keras.layers.Dense))
        assert dense.compute_dtype == "bfloat16" and dense.kernel.dtype == "float32", net.name
    codes, images = aae.encode(batch), aae.generate(3)
    assert codes.dtype == np.float32 and images.dtype == np.float32
    assert aae.discriminator(codes).dtype == "float32"
    before = snapshot(aae.encoder)
    h = aae.train(1, batch_size=8, sample_interval=0, x_train=batch, verbose=0)
    f = aae.fit(batch, epochs=1, batch_size=8, verbose=0, jit_compile=False)
    assert all(changed(before, aae.encoder)[:2])  # the first Dense's kernel and bias
    assert np.isfinite(h.history["g_loss"]).all() and np.isfinite(f.history["g_loss"]).all()
    assert aae.get_config()["mixed_precision"] is True
    aae.decoder.save(tmp_path / "decoder.keras")  # bfloat16 layers round-trip
    decoder = keras.saving.load_model(tmp_path / "decoder.keras")
    z = np.zeros((2, 4), np.float32)
    np.testing.assert_allclose(decoder(z), aae.decoder(z, training=False), atol=1e-6)


def test_precise_batch_norm_changes_only_the_statistics(batch):
    """train() ends by averaging BatchNorm statistics over x_train: the
    weights it trained are the same as without it, only the moving
    statistics differ; fit() ends with the same update."""

    def bn_stats(aae):
        return [
            v.numpy().copy()
            for net in (aae.encoder, aae.decoder)
            for v in net.non_trainable_weights
        ]

    runs = {}
    for precise in (True, False):
        aae = AAE(latent_dim=4, img_size=8, seed=3)
        aae.train(
            2,
            6,
            sample_interval=0,
            x_train=batch,
            verbose=0,
            precise_batch_norm=precise,
            jit_compile=False,
        )
        runs[precise] = aae
    for a, b in zip(bn_stats(runs[True]), bn_stats(runs[False])):
        assert not np.allclose(a, b)  # the statistics did change
    for net in ("encoder", "decoder", "discriminator"):
        for a, b in zip(
            getattr(runs[True], net).trainable_weights,
            getattr(runs[False], net).trainable_weights,
        ):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    # train() ended with update_batch_norm_statistics(x_train)
    runs[False].update_batch_norm_statistics(batch)
    for a, b in zip(bn_stats(runs[True]), bn_stats(runs[False])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    # fit() ends with the same update: calling it again changes nothing
    for precise in (True, False):
        fitted = AAE(latent_dim=4, img_size=8, seed=3)
        fitted.fit(batch, epochs=1, batch_size=8, verbose=0, precise_batch_norm=precise)
        after_fit = bn_stats(fitted)
        fitted.update_batch_norm_statistics(batch)
        same = [
            np.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(after_fit, bn_stats(fitted))
        ]
        assert all(same) if precise else not any(same)


def test_train_called_twice_trains_the_weights_of_one_longer_run(batch):
    """No training step reads the BatchNorm moving statistics (D's step
    reuses the generator step's training-mode codes), so the statistics
    pass that ends the first train() call does not change what the second
    trains: 1 + 1 epochs give the weights of 2."""
    args = {"batch_size": 6, "sample_interval": 0, "x_train": batch, "verbose": 0}
    longer = AAE(latent_dim=4, img_size=8, seed=4)
    longer.train(2, jit_compile=False, **args)
    split = AAE(latent_dim=4, img_size=8, seed=4)
    split.train(1, jit_compile=False, **args)
    split.train(1, jit_compile=False, **args)
    for net in ("encoder", "decoder", "discriminator"):
        for a, b in zip(
            getattr(longer, net).trainable_weights, getattr(split, net).trainable_weights
        ):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_cli_train_aae_xla_runs_the_classic_loop_compiled(tmp_path, tiny_images, monkeypatch):
    """--xla with --distribute none is the classic train(jit_compile=True)."""
    seen = {}
    original = AAE.train

    def train(self, *args, **kwargs):
        seen["jit_compile"] = kwargs.get("jit_compile")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AAE, "train", train)
    data = tmp_path / "x.npy"
    np.save(data, tiny_images)
    argv = ["train", "aae", "--epochs", "1", "--batch-size", "16", "--sample-interval", "0"]
    argv += ["--image-size", "8", "--latent-dim", "2", "--seed", "0", "--quiet", "--xla"]
    assert main([*argv, "--data", str(data), "--out", str(tmp_path / "run")]) == 0
    assert seen == {"jit_compile": True}
    assert (tmp_path / "run" / "encoder.keras").is_file()


def test_lr_decay_fraction_schedules_both_sides_per_run(batch):
    """Rates 2e-4 until the last half of each run (in batches), then down to
    2e-4 / length at its last batch; fit() sets the same schedule."""
    aae = AAE(latent_dim=4, img_size=8, seed=0, lr_decay_fraction=0.5)
    aae.train(2, 6, sample_interval=0, x_train=batch, verbose=0)  # 6 batches, decay over 3
    optimizers = (aae.discriminator.optimizer, aae.combined.optimizer)
    for optimizer, schedule in zip(optimizers, aae._schedules):
        assert int(optimizer.iterations.numpy()) == 6
        rates = [float(schedule(k)) for k in range(7)]
        assert rates == pytest.approx([2e-4, 2e-4, 2e-4, 2e-4, 2e-4 * 2 / 3, 2e-4 / 3, 0.0])
    aae.fit(batch, epochs=2, batch_size=8, verbose=0)  # a new run: 4 steps from step 6
    schedule = aae._schedules[1]
    assert [float(schedule(k)) for k in range(6, 11)] == pytest.approx(
        [2e-4, 2e-4, 2e-4, 1e-4, 0.0]
    )
    with pytest.raises(ValueError, match=r"lr_decay_fraction must be a number in \[0, 1\]"):
        AAE(lr_decay_fraction=1.5)
    assert AAE(latent_dim=4, img_size=8).get_config()["lr_decay_fraction"] == 0.0


def test_improved_settings_keep_a_weight_average_of_the_autoencoder(batch, tmp_path):
    """settings="improved": loss weights 0.99 / 0.01 and averages of the
    encoder and decoder that follow decay * average + (1 - decay) * current
    after every iteration; decode, generate and encode use the averages;
    the configuration and a checkpoint carry them."""
    assert AAE(latent_dim=4, img_size=8).ema_encoder is None  # the document: none
    plain = AAE(latent_dim=4, img_size=8, settings="improved", ema_decay=0)
    assert plain.ema_decoder is None and plain.adversarial_weight == 0.01
    aae = AAE(latent_dim=4, img_size=8, seed=1, settings="improved")
    assert (aae.reconstruction_weight, aae.adversarial_weight, aae.ema_decay) == (0.99, 0.01, 0.998)
    override = AAE(latent_dim=4, img_size=8, settings="improved", adversarial_weight=0.1)
    assert override.adversarial_weight == 0.1  # an explicit argument wins
    pairs = [
        (avg, cur)
        for net, ema in ((aae.encoder, aae.ema_encoder), (aae.decoder, aae.ema_decoder))
        for avg, cur in zip(ema.variables, net.variables)
        if "float" in str(avg.dtype)
    ]
    for avg, cur in pairs:  # the averages start as copies
        np.testing.assert_array_equal(avg.numpy(), cur.numpy())
    before = [avg.numpy().copy() for avg, _ in pairs]
    aae.train_iteration(batch)
    moved = 0
    for (avg, cur), old in zip(pairs, before):
        expected = 0.998 * old + 0.002 * cur.numpy()
        np.testing.assert_allclose(avg.numpy(), expected, rtol=1e-5, atol=1e-7, err_msg=avg.path)
        moved += not np.array_equal(avg.numpy(), old)
    assert moved >= len(aae.encoder.trainable_weights) + len(aae.decoder.trainable_weights)
    # decode / generate / encode use the averages, not the trained networks
    z = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(aae.decode(z), aae.ema_decoder(z, training=False), atol=1e-6)
    assert not np.allclose(aae.decode(z), aae.decoder(z, training=False), atol=1e-6)
    aae.ema_encoder.get_layer("mu").bias.assign(np.full(4, 50.0, "float32"))
    assert aae.encode(batch).mean() > 40 and abs(aae.encoder(batch).numpy().mean()) < 10
    assert aae.generate(3).shape == (3, 8, 8, 1)
    # configuration and checkpoint round trip, averages included
    config = aae.get_config()
    assert config["settings"] == "improved" and config["ema_decay"] == 0.998
    aae.save_checkpoint(tmp_path, {}, 1)
    other = AAE(**config)
    other.restore_checkpoint(tmp_path)
    for a, b in zip(aae.ema_encoder.weights, other.ema_encoder.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_precise_batch_norm_sets_the_averages_from_their_own_weights(batch):
    """With ema_decay, update_batch_norm_statistics also gives the averaged
    encoder's BatchNorm the statistics of its own pre-normalisation
    activations (one batch: exactly their mean), not the trained one's."""
    aae = AAE(latent_dim=4, img_size=8, seed=1, settings="improved", ema_decay=0.5)
    for _ in range(3):
        aae.train_iteration(batch)
    aae.update_batch_norm_statistics(batch, batch_size=len(batch))
    means = []
    for encoder in (aae.encoder, aae.ema_encoder):
        bn = batch_norm_layers(encoder)[0]
        pre = keras.Model(encoder.inputs[0], bn.input)(batch, training=True).numpy()
        np.testing.assert_allclose(bn.moving_mean.numpy(), pre.mean(axis=0), rtol=1e-4, atol=1e-5)
        means.append(bn.moving_mean.numpy())
    assert not np.allclose(*means, atol=1e-4)  # each from its own weights


def test_cli_train_aae_improved_saves_the_averages(tmp_path, tiny_images):
    """--settings improved: the saved encoder and decoder are the weight
    averages (what encode and generate use), and the summary says so."""
    data = tmp_path / "x.npy"
    np.save(data, tiny_images)
    out = tmp_path / "run"
    argv = ["train", "aae", "--epochs", "1", "--batch-size", "16", "--sample-interval", "0"]
    argv += ["--image-size", "8", "--latent-dim", "2", "--seed", "0", "--quiet"]
    assert main([*argv, "--settings", "improved", "--data", str(data), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"] == "improved"
    z = np.random.default_rng(0).standard_normal((4, 2)).astype("float32")
    decoder = keras.saving.load_model(out / "decoder.keras")
    aae = AAE(latent_dim=2, img_size=8, seed=0, settings="improved")
    aae.train(1, 16, sample_interval=0, x_train=tiny_images, verbose=0)
    np.testing.assert_allclose(decoder(z).numpy(), aae.decode(z), atol=1e-5)
    assert not np.allclose(decoder(z).numpy(), aae.decoder(z, training=False), atol=1e-5)


def test_a_checkpoint_from_before_the_settings_resumes_as_the_document(batch, tmp_path):
    """AAE checkpoints written before lr_decay_fraction, settings and
    ema_decay existed describe the document's AAE: that one resumes from
    them, an improved one is refused."""
    aae = AAE(latent_dim=4, img_size=8, seed=1)
    aae.train_iteration(batch)
    newer = ("lr_decay_fraction", "settings", "ema_decay")
    older = {k: v for k, v in aae.get_config().items() if k not in newer}
    aae.get_config = lambda: older  # what an older version wrote
    aae.save_checkpoint(tmp_path, {"g_loss": [1.0]}, 1)
    fresh = AAE(latent_dim=4, img_size=8, seed=1)
    assert fresh.restore_checkpoint(tmp_path)["iterations"] == 1
    for a, b in zip(aae.encoder.weights, fresh.encoder.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(CheckpointError, match="Build the model with the same configuration"):
        AAE(latent_dim=4, img_size=8, seed=1, settings="improved").restore_checkpoint(tmp_path)
