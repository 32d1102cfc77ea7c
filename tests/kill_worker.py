"""Child process of test_kill_resume: trains a tiny DCGAN with a checkpoint
after every iteration, resuming from the run directory, and saves its final
weights. Usage: python kill_worker.py RUN_DIR ITERATIONS"""

import sys

import keras
import numpy as np

from keras_gan import DCGAN


class PrintIterations(keras.callbacks.Callback):
    """Tells the parent when each iteration is done (before its checkpoint)."""

    def on_train_batch_end(self, batch, logs=None):
        print(f"ITER {batch}", flush=True)


def tiny_data():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(64, 8, 8), dtype=np.uint8)


def main(run_dir, iterations):
    gan = DCGAN(latent_dim=6, img_shape=(8, 8, 1), seed=0)
    print("READY", flush=True)
    gan.train(
        iterations,
        batch_size=8,
        save_interval=5,
        x_train=tiny_data(),
        sample_dir=f"{run_dir}/samples",
        verbose=0,
        checkpoint_dir=f"{run_dir}/checkpoints",
        checkpoint_interval=1,
        keep_checkpoints=2,
        resume=True,
        callbacks=[PrintIterations()],
    )
    arrays = {f"w{i}": v.numpy() for i, v in enumerate(gan.generator.variables)}
    np.savez(f"{run_dir}/final.npz", **arrays)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
