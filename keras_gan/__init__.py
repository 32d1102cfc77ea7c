"""keras_gan: the classic GAN tutorials as a tested Keras 3 package.

The public API is small and re-exported here:

- `DCGAN`: the deep convolutional GAN on MNIST.
- `GaussianGAN`: the 2-D Gaussian GAN (d2l's bce and the softmax variant).
- `MomentsGAN`: "GAN in 50 lines", a 1-D Gaussian from uniform noise.
- `AAE`: the adversarial autoencoder on MNIST.
- `AdversarialModel`: the `keras.Model` whose `train_step` runs one
  adversarial iteration, behind every model's `fit()`; `CombinedModel`:
  a generator trained through a frozen discriminator, for `train()`.
- `keras_gan.data`: `load_mnist`, image validation and loading.
- `keras_gan.viz`: sample grids, loss curves, GIFs.
- `keras_gan.metrics`: sample quality offline (MNIST classifier score,
  Fréchet distance, modes; Gaussian W2 and KS test).
"""

__version__ = "0.1.0"

import os as _os

# Keras picks its backend at first import; keras_gan is written for
# TensorFlow (tf.data, tf.distribute), so refuse any other one early and say
# how to fix it instead of failing deep inside a training step.
_requested = _os.environ.get("KERAS_BACKEND")
if _requested and _requested != "tensorflow":
    raise ImportError(
        "keras_gan runs on Keras's TensorFlow backend, but KERAS_BACKEND="
        f"{_requested!r} is set. Select TensorFlow with "
        '`export KERAS_BACKEND=tensorflow` (or set "backend": "tensorflow" '
        "in ~/.keras/keras.json) before Keras is first imported."
    )

import keras as _keras  # noqa: E402

if _keras.backend.backend() != "tensorflow":
    raise ImportError(
        "keras_gan runs on Keras's TensorFlow backend, but Keras is using "
        f"{_keras.backend.backend()!r}. Select TensorFlow with "
        '`export KERAS_BACKEND=tensorflow` (or set "backend": "tensorflow" '
        "in ~/.keras/keras.json) before Keras is first imported."
    )

from keras_gan import data, metrics, viz  # noqa: E402
from keras_gan.aae import AAE  # noqa: E402
from keras_gan.dcgan import DCGAN  # noqa: E402
from keras_gan.distribute import train_distributed  # noqa: E402
from keras_gan.engine import AdversarialModel, CombinedModel  # noqa: E402
from keras_gan.gaussian import GaussianGAN  # noqa: E402
from keras_gan.moments import MomentsGAN  # noqa: E402

__all__ = [
    "AAE",
    "DCGAN",
    "GaussianGAN",
    "MomentsGAN",
    "AdversarialModel",
    "CombinedModel",
    "train_distributed",
    "data",
    "metrics",
    "viz",
    "__version__",
]
