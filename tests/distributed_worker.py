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

from keras_gan import AAE, DCGAN, GaussianGAN, MomentsGAN  # noqa: E402
from keras_gan.distribute import train_distributed  # noqa: E402
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
    # the AAE: one fit step on a global batch of 16 split 8 + 8. The
    # encoder's BatchNorm sees the images before any noise, so its moving
    # statistics must equal one device's on all 16 and agree on both
    # replicas (Keras's own update would leave each replica its half's).
    imgs = np.random.default_rng(2).integers(0, 256, (16, 8, 8), dtype=np.uint8)
    stats = []
    for strat in (None, strategy):
        aae = AAE(latent_dim=4, img_size=8, seed=0, strategy=strat)
        before = [w.numpy().copy() for w in aae.encoder.trainable_weights]
        h = aae.fit(
            imgs, epochs=1, batch_size=16, verbose=0, jit_compile=False, precise_batch_norm=False
        )
        bn = next(x for x in aae.encoder.layers if isinstance(x, keras.layers.BatchNormalization))
        local = (
            [v.numpy() for v in strategy.experimental_local_results(bn.moving_mean.value)]
            if strat
            else [bn.moving_mean.numpy()]
        )
        stats.append(local)
    out["aae_history"] = h.history
    out["aae_encoder_changed"] = all(
        not np.array_equal(a, w.numpy()) for a, w in zip(before, aae.encoder.trainable_weights)
    )
    out["aae_bn_replicas_agree"] = bool(np.array_equal(stats[1][0], stats[1][1]))
    out["aae_bn_vs_one_device"] = float(np.abs(stats[1][0] - stats[0][0]).max())
    out["aae_bn_moved"] = bool(np.abs(stats[0][0]).max() > 0)
    # precise statistics under the strategy: both replicas get one device's
    # figures for the same weights
    aae.update_batch_norm_statistics(imgs)
    local = [v.numpy() for v in strategy.experimental_local_results(bn.moving_mean.value)]
    one = AAE(latent_dim=4, img_size=8, seed=0)
    for net in ("encoder", "decoder"):
        getattr(one, net).set_weights(getattr(aae, net).get_weights())
    one.update_batch_norm_statistics(imgs)
    one_bn = next(x for x in one.encoder.layers if isinstance(x, keras.layers.BatchNormalization))
    out["aae_precise_replicas_agree"] = bool(np.array_equal(local[0], local[1]))
    out["aae_precise_vs_one_device"] = float(np.abs(local[0] - one_bn.moving_mean.numpy()).max())
    out["aae_precise_moved"] = float(np.abs(local[0] - stats[1][0]).max())

    @tf.function
    def codes():
        return strategy.run(lambda: aae.encoder(tf.zeros((3, 8, 8, 1))))

    per_replica = strategy.experimental_local_results(codes())
    out["aae_replica_codes_differ"] = bool(not np.allclose(per_replica[0], per_replica[1]))

    # the 50-line GAN: each replica draws its own minibatches in-graph
    gan50 = MomentsGAN(seed=0, strategy=strategy)
    model = gan50.fused_model(2, 2)

    @tf.function
    def minibatches():
        return strategy.run(lambda: (model.sample_real(), model.sample_noise()))

    real, noise = (strategy.experimental_local_results(t) for t in minibatches())
    out["moments_replica_samples_differ"] = bool(
        not np.allclose(real[0], real[1]) and not np.allclose(noise[0], noise[1])
    )
    before = [w.numpy().copy() for w in gan50.generator.trainable_weights]
    h = gan50.fit(epochs=20, d_steps=2, g_steps=2, log_interval=10, verbose=0)
    out["moments_history"] = h.history
    out["moments_epochs"] = gan50.epochs
    out["moments_g_changed"] = all(
        not np.array_equal(a, w.numpy()) for a, w in zip(before, gan50.generator.trainable_weights)
    )
    # Keras cannot loop steps or use XLA with several replicas: a clear error
    refused = []
    for kwargs in ({"steps_per_execution": 5}, {"jit_compile": True}):
        try:
            gauss.fit(epochs=1, batch_size=8, verbose=0, **kwargs)
            refused.append(False)
        except ValueError as e:
            refused.append("keras-team/keras#19246" in str(e))
    try:  # the multi-worker loop, on two local replicas
        train_distributed(gan, imgs, epochs=1, batch_size=16, jit_compile=True, verbose=0)
        refused.append(False)
    except ValueError as e:
        refused.append("keras-team/keras#19246" in str(e))
    out["loops_and_xla_refused"] = refused
    try:
        DCGAN(latent_dim=6, img_shape=(8, 8, 1), strategy=strategy, settings="improved")
        out["ema_refused"] = False
    except ValueError as e:
        out["ema_refused"] = "multi-replica" in str(e)
    try:
        AAE(latent_dim=4, img_size=8, strategy=strategy, settings="improved")
        out["aae_ema_refused"] = False
    except ValueError as e:
        out["aae_ema_refused"] = "multi-replica" in str(e)
    out["replicas"] = strategy.num_replicas_in_sync
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
