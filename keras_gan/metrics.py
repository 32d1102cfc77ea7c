"""Sample quality, measured offline: MNIST image metrics and Gaussian distances.

MNIST images are judged by a small CNN classifier shipped inside the package
(`keras_gan/weights/mnist_classifier.keras`, trained by
`scripts/train_mnist_classifier.py`); nothing is downloaded.

- `classifier_score(images)`: the Inception-score analogue,
  `exp(E_x KL(p(y|x) || p(y)))`, from 1 (one class, or no confident class)
  to 10 (confident predictions spread evenly over the ten digits).
- `frechet_distance(images, reference=None)`: the Fréchet distance between
  Gaussians fitted to the classifier's 128 penultimate features ("FID" on
  MNIST); the reference defaults to the MNIST test set.
- `mode_coverage(images)`: the share of each predicted digit, how many
  digits are covered and the entropy of the shares.
- `image_quality(images)`: the three above from one pass of the classifier.

For samples of (multivariate) Gaussians, `gaussian_w2` gives the closed-form
2-Wasserstein distance between the fitted and a target Gaussian,
`gaussian_errors` adds the mean and covariance errors, and `ks_test` the
Kolmogorov-Smirnov test of 1-D samples against a normal distribution. These
use NumPy only.

Image input (see `prepare_digits`): `(n, 28, 28)`, `(n, 28, 28, 1)` or the
same at 32x32 (resized to 28x28, bilinear with antialiasing); uint8/integer
pixels in 0..255, or floats in [-1, 1] or [0, 1]. A float array whose
minimum is below 0 is taken as [-1, 1]; one whose values all lie in [0, 1]
is taken as [0, 1]. The decision is made once for the whole array, never per
image (an all-black [-1, 1] batch would have minimum -1, so it cannot be
mistaken for [0, 1]; a [-1, 1] batch with no pixel below 0 does not occur
for tanh generators of digits).
"""

import math
from pathlib import Path

import numpy as np

from keras_gan import data as data_lib

CLASSIFIER_FILE = Path(__file__).resolve().parent / "weights" / "mnist_classifier.keras"
NUM_CLASSES = 10
FEATURES_LAYER = "features"
BATCH_SIZE = 500  # images per classifier call: bounded memory, few calls

_cache = {}  # "classifier" -> (model, fn); ("reference", name) -> (mean, cov)


# ------------------------------------------------------------------ images


def prepare_digits(images, name="images"):
    """Validates MNIST-like images and scales them as the classifier expects.

    Args:
        images: Array-like `(n, H, W)` or `(n, H, W, 1)` with `H = W = 28`
            or `32` (32x32 images are resized to 28x28, bilinear with
            antialiasing). Integer pixels must lie in 0..255; float pixels
            in [-1, 1] (taken as such when the minimum is below 0) or in
            [0, 1] (when no value is below 0).
        name: Name used in error messages.

    Returns:
        A float32 NumPy array `(n, 28, 28, 1)` in [-1, 1].

    Raises:
        ValueError: for an empty array, a non-numeric dtype, a shape other
            than the above (more than one channel, say), NaN or infinite
            values, integers outside 0..255 or floats outside [-1, 1].

    Example:

    >>> import numpy as np
    >>> prepare_digits(np.zeros((2, 32, 32), "uint8")).shape
    (2, 28, 28, 1)
    """
    try:
        x = np.asarray(images)
    except Exception as e:
        raise ValueError(f"{name} must be an array of images: {e}") from None
    if x.dtype == bool or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise ValueError(
            f"{name} must hold integer (0..255) or float ([-1, 1] or [0, 1]) pixels. "
            f"Received: dtype {x.dtype}"
        )
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:3] not in ((28, 28), (32, 32)) or x.shape[3] != 1:
        raise ValueError(
            f"{name} must be grayscale digits of shape (n, 28, 28), (n, 28, 28, 1), "
            f"(n, 32, 32) or (n, 32, 32, 1). Received: shape {np.shape(images)}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty. Received: shape {np.shape(images)}")
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"Integer {name} must be pixels in 0..255. Received: values in [{lo}, {hi}]"
            )
        x = x.astype(np.float32) / 127.5 - 1.0
    else:
        x = x.astype(np.float32)
        finite = np.isfinite(x)
        if not finite.all():
            raise ValueError(f"{name} holds {int(x.size - finite.sum())} NaN or infinite values.")
        lo, hi = float(x.min()), float(x.max())
        tol = 1e-4
        if lo < -1.0 - tol or hi > 1.0 + tol:
            raise ValueError(
                f"Float {name} must lie in [-1, 1] or [0, 1] (0..255 pixels should be "
                f"uint8). Received: values in [{lo:.4g}, {hi:.4g}]"
            )
        if lo >= 0.0:  # no negative value: [0, 1] (see the module docstring)
            x = x * 2.0 - 1.0
        x = np.clip(x, -1.0, 1.0)
    if x.shape[1] == 32:
        import tensorflow as tf

        x = tf.image.resize(x, (28, 28), method="bilinear", antialias=True).numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


# -------------------------------------------------------------- classifier


def load_classifier(path=None):
    """Loads the MNIST classifier (safe mode), cached after the first call.

    Args:
        path: Optional `.keras` file with the same layout (input
            `(28, 28, 1)` in [-1, 1], a layer named `"features"`, softmax
            output over 10 classes). Defaults to the shipped file.

    Returns:
        The `keras.Model`.

    Raises:
        ValueError: if the file is missing or lacks the expected layout.
    """
    return _classifier(path)[0]


def _classifier(path=None):
    key = ("classifier", str(path or CLASSIFIER_FILE))
    if key not in _cache:
        import keras
        import tensorflow as tf

        p = Path(path or CLASSIFIER_FILE)
        if not p.is_file():
            raise ValueError(
                f"MNIST classifier file not found: {str(p)!r}. Reinstall keras_gan or "
                "run `python scripts/train_mnist_classifier.py`."
            )
        model = keras.saving.load_model(p, compile=False, safe_mode=True)
        try:
            features = model.get_layer(FEATURES_LAYER).output
        except ValueError:
            raise ValueError(
                f"{str(p)!r} has no layer named {FEATURES_LAYER!r}: not a keras_gan "
                "MNIST classifier."
            ) from None
        both = keras.Model(model.inputs, [features, model.outputs[0]])

        @tf.function(reduce_retracing=True)
        def run(x):
            return both(x, training=False)

        _cache[key] = (model, run)
    return _cache[key]


def classify(images, name="images"):
    """Runs the classifier: penultimate features and class probabilities.

    The classifier is called in batches of `BATCH_SIZE` in inference mode
    (one compiled function, no `predict()`).

    Args:
        images: Images accepted by `prepare_digits`.
        name: Name used in error messages.

    Returns:
        `(features, probabilities)`: float64 arrays `(n, 128)` and `(n, 10)`.
    """
    x = prepare_digits(images, name)
    run = _classifier()[1]
    feats, probs = [], []
    for start in range(0, len(x), BATCH_SIZE):
        f, p = run(x[start : start + BATCH_SIZE])
        feats.append(np.asarray(f, dtype=np.float64))
        probs.append(np.asarray(p, dtype=np.float64))
    return np.concatenate(feats), np.concatenate(probs)


def _score_from_probabilities(probs):
    p = np.clip(probs, 1e-12, 1.0)
    p_y = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(p) - np.log(p_y)), axis=1)
    return float(np.exp(kl.mean()))


def classifier_score(images):
    """The Inception-score analogue on MNIST: `exp(E_x KL(p(y|x) || p(y)))`.

    High when each image is classified confidently and the classes are
    spread evenly: 1 at worst, 10 at best. The real MNIST test set scores
    about 9.9 (see the README).

    Args:
        images: Images accepted by `prepare_digits`.

    Returns:
        A float in [1, 10].

    Example:

    >>> from keras_gan.data import load_mnist
    >>> _, (x_test, _) = load_mnist()
    >>> classifier_score(x_test[:2000]) > 9.5
    True
    """
    return _score_from_probabilities(classify(images)[1])


def _coverage_from_probabilities(probs, min_share):
    counts = np.bincount(probs.argmax(axis=1), minlength=NUM_CLASSES)
    shares = counts / counts.sum()
    nonzero = shares[shares > 0]
    return {
        "shares": [float(s) for s in shares],
        "modes": int(np.sum(shares >= min_share)),
        "entropy": float(-np.sum(nonzero * np.log(nonzero))),
    }


def _check_min_share(min_share):
    if isinstance(min_share, bool) or not (
        isinstance(min_share, (int, float, np.floating)) and 0.0 < min_share <= 1.0
    ):
        raise ValueError(f"min_share must be a number in (0, 1]. Received: min_share={min_share!r}")
    return float(min_share)


def mode_coverage(images, min_share=0.01):
    """How the samples spread over the ten digits, by the classifier's argmax.

    A digit counts as covered ("a mode") when at least `min_share` of the
    images are classified as it: 1 % by default, a tenth of the share of a
    uniform spread, so the ~1 % of images any classifier gets wrong do not
    make a one-digit generator look like ten.

    Args:
        images: Images accepted by `prepare_digits`.
        min_share: Float in (0, 1], the share a digit needs to count as
            covered. Defaults to `0.01`.

    Returns:
        A dict: `"shares"` (10 floats summing to 1, digit 0 first),
        `"modes"` (int, 0..10) and `"entropy"` (float, in nats, of the
        shares: 0 for one digit, ln 10 = 2.303 for a uniform spread).

    Raises:
        ValueError: for bad images or a `min_share` outside (0, 1].
    """
    min_share = _check_min_share(min_share)
    return _coverage_from_probabilities(classify(images)[1], min_share)


# ----------------------------------------------------------------- Fréchet


def _sqrtm_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix (by `eigh`)."""
    w, v = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance_from_statistics(mean1, cov1, mean2, cov2):
    """The squared Fréchet (2-Wasserstein) distance between two Gaussians.

    `|m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr((C1^(1/2) C2 C1^(1/2))^(1/2))`.
    The trace term is computed from symmetric positive semi-definite
    matrices with `eigh` (negative round-off eigenvalues clipped to 0), so it
    stays real and finite for singular or near-singular covariances, where
    `scipy.linalg.sqrtm(C1 @ C2)` returns complex values or NaN.

    Args:
        mean1: Array `(d,)`.
        cov1: Array `(d, d)`, symmetric positive semi-definite.
        mean2: Array `(d,)`.
        cov2: Array `(d, d)`, symmetric positive semi-definite.

    Returns:
        A non-negative float.

    Raises:
        ValueError: if the shapes do not match or a value is not finite.

    Example:

    >>> import numpy as np
    >>> frechet_distance_from_statistics(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))
    2.0
    """
    m1, m2 = (
        np.atleast_1d(np.asarray(mean1, np.float64)),
        np.atleast_1d(np.asarray(mean2, np.float64)),
    )
    c1, c2 = (
        np.atleast_2d(np.asarray(cov1, np.float64)),
        np.atleast_2d(np.asarray(cov2, np.float64)),
    )
    d = m1.shape[0]
    if m1.shape != (d,) or m2.shape != (d,) or c1.shape != (d, d) or c2.shape != (d, d):
        raise ValueError(
            "Means must be (d,) and covariances (d, d) of one d. Received: shapes "
            f"{m1.shape}, {c1.shape}, {m2.shape}, {c2.shape}"
        )
    if not all(np.isfinite(a).all() for a in (m1, m2, c1, c2)):
        raise ValueError("Means and covariances must be finite.")
    r1 = _sqrtm_psd(c1)
    w = np.linalg.eigvalsh(0.5 * ((r1 @ c2 @ r1) + (r1 @ c2 @ r1).T))
    trace_sqrt = float(np.sum(np.sqrt(np.clip(w, 0.0, None))))
    diff = m1 - m2
    value = float(diff @ diff + np.trace(c1) + np.trace(c2) - 2.0 * trace_sqrt)
    return max(value, 0.0)


def _statistics(features):
    features = np.asarray(features, dtype=np.float64)
    if len(features) < 2:
        raise ValueError(
            f"A covariance needs at least 2 samples. Received: {len(features)} sample(s)"
        )
    return features.mean(axis=0), np.cov(features, rowvar=False)


def reference_statistics(reference="test"):
    """Mean and covariance of the classifier features of MNIST (cached).

    Args:
        reference: `"test"` (10,000 images) or `"train"` (60,000 images)
            of `keras_gan.data.load_mnist()`.

    Returns:
        `(mean, cov)`: float64 arrays `(128,)` and `(128, 128)`.
    """
    if reference not in ("test", "train"):
        raise ValueError(f'reference must be "test" or "train". Received: reference={reference!r}')
    key = ("reference", reference)
    if key not in _cache:
        (x_train, _), (x_test, _) = data_lib.load_mnist()
        _cache[key] = _statistics(classify(x_test if reference == "test" else x_train)[0])
    return _cache[key]


def _reference(reference):
    if reference is None:
        return reference_statistics("test")
    if isinstance(reference, str):
        return reference_statistics(reference)
    return _statistics(classify(reference, name="reference")[0])


def frechet_distance(images, reference=None):
    """Fréchet distance between images and a reference in classifier features.

    Gaussians are fitted to the shipped classifier's 128 penultimate
    features (ReLU of the layer `"features"`) of both sets, and their
    squared 2-Wasserstein distance is returned (see
    `frechet_distance_from_statistics`), as FID does with Inception
    features. Lower is better; 0 for identical statistics. Like FID it is
    biased upwards for small samples: compare figures from equal `n`.

    Args:
        images: Images accepted by `prepare_digits`; at least 2.
        reference: `None` or `"test"` (the MNIST test set, statistics
            cached), `"train"` (the MNIST training set, cached) or an array
            of images. Defaults to `None`.

    Returns:
        A non-negative float.

    Example:

    >>> from keras_gan.data import load_mnist
    >>> (x_train, _), (x_test, _) = load_mnist()
    >>> frechet_distance(x_test[:2000], x_train[:2000]) < 10.0  # noise: ~340
    True
    """
    mean, cov = _statistics(classify(images)[0])
    return frechet_distance_from_statistics(mean, cov, *_reference(reference))


def image_quality(images, reference=None, min_share=0.01):
    """Classifier score, Fréchet distance and modes from one classifier pass.

    Args:
        images: Images accepted by `prepare_digits`; at least 2.
        reference: As in `frechet_distance`.
        min_share: As in `mode_coverage`.

    Returns:
        A dict with `"n"`, `"classifier_score"`, `"frechet_distance"`,
        `"modes"`, `"mode_entropy"` and `"shares"`.
    """
    min_share = _check_min_share(min_share)
    features, probs = classify(images)
    coverage = _coverage_from_probabilities(probs, min_share)
    return {
        "n": int(len(probs)),
        "classifier_score": _score_from_probabilities(probs),
        "frechet_distance": frechet_distance_from_statistics(
            *_statistics(features), *_reference(reference)
        ),
        "modes": coverage["modes"],
        "mode_entropy": coverage["entropy"],
        "shares": coverage["shares"],
    }


# --------------------------------------------------------------- Gaussians


def _gaussian(x, name):
    """(mean, cov) from samples `(n, d)` / `(n,)` or a `(mean, cov)` pair."""
    if isinstance(x, tuple) and len(x) == 2:
        mean = np.atleast_1d(np.asarray(x[0], dtype=np.float64))
        cov = np.atleast_2d(np.asarray(x[1], dtype=np.float64))
        if mean.ndim != 1 or cov.shape != (len(mean), len(mean)):
            raise ValueError(
                f"A (mean, cov) {name} needs mean (d,) and cov (d, d). Received: shapes "
                f"{mean.shape} and {cov.shape}"
            )
        return mean, cov
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or len(a) < 2:
        raise ValueError(
            f"{name} must be samples (n, d) or (n,) with n >= 2, or a (mean, cov) "
            f"tuple. Received: shape {np.shape(x)}"
        )
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values.")
    mean = a.mean(axis=0)
    cov = np.atleast_2d(np.cov(a, rowvar=False))
    return mean, cov


def gaussian_w2(samples, target):
    """Closed-form 2-Wasserstein distance between two Gaussians.

    `W2^2 = |m1 - m2|^2 + tr(C1 + C2 - 2 (C1^(1/2) C2 C1^(1/2))^(1/2))`,
    the quantity the Fréchet distance reports squared. For samples, the
    Gaussian fitted to them (sample mean, unbiased covariance) is used.

    Args:
        samples: Samples `(n, d)` (or `(n,)` for 1-D) or a `(mean, cov)`
            tuple. For 1-D, `cov` may be a variance.
        target: The same forms: the target Gaussian, e.g.
            `(np.zeros(2), np.eye(2))`.

    Returns:
        A non-negative float, the distance (not squared), in data units.

    Example:

    >>> import numpy as np
    >>> gaussian_w2((np.zeros(2), np.eye(2)), (np.array([3.0, 4.0]), np.eye(2)))
    5.0
    """
    m1, c1 = _gaussian(samples, "samples")
    m2, c2 = _gaussian(target, "target")
    return math.sqrt(frechet_distance_from_statistics(m1, c1, m2, c2))


def gaussian_errors(samples, mean, cov):
    """How far samples are from a target Gaussian `N(mean, cov)`.

    Args:
        samples: Samples `(n, d)` or `(n,)`, n >= 2.
        mean: Target mean, `(d,)` or a scalar for 1-D.
        cov: Target covariance `(d, d)`, or a variance for 1-D.

    Returns:
        A dict: `"w2"` (`gaussian_w2` to the target), `"mean_error"` (the
        Euclidean norm of sample mean minus `mean`), `"cov_error"` (the
        Frobenius norm of sample covariance minus `cov`), and the sample
        `"mean"` and `"cov"` as lists.
    """
    m1, c1 = _gaussian(samples, "samples")
    m2, c2 = _gaussian((mean, cov), "target")
    if m2.shape != m1.shape or c2.shape != c1.shape:
        raise ValueError(
            f"The target must have the samples' dimension {m1.shape[0]}. Received: "
            f"mean shape {m2.shape}, cov shape {c2.shape}"
        )
    return {
        "w2": math.sqrt(frechet_distance_from_statistics(m1, c1, m2, c2)),
        "mean_error": float(np.linalg.norm(m1 - m2)),
        "cov_error": float(np.linalg.norm(c1 - c2)),
        "mean": m1.tolist(),
        "cov": c1.tolist(),
    }


def _normal_cdf(x, mean, std):
    erf = np.frompyfunc(math.erf, 1, 1)
    return 0.5 * (1.0 + erf((x - mean) / (std * math.sqrt(2.0))).astype(np.float64))


def kolmogorov_sf(x):
    """P(K > x) for the Kolmogorov distribution (the limit of sqrt(n) D_n).

    Uses `2 sum_k (-1)^(k-1) exp(-2 k^2 x^2)` for x >= 1 and the Jacobi
    theta form `1 - sqrt(2 pi)/x sum_k exp(-(2k-1)^2 pi^2 / (8 x^2))` below,
    where each series converges in a few terms.
    """
    x = float(x)
    if x <= 0.0:
        return 1.0
    k = np.arange(1, 101, dtype=np.float64)
    if x < 1.0:
        cdf = (
            math.sqrt(2.0 * math.pi)
            / x
            * np.sum(np.exp(-((2 * k - 1) ** 2) * math.pi**2 / (8 * x * x)))
        )
        return float(min(max(1.0 - cdf, 0.0), 1.0))
    terms = 2.0 * (-1.0) ** (k - 1) * np.exp(-2.0 * k * k * x * x)
    return float(min(max(np.sum(terms), 0.0), 1.0))


def ks_test(samples, mean=0.0, std=1.0):
    """Kolmogorov-Smirnov test of 1-D samples against `N(mean, std^2)`.

    The statistic is `D = sup_x |F_n(x) - F(x)|`; the p-value is the
    asymptotic one, `P(K > sqrt(n) D)` with K Kolmogorov-distributed (as
    `scipy.stats.kstest(..., method="asymp")`), accurate for n of about 100
    and more.

    Args:
        samples: 1-D array-like (or `(n, 1)`), n >= 1, finite.
        mean: Mean of the normal distribution. Defaults to `0.0`.
        std: Positive standard deviation. Defaults to `1.0`.

    Returns:
        A dict with `"statistic"` (D, in [0, 1]) and `"pvalue"`.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(4.0, 1.25, 1000)
    >>> ks_test(x, 4.0, 1.25)["pvalue"] > 0.01
    True
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(
            f"samples must be a non-empty finite 1-D array. Received: shape {np.shape(samples)}"
        )
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std must be a positive number. Received: std={std!r}")
    n = len(x)
    cdf = _normal_cdf(np.sort(x), float(mean), float(std))
    i = np.arange(1, n + 1)
    d = float(max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n)))
    return {"statistic": d, "pvalue": kolmogorov_sf(math.sqrt(n) * d)}
