import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan.layers import (
    PREPROCESS_CHOICES,
    MeanDiffs,
    Moments,
    RawValues,
    UpSamplingConv2D,
    preprocess_layer,
)

ROWS = np.array([[0.0, 0.0, 0.0, 4.0], [1.0, 2.0, 3.0, 6.0]], dtype=np.float32)


def numpy_moments(row):
    """The document's get_moments in NumPy: population std, z-score powers."""
    mean = row.mean()
    diffs = row - mean
    std = np.sqrt(np.mean(diffs**2))
    z = diffs / std
    return [mean, std, np.mean(z**3), np.mean(z**4) - 3.0]


def test_raw_is_identity():
    np.testing.assert_array_equal(RawValues()(ROWS).numpy(), ROWS)


def test_diffs_and_variances_against_hand_values():
    # Row 0 has mean 1: diffs -1, -1, -1, 3. Row 1 has mean 3: -2, -1, 0, 3.
    diffs = MeanDiffs(1.0)(ROWS).numpy()
    np.testing.assert_allclose(diffs[:, :4], ROWS)
    np.testing.assert_allclose(diffs[:, 4:], [[-1, -1, -1, 3], [-2, -1, 0, 3]])
    variances = MeanDiffs(2.0)(ROWS).numpy()
    np.testing.assert_allclose(variances[:, 4:], [[1, 1, 1, 9], [4, 1, 0, 9]])
    only = MeanDiffs(2.0, remove_raw_data=True)(ROWS).numpy()
    np.testing.assert_allclose(only, [[1, 1, 1, 9], [4, 1, 0, 9]])


def test_moments_against_hand_values_and_numpy():
    out = Moments()(ROWS).numpy()
    # Row 0: mean 1, var 12/4 = 3, skew (−3 + 27)/4 / 3^1.5, kurtosis (3 + 81)/4 / 9 − 3.
    np.testing.assert_allclose(
        out[0], [1.0, np.sqrt(3.0), 6.0 / 3**1.5, 21.0 / 9.0 - 3.0], rtol=1e-5
    )
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, size=(3, 500)).astype(np.float32)  # skewed, heavy-tailed
    np.testing.assert_allclose(
        Moments()(x).numpy(), [numpy_moments(r.astype(np.float64)) for r in x], rtol=1e-4
    )
    # A symmetric two-point row: std 1, skew 0, excess kurtosis 1 - 3.
    np.testing.assert_allclose(Moments()(np.array([[1.0, 3.0]])).numpy(), [[2, 1, 0, -2]])


def test_gradients_follow_the_document():
    x = tf.constant(ROWS)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(MeanDiffs(1.0)(x))
    # The document's mean comes from `data.data` (no gradient): d/dx of
    # sum(x) + sum(x - const) is 2 everywhere. With a gradient through the
    # mean it would be 1.
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), np.full_like(ROWS, 2.0))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(Moments()(x)[:, 0])
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), np.full_like(ROWS, 0.25))


@pytest.mark.parametrize(
    "name, width", [("raw", 500), ("diffs", 1000), ("variances", 1000), ("moments", 4)]
)
def test_factory_names_and_output_widths(name, width):
    layer = preprocess_layer(name)
    assert layer.name == f"preprocess_{name}"
    assert layer.compute_output_shape((None, 500)) == (None, width)
    assert layer(np.ones((3, 500), np.float32) + np.arange(500)).shape == (3, width)


def test_unknown_preprocess_and_bad_exponent_raise():
    with pytest.raises(ValueError, match=r"Received: preprocess='cubes'"):
        preprocess_layer("cubes")
    with pytest.raises(ValueError, match=r"Received: exponent=0"):
        MeanDiffs(0)
    assert set(PREPROCESS_CHOICES) == {"raw", "diffs", "variances", "moments"}


@pytest.mark.parametrize("name", PREPROCESS_CHOICES)
def test_keras_round_trip_gives_identical_outputs(name, tmp_path):
    model = keras.Sequential(
        [keras.Input((50,)), preprocess_layer(name), keras.layers.Dense(3, activation="sigmoid")]
    )
    x = np.random.default_rng(1).normal(4.0, 1.25, (4, 50)).astype(np.float32)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode: the layers are registered
    assert type(loaded.layers[0]) is type(model.layers[0])
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


def test_config_mirrors_init():
    layer = MeanDiffs(2.0, remove_raw_data=True, name="d")
    clone = MeanDiffs.from_config(layer.get_config())
    assert (clone.exponent, clone.remove_raw_data, clone.name) == (2.0, True, "d")


def _plain_pair(layer, x):
    """UpSampling2D + Conv2D holding `layer`'s weights."""
    conv = keras.layers.Conv2D(layer.filters, 3, padding="same")
    conv.build((None, 2 * x.shape[1], 2 * x.shape[2], x.shape[3]))
    conv.set_weights(layer.get_weights())
    return lambda inputs: conv(keras.layers.UpSampling2D()(inputs))


def test_upsampling_conv_is_upsampling_then_conv_with_its_gradients():
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 5, 7, 4)).astype(np.float32))  # rows != cols
    layer = UpSamplingConv2D(6)
    layer.build(x.shape)
    layer.bias.assign(rng.normal(size=6).astype(np.float32))
    plain = _plain_pair(layer, x)
    cotangent = tf.constant(rng.normal(size=(3, 10, 14, 6)).astype(np.float32))

    def grads(fn):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = fn(x)
            loss = tf.reduce_sum(y * cotangent)
        return y, tape.gradient(loss, x)

    y_fast, gx_fast = grads(layer)
    y_plain, gx_plain = grads(plain)
    assert y_fast.shape == (3, 10, 14, 6) == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y_fast.numpy(), y_plain.numpy(), atol=1e-5)
    np.testing.assert_allclose(gx_fast.numpy(), gx_plain.numpy(), atol=1e-5)
    # gradients of the 3x3 kernel and the bias: those of Conv2D's
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * cotangent)
    g_kernel, g_bias = tape.gradient(loss, [layer.kernel, layer.bias])
    up = keras.layers.UpSampling2D()(x)
    with tf.GradientTape() as tape:
        kernel = tf.constant(layer.kernel.numpy())
        tape.watch(kernel)
        y = tf.nn.conv2d(up, kernel, 1, "SAME")
        loss = tf.reduce_sum(y * cotangent)
    np.testing.assert_allclose(g_kernel.numpy(), tape.gradient(loss, kernel).numpy(), atol=1e-4)
    np.testing.assert_allclose(g_bias.numpy(), cotangent.numpy().sum(axis=(0, 1, 2)), rtol=1e-5)


def test_upsampling_conv_initialises_as_conv2d():
    keras.utils.set_random_seed(3)
    layer = UpSamplingConv2D(5)
    layer.build((None, 4, 4, 2))
    keras.utils.set_random_seed(3)
    conv = keras.layers.Conv2D(5, 3, padding="same")
    conv.build((None, 8, 8, 2))
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 2, 5), (5,)]
    for mine, theirs in zip(layer.get_weights(), conv.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_upsampling_conv_round_trip_and_mixed_precision(tmp_path):
    model = keras.Sequential([keras.Input((4, 4, 3)), UpSamplingConv2D(2, name="up")])
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 3)).astype(np.float32)
    path = tmp_path / "up.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode: the layer is registered
    assert loaded.get_layer("up").get_config() == model.get_layer("up").get_config()
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    mixed = UpSamplingConv2D(2, dtype="mixed_bfloat16")
    mixed.build(x.shape)
    mixed.set_weights(model.get_layer("up").get_weights())
    y = mixed(x)
    assert y.dtype == "bfloat16" and mixed.kernel.dtype == "float32"
    np.testing.assert_allclose(np.asarray(y, np.float32), model(x).numpy(), atol=0.1)


def test_upsampling_conv_bad_arguments_raise():
    for filters in (0, -1, 2.5, True, None):
        with pytest.raises(ValueError, match="filters must be a positive integer"):
            UpSamplingConv2D(filters)
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\)"):
        UpSamplingConv2D(2).build((None, 4, 4, None))
    with pytest.raises(ValueError, match="expected ndim=4"):
        UpSamplingConv2D(2)(np.zeros((2, 4, 3), np.float32))
