import subprocess
import sys

import keras

import keras_gan


def test_public_api():
    assert {"DCGAN", "AAE", "GaussianGAN", "MomentsGAN"} <= set(keras_gan.__all__)
    assert {"AdversarialModel", "CombinedModel", "data", "viz"} <= set(keras_gan.__all__)
    assert issubclass(keras_gan.AdversarialModel, keras.Model)
    assert issubclass(keras_gan.CombinedModel, keras.Model)
    assert keras_gan.__version__


def test_other_backend_is_refused_with_instructions():
    env = {"KERAS_BACKEND": "jax", "PATH": ""}
    r = subprocess.run(
        [sys.executable, "-c", "import keras_gan"], capture_output=True, text=True, env=env
    )
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "KERAS_BACKEND=tensorflow" in r.stderr
