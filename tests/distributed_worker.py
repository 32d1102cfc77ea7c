"""Child process of test_distribute: two logical CPU devices, MirroredStrategy.

Prints one JSON line with the checks' results."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_gan import DCGAN, GaussianGAN  # noqa: E402
from keras_gan.engine import AdversarialModel, build_optimizers, replica_normal  # noqa: E402


def mlp_gan(seed):
    keras.utils.set_random_seed(seed)
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)], name="g")
    d = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(5, activation="tanh"),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
        name="d",
    )
    model = AdversarialModel(g, d, latent_dim=2, seed_generator=keras.random.SeedGenerator(seed))
    model.compile(
        d_optimizer=keras.optimizers.Adam(0.05),
        g_optimizer=keras.optimizers.Adam(0.01),
        jit_compile=False,
    )
    build_optimizers(model)
    return model


class FixedNoise(AdversarialModel):
    """The noise of the global batch, each replica taking its own rows."""

    noise = None

    def sample_latent(self, n):
        ctx = tf.distribute.get_replica_context()
        start = ctx.replica_id_in_sync_group * n if ctx else 0
        return tf.gather(self.noise, tf.range(start, start + n))


def main():
    out = {}
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    x = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    z = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")

    results = []
    for strat in (tf.distribute.get_strategy(), strategy):
        with strat.scope():
            model = mlp_gan(0)
            model.__class__ = FixedNoise
            model.noise = tf.constant(z)
            model.compile(
                d_optimizer=keras.optimizers.Adam(0.05),
                g_optimizer=keras.optimizers.Adam(0.01),
                jit_compile=False,
            )
            build_optimizers(model)
        ds = tf.data.Dataset.from_tensor_slices(x).batch(8)
        model.fit(ds, epochs=1, verbose=0, shuffle=False)
        results.append([v.numpy() for v in model.generator.weights + model.discriminator.weights])
    out["max_weight_diff"] = max(float(np.abs(a - b).max()) for a, b in zip(*results))
    out["weights_moved"] = bool(
        any(
            not np.allclose(a, b)
            for a, b in zip(results[0], [v.numpy() for v in mlp_gan(0).weights])
        )
    )

    @tf.function
    def noise():
        return strategy.run(lambda: replica_normal((3, 2), gen))

    with strategy.scope():
        gen = keras.random.SeedGenerator(0)
    per_replica = strategy.experimental_local_results(noise())
    out["replica_noise_differs"] = bool(not np.allclose(per_replica[0], per_replica[1]))

    gan = DCGAN(latent_dim=6, img_shape=(8, 8, 1), seed=0, strategy=strategy)
    imgs = np.random.default_rng(0).integers(0, 256, (64, 8, 8), dtype=np.uint8)
    before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    h = gan.fit(imgs, epochs=2, batch_size=16, verbose=0, jit_compile=False)
    out["dcgan_history"] = h.history
    out["dcgan_g_changed"] = all(
        not np.array_equal(a, w.numpy()) for a, w in zip(before, gan.generator.trainable_weights)
    )
    # the Gaussian GANs, built in the strategy's scope, train under it too
    for variant in ("bce", "softmax"):
        with strategy.scope():
            gauss = GaussianGAN(variant, seed=0)
        before = [w.numpy().copy() for w in gauss.generator.trainable_weights]
        h = gauss.fit(epochs=2, batch_size=8, verbose=0, jit_compile=False)
        out[f"gaussian_{variant}_history"] = h.history
        out[f"gaussian_{variant}_g_changed"] = all(
            not np.array_equal(a, w.numpy())
            for a, w in zip(before, gauss.generator.trainable_weights)
        )
    try:
        DCGAN(latent_dim=6, img_shape=(8, 8, 1), strategy=strategy, settings="improved")
        out["ema_refused"] = False
    except ValueError as e:
        out["ema_refused"] = "multi-replica" in str(e)
    out["replicas"] = strategy.num_replicas_in_sync
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
