"""The 50-line GAN's discriminator preprocessing, as serializable Keras layers.

The document picks what its discriminator sees by commenting lines in and
out; here each choice is a layer placed first inside the discriminator, so a
saved `.keras` discriminator carries its preprocessing and loads anywhere
`keras_gan` is importable. Every layer works row by row: one row is one
minibatch of `m` values that the discriminator reads as ONE example.

| name          | layer                     | output per row of `m` values |
| ------------- | ------------------------- | ---------------------------- |
| `"raw"`       | `RawValues()`             | the `m` values               |
| `"diffs"`     | `MeanDiffs(exponent=1)`   | the values, then `x - mean`  |
| `"variances"` | `MeanDiffs(exponent=2)`   | the values, then `(x - mean)**2` |
| `"moments"`   | `Moments()`               | mean, std, skew, excess kurtosis |
"""

import keras
from keras import ops

PREPROCESS_CHOICES = ("raw", "diffs", "variances", "moments")


@keras.saving.register_keras_serializable(package="keras_gan")
class RawValues(keras.layers.Layer):
    """Passes the minibatch through unchanged (the document's "Raw data").

    Example:

    >>> import numpy as np
    >>> RawValues()(np.array([[1.0, 2.0]])).numpy().tolist()
    [[1.0, 2.0]]
    """

    def call(self, inputs):
        return ops.convert_to_tensor(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@keras.saving.register_keras_serializable(package="keras_gan")
class MeanDiffs(keras.layers.Layer):
    """Appends `(x - mean(x))**exponent` to the values of each row.

    The document's `decorate_with_diffs(data, exponent)`: exponent 1 is
    "Data and diffs", exponent 2 "Data and variances". As in the document the
    row mean is taken as a constant (it is built from `data.data`, outside
    autograd), so no gradient flows through it.

    Args:
        exponent: Positive number, the power of the differences. Defaults
            to `1.0`.
        remove_raw_data: Boolean; if `True` only the differences are
            returned, as the document's option of that name. Defaults to
            `False`.
        **kwargs: Passed to `keras.layers.Layer`.

    Example:

    >>> import numpy as np
    >>> MeanDiffs(2.0)(np.array([[1.0, 3.0]])).numpy().tolist()
    [[1.0, 3.0, 1.0, 1.0]]
    """

    def __init__(self, exponent=1.0, remove_raw_data=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)) or exponent <= 0:
            raise ValueError(f"exponent must be a positive number. Received: exponent={exponent!r}")
        self.exponent = float(exponent)
        self.remove_raw_data = bool(remove_raw_data)

    def call(self, inputs):
        x = ops.convert_to_tensor(inputs)
        mean = ops.stop_gradient(ops.mean(x, axis=-1, keepdims=True))
        diffs = x - mean
        if self.exponent != 1.0:
            diffs = ops.power(diffs, self.exponent)
        return diffs if self.remove_raw_data else ops.concatenate([x, diffs], axis=-1)

    def compute_output_shape(self, input_shape):
        *batch, m = input_shape
        if m is None or self.remove_raw_data:
            return (*batch, m)
        return (*batch, 2 * m)

    def get_config(self):
        return {
            **super().get_config(),
            "exponent": self.exponent,
            "remove_raw_data": self.remove_raw_data,
        }


@keras.saving.register_keras_serializable(package="keras_gan")
class Moments(keras.layers.Layer):
    """Reduces each row to its mean, std, skew and excess kurtosis.

    The document's `get_moments`: population variance (divide by `m`), the
    z-scores' third mean power, and their fourth mean power minus 3 (0 for a
    Gaussian). Gradients flow through all four.

    Example:

    >>> import numpy as np
    >>> Moments()(np.array([[1.0, 3.0]])).numpy().tolist()
    [[2.0, 1.0, 0.0, -2.0]]
    """

    def call(self, inputs):
        x = ops.convert_to_tensor(inputs)
        mean = ops.mean(x, axis=-1, keepdims=True)
        diffs = x - mean
        std = ops.sqrt(ops.mean(ops.square(diffs), axis=-1, keepdims=True))
        z = diffs / std
        z2 = ops.square(z)
        skew = ops.mean(z2 * z, axis=-1, keepdims=True)
        kurtosis = ops.mean(ops.square(z2), axis=-1, keepdims=True) - 3.0
        return ops.concatenate([mean, std, skew, kurtosis], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 4)


def preprocess_layer(name):
    """Returns a new preprocessing layer for one of the document's choices.

    Args:
        name: One of `"raw"`, `"diffs"`, `"variances"`, `"moments"`.

    Returns:
        A Keras layer named `"preprocess_<name>"`.

    Raises:
        ValueError: for any other name.

    Example:

    >>> preprocess_layer("moments").compute_output_shape((None, 500))
    (None, 4)
    """
    layer_name = f"preprocess_{name}"
    if name == "raw":
        return RawValues(name=layer_name)
    if name == "diffs":
        return MeanDiffs(1.0, name=layer_name)
    if name == "variances":
        return MeanDiffs(2.0, name=layer_name)
    if name == "moments":
        return Moments(name=layer_name)
    raise ValueError(
        f"preprocess must be one of {', '.join(map(repr, PREPROCESS_CHOICES))}. "
        f"Received: preprocess={name!r}"
    )
