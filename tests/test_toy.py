import numpy as np
import pytest

from gancore import toy


def test_ring_samples_cover_every_mode():
    points = toy.ring_of_gaussians(4000, n_modes=8, seed=1)
    coverage = toy.mode_coverage(points)
    assert coverage.modes_covered == 8
    assert coverage.high_quality > 0.98
    assert abs(coverage.counts.sum() - 4000) < 80


def test_collapsed_samples_cover_one_mode():
    centre = toy.ring_centers(8)[3]
    points = centre + 0.01 * np.random.default_rng(0).standard_normal((500, 2))
    coverage = toy.mode_coverage(points)
    assert coverage.modes_covered == 1 and coverage.counts.argmax() == 3


def test_points_between_modes_are_not_high_quality():
    points = np.zeros((100, 2), "float32")  # the ring's centre is far from every mode
    coverage = toy.mode_coverage(points)
    assert coverage.high_quality == 0.0 and coverage.modes_covered == 0


def test_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        toy.mode_coverage(np.zeros((10, 3)))
