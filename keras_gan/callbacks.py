"""Keras callbacks for training: sample pictures, and quality in the history.

`SampleWriter` writes sample pictures every N batches or epochs of `fit()`.

`QualityLogger` works in both loops:

- the classic loop (`DCGAN.train(callbacks=[...])`, i.e.
  `keras_gan.engine.run_loop`), which records every key a callback adds to
  `logs` in its history, NaN for the other iterations;
- Keras `fit()`, where it adds its keys to the batch logs (shown by the
  progress bar) or, with `unit="epoch"`, to the epoch logs that
  `fit()`'s `History` records.
"""

import math

import keras

from keras_gan import metrics, viz
from keras_gan.data import check_int

QUALITY_KEYS = ("classifier_score", "frechet_distance", "modes")


class QualityLogger(keras.callbacks.Callback):
    """Measures MNIST sample quality every `interval` iterations (or epochs).

    Each time, `generate(n)` is called for `n` images and
    `keras_gan.metrics.image_quality` scores them; `classifier_score`,
    `frechet_distance` and `modes` are added to `logs` (so the history
    holds them) and appended, with the iteration, to `self.records`.

    Iterations are numbered as the classic loop numbers them (the `batch`
    argument of `on_train_batch_end`, which counts on across `train()`
    calls), and quality is measured after iteration `i` when
    `i % interval == 0`, as the loop saves its sample grids. Under `fit()`,
    whose batch index restarts each epoch, the callback adds the batches of
    past epochs (it knows it runs under `fit()` because Keras gives it a
    model); with `steps_per_execution=k` Keras reports every k-th batch
    only, and quality is measured at the first report at or after each
    multiple of `interval`.

    Args:
        generate: Callable `generate(n) -> images`, e.g. `gan.generate`.
            Images as `keras_gan.metrics.prepare_digits` accepts them.
            `gan.generate` draws from the model's seeded noise stream, so a
            seeded run with the logger trains on other noise than one
            without; to keep runs identical pass fixed noise, e.g.
            `lambda n: gan.generator(z[:n], training=False)`.
        interval: Positive integer: measure every `interval` iterations
            (or epochs). Defaults to `500`.
        n: Positive integer >= 2, images generated per measurement.
            Defaults to `2000` (about a second of classifier time on CPU).
        unit: `"iteration"` (in `on_train_batch_end`) or `"epoch"` (in
            `on_epoch_end`, for `fit()`). Defaults to `"iteration"`.
        reference: Fréchet reference, as in
            `keras_gan.metrics.frechet_distance`. Defaults to `None`, the
            MNIST test set.
        verbose: `1` prints a line per measurement, `0` is silent.

    Example:

    >>> from keras_gan import DCGAN
    >>> from keras_gan.callbacks import QualityLogger
    >>> gan = DCGAN(seed=0)
    >>> quality = QualityLogger(gan.generate, interval=500)
    >>> history = gan.train(4000, batch_size=32, callbacks=[quality])  # doctest: +SKIP
    >>> history.history["classifier_score"]  # NaN between measurements  # doctest: +SKIP
    """

    def __init__(self, generate, interval=500, n=2000, unit="iteration", reference=None, verbose=0):
        super().__init__()
        if not callable(generate):
            raise ValueError(
                f"generate must be a callable returning n images. Received: generate={generate!r}"
            )
        if unit not in ("iteration", "epoch"):
            raise ValueError(f'unit must be "iteration" or "epoch". Received: unit={unit!r}')
        self.generate = generate
        self.interval = check_int("interval", interval)
        self.n = check_int("n", n, minimum=2)
        self.unit = unit
        self.reference = reference
        self.verbose = verbose
        self.records = []  # dicts: iteration (or epoch) and the quality figures
        self.on_train_begin()

    def measure(self):
        """Generates `n` images and returns their quality figures (a dict)."""
        quality = metrics.image_quality(self.generate(self.n), reference=self.reference)
        return {key: quality[key] for key in QUALITY_KEYS}

    def _log(self, index, logs):
        figures = self.measure()
        self.records.append({self.unit: int(index), **figures})
        if logs is not None:
            logs.update(figures)
        if self.verbose:
            text = ", ".join(f"{k}={v:.4g}" for k, v in figures.items())
            print(f"\nquality at {self.unit} {index}: {text}", flush=True)

    def on_train_begin(self, logs=None):
        self._offset = 0  # fit(): batches of the epochs before this one
        self._last_batch = -1
        self._previous = None  # the last iteration seen

    def on_train_batch_end(self, batch, logs=None):
        if self.unit != "iteration":
            return
        if getattr(self, "_model", None) is not None:  # fit(): batch restarts per epoch
            steps = (self.params or {}).get("steps")
            if steps:  # a last, partial execution is reported as a full one
                batch = min(batch, steps - 1)
            index = self._offset + batch
            self._last_batch = batch
            first = self._offset
        else:  # classic loop: `batch` is the global iteration
            index = first = batch
        previous = first - 1 if self._previous is None else self._previous
        self._previous = index
        # with steps_per_execution > 1 fit() reports every k-th batch only:
        # measure when a multiple of `interval` lies in (previous, index]
        if index // self.interval > previous // self.interval:
            self._log(index, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._offset += self._last_batch + 1
        self._last_batch = -1
        if self.unit == "epoch" and (epoch + 1) % self.interval == 0:
            self._log(epoch, logs)

    def series(self, key):
        """Returns `(indices, values)` of one figure over training."""
        if key not in QUALITY_KEYS:
            raise ValueError(f"key must be one of {QUALITY_KEYS}. Received: key={key!r}")
        return (
            [r[self.unit] for r in self.records],
            [r.get(key, math.nan) for r in self.records],
        )


class SampleWriter(keras.callbacks.Callback):
    """Writes pictures of samples every N batches or epochs of `fit()`.

    Args:
        directory: Directory the pictures go to (created). Files are named
            `epoch_<e>.png` or `batch_<b>.png` (b counts across epochs).
        generate: Callable `generate(n)` returning samples, e.g.
            `gan.generate`.
        every_n_epochs: Positive integer or `None`. Defaults to `1`.
        every_n_batches: Positive integer or `None`. Defaults to `None`.
        n: Number of samples per picture. Defaults to `25` (a 5x5 grid).
        plot: Callable `plot(samples, path)`; defaults to a square grid of
            images (`keras_gan.viz.save_image_grid`). Pass e.g. a scatter
            plot for the Gaussian models.

    Example:

    >>> import os, tempfile
    >>> import numpy as np
    >>> from keras_gan import DCGAN
    >>> gan = DCGAN(latent_dim=8, img_shape=(8, 8, 1), seed=0)
    >>> images = np.random.default_rng(0).integers(0, 256, (64, 8, 8), dtype="uint8")
    >>> out = tempfile.mkdtemp()
    >>> writer = SampleWriter(out, gan.generate)
    >>> history = gan.fit(images, epochs=2, batch_size=16, verbose=0, callbacks=[writer])
    >>> sorted(os.listdir(out))
    ['epoch_1.png', 'epoch_2.png']
    """

    def __init__(
        self, directory, generate, every_n_epochs=1, every_n_batches=None, n=25, plot=None
    ):
        super().__init__()
        if every_n_epochs is None and every_n_batches is None:
            raise ValueError("Give every_n_epochs or every_n_batches (or both).")
        self.directory = str(directory)
        self.generate = generate
        self.every_n_epochs = every_n_epochs and check_int("every_n_epochs", every_n_epochs)
        self.every_n_batches = every_n_batches and check_int("every_n_batches", every_n_batches)
        self.n = check_int("n", n)
        self.plot = plot or self._grid
        self.paths = []
        self._seen = 0

    def _grid(self, samples, path):
        side = max(int(math.sqrt(self.n)), 1)
        return viz.save_image_grid(samples, path, rows=side, cols=math.ceil(self.n / side))

    def _write(self, name):
        path = f"{self.directory}/{name}.png"
        self.plot(self.generate(self.n), path)
        self.paths.append(path)

    def on_train_batch_end(self, batch, logs=None):
        self._seen += 1
        if self.every_n_batches and self._seen % self.every_n_batches == 0:
            self._write(f"batch_{self._seen}")

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            self._write(f"epoch_{epoch + 1}")
