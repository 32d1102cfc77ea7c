"""The DCGAN classic loop against one hand-written tf.function step.

Both do the same three updates per iteration on the same networks (D on a
real batch, D on a generated batch, G through the frozen D), at the same
batch size, measured alternately in one process so machine noise hits both.

    python benchmarks/bench_dcgan_classic.py --batch-size 32 --iterations 60
"""

import argparse
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from keras_gan import DCGAN
from keras_gan.data import load_mnist, prepare_images
from keras_gan.engine import call_frozen


def hand_written_step(gan):
    """The three updates in one tf.function, as a Keras user would write it."""
    D, G = gan.discriminator, gan.generator
    d_opt = keras.optimizers.Adam(0.0002, 0.5)
    g_opt = keras.optimizers.Adam(0.0002, 0.5)
    bce = keras.losses.BinaryCrossentropy()

    @tf.function
    def step(real):
        n = tf.shape(real)[0]
        ones, zeros = tf.ones((n, 1)), tf.zeros((n, 1))
        z = keras.random.normal((n, gan.latent_dim), seed=gan.seed_generator)
        fake = G(z, training=False)
        with tf.GradientTape() as tape:
            loss = bce(ones, D(real, training=True))
        d_opt.apply_gradients(zip(tape.gradient(loss, D.trainable_weights), D.trainable_weights))
        with tf.GradientTape() as tape:
            loss = bce(zeros, D(fake, training=True))
        d_opt.apply_gradients(zip(tape.gradient(loss, D.trainable_weights), D.trainable_weights))
        with tf.GradientTape() as tape:
            loss = bce(ones, call_frozen(D, G(z, training=True), training=True))
        g_opt.apply_gradients(zip(tape.gradient(loss, G.trainable_weights), G.trainable_weights))
        return loss

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=60, help="per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    (x_train, _), _ = load_mnist()
    x = prepare_images(x_train[:10000], (28, 28, 1))
    classic = DCGAN(seed=0)
    fused = DCGAN(seed=0)
    step = hand_written_step(fused)
    rng = np.random.default_rng(0)

    def run_classic():
        classic.train(args.iterations, args.batch_size, save_interval=0, x_train=x, verbose=0)

    def run_fused():
        for _ in range(args.iterations):
            step(x[rng.integers(0, len(x), args.batch_size)]).numpy()

    for fn in (run_classic, run_fused):  # warm up: trace and build
        fn()
    times = {"classic train_on_batch loop": [], "hand-written tf.function step": []}
    for _ in range(args.rounds):
        for name, fn in zip(times, (run_classic, run_fused)):
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) / args.iterations * 1000)
    ref = statistics.median(times["hand-written tf.function step"])
    print(f"DCGAN, batch {args.batch_size}, {args.rounds} rounds x {args.iterations} iterations")
    print(f"{'loop':32s} {'ms/iteration (median)':>22s} {'ratio':>7s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:32s} {med:22.1f} {med / ref:7.3f}")


if __name__ == "__main__":
    main()
