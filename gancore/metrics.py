"""Scores for generated digits, computed with the book's evaluator (`gancore.evaluator`).

- `frechet_distance`: the Fréchet distance between Gaussians fitted to two sets
  of features {cite}`heusel2017gans`; here on the evaluator's penultimate layer
  (the "Fréchet classifier distance"), so its values are NOT comparable with
  Inception FIDs from papers. Lower is better; 0 means identical statistics.
- `classifier_score`: the Inception-Score formula {cite}`salimans2016improved`
  on the evaluator's softmax: exp E_x[KL(p(y|x) || p(y))]. It is high when each
  sample is classified confidently AND the classes are spread evenly; between 1
  and the number of classes (10 for MNIST).
- `class_coverage`: how many classes a generator produces, with the histogram
  (a collapsed generator covers few).
- `score_generator`: all three for a batch of samples, in a `ScoreTable` with
  baselines beside it (real training digits; noise; one digit repeated), so
  the numbers mean something. Baselines are cached per evaluator, reference set
  and sample count, so scoring several models in a notebook computes them once.

Everything here is NumPy (float64); only the evaluator runs Keras.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gancore.evaluator import load_evaluator  # one way: the evaluator never imports metrics
from gancore.images import TANH_RANGE


def _as_matrix(x, name: str, min_rows: int = 1) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < min_rows or x.shape[1] < 1:
        raise ValueError(
            f"Expected {name} as a 2-D array (n, dim) with n >= {min_rows}. "
            f"Received: shape={x.shape}."
        )
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"Expected numeric {name}. Received: dtype={x.dtype}.")
    x = x.astype("float64")
    if not np.isfinite(x).all():
        raise ValueError(f"Expected finite {name}. Received an array with NaN or inf.")
    return x


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """The mean (dim,) and covariance (dim, dim) of features (n, dim), n >= 2."""
    features = _as_matrix(features, "features", min_rows=2)
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(
        features.shape[1], features.shape[1]
    )


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The square root of a symmetric positive semi-definite matrix, by eigendecomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    # Round-off can push zero eigenvalues slightly below 0: clip them.
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance_from_statistics(mu_a, sigma_a, mu_b, sigma_b) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) for two Gaussians.

    tr((S_a S_b)^(1/2)) is computed as the sum of square roots of the
    eigenvalues of S_a^(1/2) S_b S_a^(1/2), which is symmetric positive
    semi-definite and has the same eigenvalues as S_a S_b: two symmetric
    eigendecompositions, no complex numbers, no SciPy.
    """
    mu_a, mu_b = np.asarray(mu_a, "float64"), np.asarray(mu_b, "float64")
    sigma_a, sigma_b = np.asarray(sigma_a, "float64"), np.asarray(sigma_b, "float64")
    if mu_a.shape != mu_b.shape or sigma_a.shape != sigma_b.shape:
        raise ValueError(
            f"Expected statistics of the same dimension. Received: means {mu_a.shape} and "
            f"{mu_b.shape}, covariances {sigma_a.shape} and {sigma_b.shape}."
        )
    root_a = _symmetric_sqrt(sigma_a)
    middle = root_a @ sigma_b @ root_a
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    distance = np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_sqrt
    return float(max(distance, 0.0))  # exact 0 for identical sets, not -1e-13


def frechet_distance(features_a, features_b) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets.

    Args:
        features_a: (n_a, dim) features, e.g. `evaluator.features(samples)`.
        features_b: (n_b, dim) features of the reference set.

    Returns:
        A float >= 0. It grows with n-independent differences of the
        distributions but also carries a small-sample bias: compare numbers
        computed with the same n, and look at the real-data baseline.
    """
    features_a = _as_matrix(features_a, "features_a", min_rows=2)
    features_b = _as_matrix(features_b, "features_b", min_rows=2)
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            f"Expected two feature sets of the same dimension. Received: "
            f"{features_a.shape} and {features_b.shape}."
        )
    return frechet_distance_from_statistics(
        *feature_statistics(features_a), *feature_statistics(features_b)
    )


def _as_probabilities(probs) -> np.ndarray:
    probs = _as_matrix(probs, "class probabilities")
    if probs.min() < 0 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            "Expected class probabilities (n, num_classes): non-negative rows that sum to 1, "
            f"e.g. `evaluator.probabilities(images)`. Received: min={probs.min():g}, "
            f"row sums in [{probs.sum(axis=1).min():g}, {probs.sum(axis=1).max():g}]."
        )
    return probs


def classifier_score(probs, eps: float = 1e-12) -> float:
    """exp E_x[KL(p(y|x) || p(y))]: the Inception-Score formula on a classifier's softmax.

    Args:
        probs: (n, num_classes) class probabilities of n samples.
        eps: guards log(0).

    Returns:
        A float in [1, num_classes]: num_classes for confident predictions
        spread evenly over the classes, 1 when every sample gets the same
        prediction (a collapsed generator).
    """
    probs = _as_probabilities(probs)
    marginal = probs.mean(axis=0, keepdims=True)  # p(y), (1, num_classes)
    kl = np.sum(probs * (np.log(probs + eps) - np.log(marginal + eps)), axis=1)  # (n,)
    return float(np.exp(kl.mean()))


@dataclasses.dataclass
class Coverage:
    """How many classes a set of samples covers.

    Attributes:
        covered: the number of classes with at least `min_share` of their fair
            share (n / num_classes) of the samples.
        histogram: samples per class, shape (num_classes,).
        num_classes: the number of classes.
    """

    covered: int
    histogram: np.ndarray
    num_classes: int

    def __str__(self) -> str:
        counts = " ".join(f"{c}:{n}" for c, n in enumerate(self.histogram))
        return f"{self.covered}/{self.num_classes} classes covered ({counts})"


def class_coverage(probs_or_labels, num_classes: int = 10, min_share: float = 0.1) -> Coverage:
    """Counts the classes a set of samples covers.

    Args:
        probs_or_labels: (n, num_classes) probabilities (each sample counts
            for its most likely class) or (n,) integer labels.
        num_classes: the number of classes.
        min_share: a class counts as covered when it holds at least this
            fraction of its fair share n / num_classes, so a few stray
            predictions do not count as a mode.

    Returns:
        A `Coverage` with the count and the histogram.
    """
    values = np.asarray(probs_or_labels)
    if values.ndim == 2:
        if values.shape[1] != num_classes:
            raise ValueError(
                f"Expected probabilities of shape (n, {num_classes}). Received: shape={values.shape}."
            )
        labels = _as_probabilities(values).argmax(axis=1)
    elif values.ndim == 1 and values.size and np.issubdtype(values.dtype, np.integer):
        labels = values
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(
                f"Expected integer labels in [0, {num_classes - 1}]. "
                f"Received: min={labels.min()}, max={labels.max()}."
            )
    else:
        raise ValueError(
            f"Expected (n, {num_classes}) probabilities or (n,) integer labels. "
            f"Received: shape={values.shape}, dtype={values.dtype}."
        )
    histogram = np.bincount(labels, minlength=num_classes)
    covered = int(np.sum((histogram > 0) & (histogram >= min_share * len(labels) / num_classes)))
    return Coverage(covered=covered, histogram=histogram, num_classes=num_classes)


@dataclasses.dataclass
class ScoreRow:
    """The scores of one set of images."""

    name: str
    n: int
    frechet_distance: float
    classifier_score: float
    classes_covered: int
    histogram: np.ndarray


def legibility(row: ScoreRow) -> str:
    """What a set of samples looks like to the evaluator, in words for a chapter's prose.

    The words follow the classifier score (how confidently each sample is read
    as one digit, at most 10) and the classes covered, so a sentence built with
    them stays true whatever the run scored.
    """
    if row.classifier_score < 4:
        return "mostly fragments and blobs the evaluator cannot name"
    if row.classifier_score >= 8.5:
        looks = "mostly clean digits"
    elif row.classifier_score >= 7:
        looks = "mostly readable digits, some malformed"
    else:
        looks = "digits mixed with malformed strokes"
    if row.classes_covered == 10:
        return f"{looks}, of all ten classes"
    return f"{looks}, covering only {row.classes_covered} of the ten classes"


# How far apart two runs of one recipe can land by the seed alone. Five seeds of each of three of
# the book's recipes, at their chapters' budgets, ended at most 1.20 times apart in FD
# (scripts/sweeps/round3_seeds_h200.jsonl); a gap inside this margin does not rank two single runs.
SEED_FD_RATIO = 1.25


def fd_ratio(fd_a: float, fd_b: float) -> float:
    """The larger of two Fréchet distances over the smaller (1.0 for a tie)."""
    fd_a, fd_b = float(fd_a), float(fd_b)
    if not (fd_a > 0 and fd_b > 0):  # also rejects NaN
        raise ValueError(f"Fréchet distances must be positive to compare, got {fd_a} and {fd_b}.")
    return max(fd_a, fd_b) / min(fd_a, fd_b)


def within_seed_spread(fd_a: float, fd_b: float, margin: float = SEED_FD_RATIO) -> bool:
    """True when two single runs' FDs are closer than another seed could move them."""
    return fd_ratio(fd_a, fd_b) < margin


def path_length(features_a, features_b, epsilon: float, trim: float = 0.01) -> float:
    """Perceptual path length {cite}`karras2019style`: how far a small step moves the image.

    Row i of the two arrays holds the features of two images whose latents are
    `epsilon` apart on one path (`gancore.interpolation.path_pairs`). Each pair
    gives $\\lVert f_a - f_b \\rVert^2 / \\epsilon^2$; the mean is taken after
    dropping the `trim` share of pairs at either end, as the paper does, because
    a few steps across a sharp change dominate an untrimmed mean. The paper
    measures with VGG features (LPIPS); here they are the evaluator's, so the
    values compare generators in this book and not with papers.
    """
    a = _as_matrix(features_a, "features_a")
    b = _as_matrix(features_b, "features_b")
    if a.shape != b.shape:
        raise ValueError(f"Expected features of one shape. Received: {a.shape} and {b.shape}.")
    if not epsilon > 0 or not 0 <= trim < 0.5:
        raise ValueError(f"Expected epsilon > 0 and trim in [0, 0.5). Received: {epsilon}, {trim}.")
    lengths = np.sum((a - b) ** 2, axis=1) / epsilon**2
    low, high = np.quantile(lengths, [trim, 1 - trim])
    return float(np.mean(lengths[(lengths >= low) & (lengths <= high)]))


@dataclasses.dataclass
class ScoreTable:
    """Scores of samples with baselines beside them; `print(table)` shows it.

    Attributes:
        rows: the scored sets: the samples first, then the baselines.
        reference: what the Fréchet distance compares against.
        feature_dim: the dimension of the evaluator's features.
        num_classes: the maximum classifier score.
    """

    rows: list[ScoreRow]
    reference: str
    feature_dim: int
    num_classes: int = 10

    def row(self, name: str) -> ScoreRow:
        """The row with this name (the samples' row is named by `score_generator`'s `name`)."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"No row {name!r}. Rows: {[r.name for r in self.rows]}.")

    def __str__(self) -> str:
        width = max(len(r.name) for r in self.rows)
        header = (
            f"{'':{width}}  {'n':>6}  {'FD (lower=better)':>17}  "
            f"{'score (max ' + str(self.num_classes) + ')':>14}  classes"
        )
        lines = [
            f"Fréchet distance in the evaluator's {self.feature_dim}-d features, vs {self.reference}",
            header,
        ]
        for r in self.rows:
            lines.append(
                f"{r.name:{width}}  {r.n:>6}  {r.frechet_distance:>17.3f}  "
                f"{r.classifier_score:>14.2f}  {r.classes_covered:>3}/{self.num_classes}"
            )
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):  # IPython shows the table, not the dataclass
        printer.text(str(self))


def print_scores(table: ScoreTable) -> None:
    """Prints a `ScoreTable`."""
    print(table)


# Cached per (evaluator, reference set, n, seed): features of the reference
# test images and the baseline rows.
_CACHE: dict = {}


def _score_row(name, features, probs, reference_stats) -> ScoreRow:
    coverage = class_coverage(probs, num_classes=probs.shape[1])
    return ScoreRow(
        name=name,
        n=len(features),
        frechet_distance=frechet_distance_from_statistics(
            *feature_statistics(features), *reference_stats
        ),
        classifier_score=classifier_score(probs),
        classes_covered=coverage.covered,
        histogram=coverage.histogram,
    )


def _reference_key(reference) -> tuple:
    return (reference.name, reference.source, len(reference.x_train), len(reference.x_test))


def reference_statistics(evaluator, reference):
    """Mean and covariance of the evaluator's features on the reference test images (cached)."""
    key = ("stats", id(evaluator), _reference_key(reference))
    if key not in _CACHE:
        _CACHE[key] = feature_statistics(evaluator.features(reference.x_test))
    return _CACHE[key]


def baseline_rows(evaluator, reference, n: int, seed: int = 0) -> list[ScoreRow]:
    """Score rows of three reference points for `n` images (cached).

    - real training digits: `n` digits from the reference's training set,
      what a perfect generator would score;
    - uniform noise in [-1, 1]: no digits at all;
    - one digit repeated n times: total mode collapse.
    """
    key = ("baselines", id(evaluator), _reference_key(reference), n, seed)
    if key in _CACHE:
        return _CACHE[key]
    stats = reference_statistics(evaluator, reference)
    rng = np.random.default_rng(seed)
    n_real = min(n, len(reference.x_train))
    real = reference.x_train[rng.choice(len(reference.x_train), n_real, replace=False)]
    noise = rng.uniform(-1.0, 1.0, size=(n,) + reference.x_train.shape[1:]).astype("float32")
    repeated = np.repeat(reference.x_test[:1], n, axis=0)
    rows = []
    for name, images in [
        ("baseline: real train digits", real),
        ("baseline: uniform noise", noise),
        ("baseline: one digit repeated", repeated),
    ]:
        rows.append(_score_row(name, *evaluator.features_and_probabilities(images), stats))
    _CACHE[key] = rows
    return rows


def score_generator(
    images,
    name: str = "samples",
    evaluator=None,
    reference=None,
    baselines: bool = True,
    seed: int = 0,
) -> ScoreTable:
    """Scores generated digits with the evaluator, baselines beside them.

    Args:
        images: (n, 28, 28, 1) generated images in [-1, 1], n >= 2 (use
            thousands: the Fréchet distance is biased upwards for small n).
        name: the label of the samples' row.
        evaluator: an `Evaluator`; default `gancore.evaluator.load_evaluator()`.
        reference: the real MNIST `ImageDataset` in [-1, 1] whose test images
            the distance compares against and whose training images give the
            real-data baseline; default `load_dataset("mnist")` (the shipped
            sample in the quick profile, full MNIST otherwise).
        baselines: add the rows of `baseline_rows` for the same n.
        seed: for the baselines' random choices.

    Returns:
        A `ScoreTable`; `print` it, or read `table.rows[0].frechet_distance`.
    """
    evaluator = evaluator or load_evaluator()
    if reference is None:
        from gancore.data import load_dataset

        reference = load_dataset("mnist", value_range=TANH_RANGE)
    if tuple(reference.value_range) != tuple(TANH_RANGE):
        raise ValueError(
            f"Expected the reference dataset in [-1, 1] (load_dataset(..., value_range=(-1, 1))). "
            f"Received: value_range={reference.value_range}."
        )
    features, probs = evaluator.features_and_probabilities(images)
    if len(features) < 2:
        raise ValueError(f"Expected at least 2 images to score. Received: {len(features)}.")
    rows = [_score_row(name, features, probs, reference_statistics(evaluator, reference))]
    if baselines:
        rows += baseline_rows(evaluator, reference, len(features), seed)
    return ScoreTable(
        rows=rows,
        reference=f"{len(reference.x_test):,} real test digits ({reference.source})",
        feature_dim=evaluator.feature_dim,
        num_classes=evaluator.num_classes,
    )


evaluate_samples = score_generator
