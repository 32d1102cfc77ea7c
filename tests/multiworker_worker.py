"""Child process of test_multiworker: one worker of a two-worker cluster.

The parent sets TF_CONFIG. The worker trains a tiny DCGAN for 3 epochs of 2
steps with `train_distributed` under MultiWorkerMirroredStrategy, resuming
from and checkpointing into the shared RUN_DIR/checkpoints, and saves its
final weights to RUN_DIR/weights_<task>.npz.

Usage: python multiworker_worker.py RUN_DIR [DIE_AFTER_STEPS]
With DIE_AFTER_STEPS, worker 1 kills itself (SIGKILL) after that many steps.
"""

import json
import os
import signal
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gan import DCGAN  # noqa: E402
from keras_gan.distribute import is_chief, train_distributed  # noqa: E402

# A stopped peer is normally detected by the coordination service's
# heartbeats (~10 s here); the collective timeout is a second bound.
TIMEOUT = 30


class DieAfter(keras.callbacks.Callback):
    def __init__(self, steps):
        super().__init__()
        self.steps, self.done = steps, 0

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done == self.steps:
            os.kill(os.getpid(), signal.SIGKILL)


def main(run_dir, die_after=None):
    task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=TIMEOUT
        )
    )
    x = np.random.default_rng(0).integers(0, 256, (32, 8, 8), dtype=np.uint8)
    gan = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0, strategy=strategy)
    initial = [v.numpy().copy() for v in gan.generator.trainable_weights]
    callbacks = [DieAfter(die_after)] if die_after and task == 1 else None
    start = time.perf_counter()
    try:
        history = train_distributed(
            gan,
            x,
            epochs=3,
            batch_size=8,
            steps_per_epoch=2,
            checkpoint_dir=os.path.join(run_dir, "checkpoints"),
            resume=True,
            callbacks=callbacks,
            verbose=0,
        )
    except Exception as e:
        print(f"FAILED after {time.perf_counter() - start:.1f} s: {type(e).__name__}", flush=True)
        raise
    weights = gan.generator.weights + gan.discriminator.weights
    np.savez(
        os.path.join(run_dir, f"weights_{task}.npz"),
        **{f"w{i}": v.numpy() for i, v in enumerate(weights)},
    )
    moved = all(
        not np.allclose(a, v.numpy()) for a, v in zip(initial, gan.generator.trainable_weights)
    )
    result = {
        "task": task,
        "chief": is_chief(strategy),
        "replicas": strategy.num_replicas_in_sync,
        "history": history.history,
        "moved": bool(moved),
        "seconds": round(time.perf_counter() - start, 1),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
