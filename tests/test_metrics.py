import json
import math

import keras
import numpy as np
import pytest

from keras_gan import DCGAN, metrics, viz
from keras_gan.callbacks import QualityLogger
from keras_gan.cli import main
from keras_gan.data import load_mnist

from .conftest import png_pixels

N = 2000  # images per test set: ~1 s of classifier time

# Fréchet distances measured with the shipped classifier, whose features have
# a total variance (trace of the covariance) of 310 on the test set: test[:2000]
# vs train[:2000] 6.7 (small samples bias it upwards; the first test images
# are also the harder half), train[:2000] vs the whole test set 2.0; uniform
# noise 340, shuffled pixels 341, only sevens 415.
FD_REAL_BOUND = 10.0
FD_FAR = 200.0


@pytest.fixture(scope="module")
def mnist(mnist_path):
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_path)
    return x_train[:N], y_train[:N], x_test[:N], y_test[:N]


# ---------------------------------------------------------------- images


def test_real_test_set_scores_near_ten_with_ten_modes(mnist):
    _, _, x_test, y_test = mnist
    q = metrics.image_quality(x_test)
    assert q["classifier_score"] >= 9.5
    assert q["modes"] == 10
    assert q["mode_entropy"] > 0.99 * math.log(10)
    assert np.isclose(sum(q["shares"]), 1.0)
    features, probs = metrics.classify(x_test)
    assert features.shape == (N, 128) and probs.shape == (N, 10)
    # 99.3 % on the whole test set; its first 2,000 images are harder (98.8 %)
    assert np.mean(probs.argmax(1) == y_test) >= 0.985


def test_frechet_distance_test_vs_train_is_near_zero_and_noise_is_far(mnist):
    x_train, _, x_test, _ = mnist
    real = metrics.frechet_distance(x_test, x_train)
    assert 0.0 <= real < FD_REAL_BOUND
    noise = np.random.default_rng(0).uniform(-1, 1, (N, 28, 28)).astype("float32")
    assert metrics.frechet_distance(noise, x_train) > FD_FAR
    # the default reference is the full MNIST test set
    assert metrics.frechet_distance(x_train) < FD_REAL_BOUND


def test_uniform_noise_scores_badly(mnist):
    noise = np.random.default_rng(1).integers(0, 256, (N, 28, 28), dtype=np.uint8)
    q = metrics.image_quality(noise)
    assert q["classifier_score"] < 2.0
    assert q["frechet_distance"] > FD_FAR


def test_a_single_digit_generator_shows_one_mode(mnist):
    _, _, x_test, y_test = mnist
    sevens = x_test[y_test == 7]
    coverage = metrics.mode_coverage(sevens)
    assert coverage["modes"] == 1
    assert coverage["shares"][7] > 0.97
    assert coverage["entropy"] < 0.2
    assert metrics.classifier_score(sevens) < 1.3  # confident but never diverse
    assert metrics.frechet_distance(sevens) > FD_FAR
    # a stricter threshold cannot find more modes, a looser one can only add
    assert metrics.mode_coverage(sevens, min_share=0.0001)["modes"] >= 1
    with pytest.raises(ValueError, match="min_share must be a number in"):
        metrics.mode_coverage(sevens, min_share=0)


def test_shuffling_pixel_order_is_punished(mnist):
    x_train, _, x_test, _ = mnist
    perm = np.random.default_rng(2).permutation(28 * 28)
    shuffled = x_test.reshape(N, -1)[:, perm].reshape(N, 28, 28)
    real, bad = metrics.image_quality(x_test), metrics.image_quality(shuffled)
    assert bad["classifier_score"] < real["classifier_score"] - 4
    assert bad["frechet_distance"] > 50 * real["frechet_distance"]


def test_ranges_sizes_and_channel_axis_give_the_same_figures(mnist):
    _, _, x_test, _ = mnist
    x = x_test[:500]
    minus_one = x.astype("float32") / 127.5 - 1
    forms = [x, x[..., None], x.astype("float32") / 255, minus_one, minus_one[..., None]]
    scores = [metrics.classifier_score(f) for f in forms]
    assert np.allclose(scores, scores[0], rtol=1e-5)
    np.testing.assert_allclose(metrics.prepare_digits(x[:3]), minus_one[:3, ..., None], atol=1e-6)
    # 32x32 (e.g. padded) is resized to 28x28, bilinear: still clearly digits
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2)))
    assert metrics.prepare_digits(padded).shape == (500, 28, 28, 1)
    assert metrics.classifier_score(padded) > 8.0


def test_range_rule_min_below_zero_means_minus_one_to_one():
    half = np.full((1, 28, 28), 0.5, dtype="float32")
    assert metrics.prepare_digits(half).max() == pytest.approx(0.0)  # [0, 1]: 0.5 -> 0
    half[0, 0, 0] = -1.0
    assert metrics.prepare_digits(half).max() == pytest.approx(0.5)  # [-1, 1]: kept


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 28, 28, 3), "uint8"), "must be grayscale digits of shape"),
        (np.zeros((2, 27, 27), "uint8"), r"Received: shape \(2, 27, 27\)"),
        (np.zeros((28, 28), "uint8"), "must be grayscale digits"),
        (np.zeros((0, 28, 28), "uint8"), "is empty"),
        (np.full((2, 28, 28), 255.0), r"Received: values in \[255, 255\]"),
        (np.full((2, 28, 28), -2.0), "must lie in"),
        (np.full((2, 28, 28), np.nan), "NaN or infinite"),
        (np.full((2, 28, 28), 300, "int32"), "0..255"),
        (np.full((2, 28, 28), "a"), "dtype <U1"),
        (np.zeros((2, 28, 28), bool), "dtype bool"),
    ],
)
def test_bad_images_are_refused_clearly(images, message):
    with pytest.raises(ValueError, match=message):
        metrics.classifier_score(images)


def test_frechet_distance_needs_two_images(mnist):
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.frechet_distance(mnist[2][:1])


# ---------------------------------------------------------- Fréchet numerics


def _random_rotation(d, rng):
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def test_frechet_matches_the_closed_form_for_commuting_covariances():
    rng = np.random.default_rng(0)
    d = 6
    q = _random_rotation(d, rng)
    a, b = rng.uniform(0, 3, d), rng.uniform(0, 3, d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    got = metrics.frechet_distance_from_statistics(
        m1, q @ np.diag(a) @ q.T, m2, q @ np.diag(b) @ q.T
    )
    expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert got == pytest.approx(expected, rel=1e-9)


def test_frechet_stays_real_and_stable_for_near_singular_covariances():
    rng = np.random.default_rng(1)
    d, rank = 64, 3
    q = _random_rotation(d, rng)
    low = np.zeros(d)
    low[:rank] = [4.0, 1.0, 0.25]
    tiny = low + 1e-12  # near-singular: 61 eigenvalues of 1e-12
    c_low = q @ np.diag(low) @ q.T
    c_tiny = q @ np.diag(tiny) @ q.T
    m = np.zeros(d)
    # identical singular Gaussians are at distance 0, not NaN or a complex number
    assert metrics.frechet_distance_from_statistics(m, c_low, m, c_low) == pytest.approx(
        0, abs=1e-9
    )
    same = metrics.frechet_distance_from_statistics(m, c_low, m, c_tiny)
    assert isinstance(same, float) and 0.0 <= same < 1e-9
    # singular against a rotated singular one: the closed form on the union of supports
    p = _random_rotation(d, rng)
    other = p @ np.diag(low) @ p.T
    value = metrics.frechet_distance_from_statistics(m, c_low, m, other)
    assert np.isfinite(value) and 0.0 <= value <= 2 * np.sum(low) + 1e-9
    # feature statistics of one repeated image: zero covariance
    zero = np.zeros((d, d))
    assert metrics.frechet_distance_from_statistics(m, zero, m + 1, zero) == pytest.approx(d)


def test_frechet_agrees_with_scipy_sqrtm_where_that_is_well_conditioned():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 200, 5))
    c1, c2 = np.cov(a, rowvar=False), np.cov(b @ rng.normal(size=(5, 5)), rowvar=False)
    m1, m2 = a.mean(0), b.mean(0)
    covmean = linalg.sqrtm(c1 @ c2).real
    expected = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * covmean)
    assert metrics.frechet_distance_from_statistics(m1, c1, m2, c2) == pytest.approx(expected)


def test_frechet_statistics_are_validated():
    with pytest.raises(ValueError, match="Means must be"):
        metrics.frechet_distance_from_statistics(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="finite"):
        metrics.frechet_distance_from_statistics(
            np.array([np.nan]), np.eye(1), np.zeros(1), np.eye(1)
        )


# ------------------------------------------------------------------ Gaussians


def test_gaussian_w2_closed_form_is_exact():
    assert metrics.gaussian_w2((np.zeros(2), np.eye(2)), (np.array([3.0, 4.0]), np.eye(2))) == (
        pytest.approx(5.0)
    )
    # 1-D: sqrt((m1 - m2)^2 + (s1 - s2)^2)
    assert metrics.gaussian_w2((1.0, 4.0), (-1.0, 1.0)) == pytest.approx(math.sqrt(4 + 1))
    # diagonal: the standard deviations add per axis
    w2 = metrics.gaussian_w2((np.zeros(2), np.diag([9.0, 1.0])), (np.zeros(2), np.diag([1.0, 4.0])))
    assert w2 == pytest.approx(math.sqrt(4 + 1))


def test_gaussian_distances_are_small_on_target_samples_and_grow_with_a_shift():
    rng = np.random.default_rng(3)
    mean, cov = np.array([1.0, -2.0]), np.array([[2.0, 0.6], [0.6, 0.5]])
    n = 20000
    x = rng.multivariate_normal(mean, cov, n)
    errors = metrics.gaussian_errors(x, mean, cov)
    # sampling error: sd of the mean error ~ sqrt(tr(C) / n) = 0.011, of the
    # covariance entries ~ sqrt(2 / n) * |C| ~ 0.02; 0.05 is > 3 sd for all three
    assert errors["mean_error"] < 0.05 and errors["cov_error"] < 0.05 and errors["w2"] < 0.05
    shifts = [0.25, 0.5, 1.0, 2.0]
    w2 = [metrics.gaussian_w2(x + [s, 0.0], (mean, cov)) for s in shifts]
    assert np.all(np.diff(w2) > 0)
    assert np.allclose(w2, shifts, atol=0.05)
    one_d = rng.normal(0.5, 1.5, n)
    assert metrics.gaussian_w2(one_d, (0.5, 1.5**2)) < 0.03
    assert metrics.gaussian_w2(one_d + 1.0, (0.5, 1.5**2)) == pytest.approx(1.0, abs=0.03)


def test_gaussian_inputs_are_validated():
    with pytest.raises(ValueError, match="n >= 2"):
        metrics.gaussian_w2(np.zeros(1), (0.0, 1.0))
    with pytest.raises(ValueError, match=r"needs mean \(d,\) and cov \(d, d\)"):
        metrics.gaussian_w2(np.zeros((5, 2)), (np.zeros(2), np.eye(3)))
    with pytest.raises(ValueError, match="dimension 2"):
        metrics.gaussian_errors(np.zeros((5, 2)), np.zeros(3), np.eye(3))


def test_ks_test_matches_scipy_asymptotic():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(4)
    for n, shift in [(50, 0.0), (500, 0.0), (2000, 0.1), (5000, 0.0), (300, 0.5)]:
        x = rng.normal(2.0 + shift, 0.5, n)
        ours = metrics.ks_test(x, 2.0, 0.5)
        ref = stats.kstest(x, "norm", args=(2.0, 0.5), method="asymp")
        assert ours["statistic"] == pytest.approx(ref.statistic, abs=1e-12)
        assert ours["pvalue"] == pytest.approx(ref.pvalue, abs=1e-7)
    for t in [0.05, 0.3, 0.7, 0.99, 1.0, 1.01, 1.5, 3.0]:
        assert metrics.kolmogorov_sf(t) == pytest.approx(stats.kstwobign.sf(t), abs=1e-10)


def test_ks_test_accepts_the_target_and_rejects_a_shift():
    rng = np.random.default_rng(5)
    # under the null hypothesis p-values are uniform: about 5 % fall below 0.05
    p = [metrics.ks_test(rng.normal(4.0, 1.25, 300), 4.0, 1.25)["pvalue"] for _ in range(300)]
    assert 0.02 < np.mean(np.array(p) < 0.05) < 0.09
    x = rng.normal(4.0, 1.25, 5000)
    shifted = metrics.ks_test(x + 0.2, 4.0, 1.25)
    assert shifted["pvalue"] < 1e-6 and shifted["statistic"] > 0.05
    assert metrics.ks_test(x, 4.0, 2.5)["pvalue"] < 1e-6  # wrong spread
    with pytest.raises(ValueError, match="std must be a positive number"):
        metrics.ks_test(x, 0.0, 0.0)
    with pytest.raises(ValueError, match="non-empty finite 1-D"):
        metrics.ks_test(np.zeros((3, 2)))


# ------------------------------------------------------------------ callback


def test_quality_logger_adds_keys_at_its_iterations_in_train(mnist):
    x_train = mnist[0][:64]
    gan = DCGAN(latent_dim=8, seed=0)
    quality = QualityLogger(gan.generate, interval=2, n=50)
    history = gan.train(
        3, batch_size=8, save_interval=0, x_train=x_train, verbose=0, callbacks=[quality]
    )
    score = history.history["classifier_score"]
    assert len(score) == 3 and not math.isnan(score[0]) and math.isnan(score[1])
    assert not math.isnan(score[2]) and 1.0 <= score[2] <= 10.0
    assert [r["iteration"] for r in quality.records] == [0, 2]
    assert history.history["modes"][0] == quality.records[0]["modes"]
    # a second train() call continues the numbering: iteration 4 is measured
    history = gan.train(
        2, batch_size=8, save_interval=0, x_train=x_train, verbose=0, callbacks=[quality]
    )
    assert [r["iteration"] for r in quality.records] == [0, 2, 4]
    assert math.isnan(history.history["frechet_distance"][0])  # iteration 3
    assert quality.series("classifier_score")[0] == [0, 2, 4]
    # DCGAN.fit(): iterations count on across epochs (64 images, batch 16: 4 per epoch)
    in_fit = QualityLogger(gan.generate, interval=3, n=50)
    per_epoch = QualityLogger(gan.generate, interval=1, n=50, unit="epoch")
    history = gan.fit(
        x_train,
        epochs=2,
        batch_size=16,
        verbose=0,
        jit_compile=False,
        callbacks=[in_fit, per_epoch],
    )
    assert [r["iteration"] for r in in_fit.records] == [0, 3, 6]
    assert len(history.history["classifier_score"]) == 2
    assert history.history["modes"] == [r["modes"] for r in per_epoch.records]


def test_plot_quality_beside_the_losses(tmp_path):
    nan = math.nan
    history = {
        "d_loss": [0.7, 0.6, 0.65, 0.5, 0.55],
        "g_loss": [0.8, 0.9, 1.0, 1.1, 1.0],
        "classifier_score": [1.5, nan, 4.0, nan, 6.0],
        "frechet_distance": [300.0, nan, 120.0, nan, 60.0],
        "modes": [2, nan, 8, nan, 10],
    }
    path = viz.plot_quality(history, tmp_path / "quality.png")
    assert png_pixels(path).std() > 5
    with pytest.raises(ValueError, match="holds no values of"):
        viz.plot_quality({"d_loss": [1.0, 2.0]}, tmp_path / "none.png")


def test_quality_logger_under_fit(mnist):
    x_test = mnist[2]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((12, 2), "float32"), np.zeros((12, 1), "float32")
    per_batch = QualityLogger(lambda n: x_test[:n], interval=2, n=100)
    per_epoch = QualityLogger(lambda n: x_test[:n], interval=1, n=100, unit="epoch")
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[per_batch, per_epoch])
    assert [r["iteration"] for r in per_batch.records] == [0, 2, 4]  # 3 batches per epoch
    assert [r["epoch"] for r in per_epoch.records] == [0, 1]
    assert len(history.history["classifier_score"]) == 2
    assert min(history.history["classifier_score"]) > 9.0
    # steps_per_execution=2: Keras reports batches 1 and 2 of each epoch of 3
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
    every_two = QualityLogger(lambda n: x_test[:n], interval=2, n=100)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[every_two])
    assert [r["iteration"] for r in every_two.records] == [1, 2, 4]
    with pytest.raises(ValueError, match='unit must be "iteration" or "epoch"'):
        QualityLogger(lambda n: x_test[:n], unit="step")
    with pytest.raises(ValueError, match="interval must be a positive integer"):
        QualityLogger(lambda n: x_test[:n], interval=0)


# ----------------------------------------------------------------------- CLI


def test_cli_evaluate_real_images_and_a_saved_generator(mnist, tmp_path, capsys):
    x_train, _, x_test, _ = mnist
    npy = tmp_path / "real.npy"
    np.save(npy, x_test)
    assert main(["evaluate", str(npy), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == N and result["classifier_score"] >= 9.5 and result["modes"] == 10
    assert result["frechet_distance"] < FD_REAL_BOUND
    assert main(["evaluate", str(npy), "-n", "300"]) == 0
    text = capsys.readouterr().out
    assert "classifier score" in text and "Fréchet distance" in text and "300 images" in text

    gan = DCGAN(latent_dim=8, seed=0)  # untrained: the CLI path is what is tested
    run = tmp_path / "run"
    run.mkdir()
    gan.generator.save(run / "generator.keras")
    assert main(["evaluate", str(run), "-n", "200", "--seed", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 200 and result["source"].endswith("generator.keras")
    assert 1.0 <= result["classifier_score"] <= 10.0
    assert result["frechet_distance"] > FD_FAR  # untrained: not digits


def test_cli_evaluate_errors_are_one_line(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "none.npy")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "holds no generator.keras" in capsys.readouterr().err
    txt = tmp_path / "x.txt"
    txt.write_text("hi")
    assert main(["evaluate", str(txt)]) == 2
    assert "expected a generator .keras file" in capsys.readouterr().err
    rgb = tmp_path / "rgb.npy"
    np.save(rgb, np.zeros((4, 28, 28, 3), "uint8"))
    assert main(["evaluate", str(rgb)]) == 2
    err = capsys.readouterr().err
    assert "cannot score" in err and "grayscale digits" in err and err.count("\n") == 1
