import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan.layers import PREPROCESS_CHOICES, MeanDiffs, Moments, RawValues, preprocess_layer

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
