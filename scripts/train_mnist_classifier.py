"""Train the MNIST classifier that `keras_gan.metrics` ships and scores with.

    python scripts/train_mnist_classifier.py            # writes keras_gan/weights/
    python scripts/train_mnist_classifier.py --out /tmp/clf.keras --epochs 1

A small CNN (two conv blocks, a 128-unit feature layer, softmax over 10
digits) trained on the 60,000 MNIST training images with Adam. The run is
seeded (`keras.utils.set_random_seed`) and TensorFlow's deterministic ops are
on, so the same machine writes the same weights. It prints the test accuracy
and refuses to write a file below `--min-accuracy` (99 % by default).

The classifier takes images `(n, 28, 28, 1)` scaled to [-1, 1] (keras_gan's
convention); its layer `"features"` (ReLU, 128 units) is the feature space of
`keras_gan.metrics.frechet_distance`.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_OUT = (
    Path(__file__).resolve().parents[1] / "keras_gan" / "weights" / "mnist_classifier.keras"
)


def build_classifier():
    """The shipped architecture: ~0.2 M parameters, under 1 MB on disk."""
    import keras

    inputs = keras.Input((28, 28, 1), name="images")  # in [-1, 1]
    x = keras.layers.Conv2D(32, 3, activation="relu")(inputs)  # (26, 26, 32)
    x = keras.layers.Conv2D(32, 3, activation="relu")(x)  # (24, 24, 32)
    x = keras.layers.MaxPooling2D()(x)  # (12, 12, 32)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)  # (10, 10, 64)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)  # (8, 8, 64)
    x = keras.layers.MaxPooling2D()(x)  # (4, 4, 64)
    x = keras.layers.Flatten()(x)  # (1024,)
    x = keras.layers.Dropout(0.25)(x)
    features = keras.layers.Dense(128, activation="relu", name="features")(x)
    x = keras.layers.Dropout(0.5)(features)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mnist_classifier")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output .keras file")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the train set")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-accuracy", type=float, default=0.99)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from keras_gan.data import load_mnist

    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train = (x_train[..., None].astype(np.float32) / 127.5 - 1.0).astype(np.float32)
    x_test = (x_test[..., None].astype(np.float32) / 127.5 - 1.0).astype(np.float32)

    model = build_classifier()
    steps = args.epochs * int(np.ceil(len(x_train) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        verbose=2,
    )
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    print(f"test accuracy: {accuracy:.4f} ({args.epochs} epochs, {seconds:.0f} s training)")
    if accuracy < args.min_accuracy:
        print(f"below --min-accuracy {args.min_accuracy}: not written", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shipped = build_classifier()  # uncompiled: no optimizer state in the file
    shipped.set_weights(model.get_weights())
    shipped.save(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {model.count_params()} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
