"""keras_gan's own layers, serializable: the 50-line GAN's discriminator
preprocessing and the DCGAN generator's `UpSamplingConv2D`.

The 50-line document picks what its discriminator sees by commenting lines
in and out; here each choice is a layer placed first inside the
discriminator, so a saved `.keras` discriminator carries its preprocessing
and loads anywhere `keras_gan` is importable. Every preprocessing layer works
row by row: one row is one minibatch of `m` values that the discriminator
reads as ONE example.

| name          | layer                     | output per row of `m` values |
| ------------- | ------------------------- | ---------------------------- |
| `"raw"`       | `RawValues()`             | the `m` values               |
| `"diffs"`     | `MeanDiffs(exponent=1)`   | the values, then `x - mean`  |
| `"variances"` | `MeanDiffs(exponent=2)`   | the values, then `(x - mean)**2` |
| `"moments"`   | `Moments()`               | mean, std, skew, excess kurtosis |

`UpSamplingConv2D` is what `DCGAN(fast_upsampling=True)` puts in its
generator: `UpSampling2D()` + `Conv2D(f, 3, padding="same")` as one layer
with the same weights, computed with fewer multiply-adds.
"""

import keras
import numpy as np
from keras import ops

from keras_gan.data import check_int

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


# Nearest 2x upsampling then a 3x3 "same" convolution, seen from the small
# image: output row 2i + a reads input rows (i - 1, i) for a = 0 and (i, i + 1)
# for a = 1, each with a sum of the 3x3 kernel's rows. As one stride-2
# transposed convolution with "same" padding, output row r gets input row i
# through tap t = r - 2i + 1 of a 4-tap kernel whose taps are these sums of
# the 3 rows (the same holds for columns):
_UPSAMPLED_TAPS = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]], "float32")


@keras.saving.register_keras_serializable(package="keras_gan")
class UpSamplingConv2D(keras.layers.Layer):
    """`UpSampling2D()` then `Conv2D(filters, 3, padding="same")`, computed fast.

    The same function as the two layers (to float rounding), with the same
    weights (`kernel` of shape `(3, 3, in_channels, filters)` and `bias`,
    created and initialised as `Conv2D` creates them, so `get_weights()` of
    either fits the other), but computed as one stride-2 transposed
    convolution on the small image with a 4x4 kernel built from the 3x3 one:
    4 multiply-adds per output pixel and input channel instead of 9, and no
    upsampled copy of the input. Channels-last inputs only.

    Args:
        filters: Positive integer, the number of output channels.
        kernel_initializer: Initializer of the 3x3 kernel. Defaults to
            `"glorot_uniform"` (`Conv2D`'s).
        bias_initializer: Initializer of the bias. Defaults to `"zeros"`.
        **kwargs: Passed to `keras.layers.Layer`.

    Raises:
        ValueError: for a non-positive `filters`, or (when built) an input
            that is not `(batch, height, width, channels)` with a known
            number of channels.

    Example:

    >>> import numpy as np
    >>> layer = UpSamplingConv2D(8)
    >>> x = np.random.rand(2, 7, 7, 3).astype("float32")
    >>> plain = keras.layers.Conv2D(8, 3, padding="same")
    >>> _ = plain(keras.layers.UpSampling2D()(x))
    >>> _ = layer(x)
    >>> layer.set_weights(plain.get_weights())
    >>> bool(np.allclose(layer(x), plain(keras.layers.UpSampling2D()(x)), atol=1e-5))
    True
    """

    def __init__(
        self, filters, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs
    ):
        super().__init__(**kwargs)
        self.filters = check_int("filters", filters)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        if len(input_shape) != 4 or channels is None:
            raise ValueError(
                "UpSamplingConv2D takes channels-last images (batch, height, width, channels) "
                f"with a known number of channels. Received: input_shape={tuple(input_shape)}"
            )
        self.kernel = self.add_weight(
            shape=(3, 3, channels, self.filters),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.filters,), initializer=self.bias_initializer, name="bias"
        )

    def call(self, inputs):
        kernel = ops.convert_to_tensor(self.kernel)
        taps = ops.cast(_UPSAMPLED_TAPS, kernel.dtype)
        # (t, s, filters, in_channels): conv_transpose's kernel layout
        kernel = ops.einsum("ty,sx,yxio->tsoi", taps, taps, kernel)
        outputs = ops.conv_transpose(
            inputs, kernel, strides=2, padding="same", data_format="channels_last"
        )
        return outputs + ops.cast(self.bias, outputs.dtype)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (
            batch,
            None if height is None else 2 * height,
            None if width is None else 2 * width,
            self.filters,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
