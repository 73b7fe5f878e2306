"""Tests for gancore.metrics: Fréchet distance, classifier score, coverage, score tables."""

import numpy as np
import pytest

from gancore import metrics
from gancore.data import load_dataset
from gancore.evaluator import load_evaluator


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist", source="sample", value_range=(-1, 1), verbose=False)


def gaussian_features(n=2000, dim=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim))


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = gaussian_features()
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_grows_with_a_mean_shift():
    x = gaussian_features()
    distances = [metrics.frechet_distance(x, x + shift) for shift in (0.5, 1.0, 2.0)]
    # Shifting every coordinate by s adds exactly dim * s^2.
    np.testing.assert_allclose(distances, [8 * 0.25, 8 * 1.0, 8 * 4.0], rtol=1e-6)


def test_frechet_distance_matches_closed_form_for_scaled_gaussians():
    # N(0, I) vs N(0, 4I) in d dims: tr(I + 4I - 2 * 2I) = d.
    mu, dim = np.zeros(5), 5
    fd = metrics.frechet_distance_from_statistics(mu, np.eye(dim), mu, 4 * np.eye(dim))
    assert fd == pytest.approx(dim)


def test_frechet_distance_handles_singular_covariance():
    repeated = np.ones((100, 4))  # zero covariance
    fd = metrics.frechet_distance(repeated, gaussian_features(dim=4))
    assert np.isfinite(fd) and fd > 0


def test_frechet_distance_rejects_mismatched_or_bad_features():
    with pytest.raises(ValueError, match="same dimension"):
        metrics.frechet_distance(gaussian_features(dim=3), gaussian_features(dim=4))
    with pytest.raises(ValueError, match="2-D array"):
        metrics.frechet_distance(np.zeros(10), np.zeros(10))
    with pytest.raises(ValueError, match="finite"):
        metrics.frechet_distance(np.full((5, 2), np.nan), np.zeros((5, 2)))


def test_classifier_score_is_num_classes_for_confident_even_predictions():
    probs = np.eye(10)[np.arange(1000) % 10]
    assert metrics.classifier_score(probs) == pytest.approx(10.0, rel=1e-6)


def test_classifier_score_is_one_for_a_single_class_or_uniform_predictions():
    assert metrics.classifier_score(np.eye(10)[np.zeros(50, int)]) == pytest.approx(1.0)
    assert metrics.classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)


def test_classifier_score_rejects_non_probabilities():
    with pytest.raises(ValueError, match="sum to 1"):
        metrics.classifier_score(np.ones((4, 10)))


def test_class_coverage_counts_labelled_sets():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    coverage = metrics.class_coverage(labels, num_classes=10)
    assert coverage.covered == 3
    assert coverage.histogram.tolist() == [50, 30, 20] + [0] * 7
    all_ten = metrics.class_coverage(np.arange(100) % 10)
    assert all_ten.covered == 10


def test_class_coverage_ignores_stray_predictions_below_min_share():
    labels = np.array([0] * 999 + [5])  # one stray 5 in 1000 samples
    assert metrics.class_coverage(labels).covered == 1
    assert metrics.class_coverage(labels, min_share=0).covered == 2


def test_class_coverage_reads_probabilities_by_argmax():
    probs = np.eye(10)[[3, 3, 7, 7]] * 0.9 + 0.01
    assert metrics.class_coverage(probs).histogram.tolist() == [0, 0, 0, 2, 0, 0, 0, 2, 0, 0]


def test_class_coverage_rejects_bad_input():
    with pytest.raises(ValueError, match="integer labels in"):
        metrics.class_coverage(np.array([0, 10]))
    with pytest.raises(ValueError, match="integer labels"):
        metrics.class_coverage(np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="shape"):
        metrics.class_coverage(np.full((3, 4), 0.25))


def test_real_test_digits_score_at_least_nine(mnist):
    probs = load_evaluator().probabilities(mnist.x_test)
    assert metrics.classifier_score(probs) >= 9.0
    assert metrics.class_coverage(probs).covered == 10


def test_score_table_puts_baselines_beside_the_samples(mnist):
    table = metrics.score_generator(mnist.x_test[:500], name="real", reference=mnist)
    names = [row.name for row in table.rows]
    assert names == [
        "real",
        "baseline: real train digits",
        "baseline: uniform noise",
        "baseline: one digit repeated",
    ]
    real, train, noise, repeated = table.rows
    assert repeated.classifier_score == pytest.approx(1.0, abs=0.01)
    assert repeated.classes_covered == 1
    assert real.classifier_score >= 9.0 and train.classifier_score >= 9.0
    # Real digits are far closer to real digits than noise or a collapsed set.
    assert max(real.frechet_distance, train.frechet_distance) < 0.2 * min(
        noise.frechet_distance, repeated.frechet_distance
    )
    assert "baseline: uniform noise" in str(table)


def test_baselines_are_cached_per_evaluator_reference_and_n(mnist):
    first = metrics.score_generator(mnist.x_test[:200], reference=mnist)
    second = metrics.score_generator(mnist.x_test[200:400], reference=mnist)
    assert first.rows[1] is second.rows[1]


def test_score_generator_rejects_images_in_the_wrong_range(mnist):
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        metrics.score_generator((mnist.x_test[:10] + 1) * 127.5, reference=mnist)


@pytest.mark.parametrize(
    "score, classes, words",
    [
        (9.2, 10, "mostly clean digits, of all ten classes"),
        (7.1, 10, "mostly readable digits, some malformed, of all ten classes"),
        (9.2, 8, "mostly clean digits, covering only 8 of the ten classes"),
        (4.0, 10, "digits mixed with malformed strokes, of all ten classes"),
        (3.9, 10, "mostly fragments and blobs the evaluator cannot name"),
    ],
)
def test_legibility_words_follow_the_score_and_the_classes(score, classes, words):
    row = metrics.ScoreRow("samples", 100, 5.0, score, classes, np.zeros(10))
    assert metrics.legibility(row) == words


def test_fd_ratio_is_symmetric_and_the_seed_margin_is_exclusive():
    assert metrics.fd_ratio(4.0, 5.0) == metrics.fd_ratio(5.0, 4.0) == 1.25
    assert metrics.within_seed_spread(10.0, 11.9)  # 1.19: inside the margin
    assert not metrics.within_seed_spread(4.0, 5.0)  # exactly the margin: a gap that counts
    assert not metrics.within_seed_spread(15.98, 20.77)  # chapter 9's 1.30


def test_fd_ratio_rejects_a_distance_that_is_not_positive():
    with pytest.raises(ValueError, match="must be positive"):
        metrics.fd_ratio(0.0, 3.0)
    with pytest.raises(ValueError, match="must be positive"):
        metrics.fd_ratio(3.0, float("nan"))


def test_path_length_is_the_trimmed_mean_squared_step_over_epsilon_squared():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1000, 8))
    step = rng.normal(size=(1000, 8)) * 1e-3
    lengths = np.sum(step**2, axis=1) / 1e-3**2
    untrimmed = metrics.path_length(a, a + step, 1e-3, trim=0.0)
    assert untrimmed == pytest.approx(lengths.mean(), rel=1e-9)
    # Trimming drops the extremes: between the median and the untrimmed mean here (right skew).
    trimmed = metrics.path_length(a, a + step, 1e-3)
    assert np.median(lengths) < trimmed < untrimmed
    assert metrics.path_length(a, a, 1e-3) == 0.0


def test_path_length_rejects_bad_input():
    a = np.zeros((10, 4))
    with pytest.raises(ValueError, match="one shape"):
        metrics.path_length(a, a[:5], 1e-3)
    with pytest.raises(ValueError, match="epsilon"):
        metrics.path_length(a, a, 0.0)
