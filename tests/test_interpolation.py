"""Tests for gancore.interpolation: straight and spherical paths between latent vectors."""

import numpy as np
import pytest

from gancore.interpolation import lerp, path_pairs, slerp


def vectors(n=16, dim=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim)), rng.standard_normal((n, dim))


def test_both_paths_start_at_a_and_end_at_b():
    a, b = vectors()
    for path in (lerp, slerp):
        np.testing.assert_allclose(path(a, b, 0.0), a, atol=1e-5)
        np.testing.assert_allclose(path(a, b, 1.0), b, atol=1e-5)


def test_slerp_keeps_equal_norms_where_lerp_dips():
    a, b = vectors()
    b = b / np.linalg.norm(b, axis=1, keepdims=True) * np.linalg.norm(a, axis=1, keepdims=True)
    middle_s, middle_l = slerp(a, b, 0.5), lerp(a, b, 0.5)
    np.testing.assert_allclose(
        np.linalg.norm(middle_s, axis=1), np.linalg.norm(a, axis=1), rtol=1e-5
    )
    # Two near-orthogonal vectors of norm r: the straight midpoint has norm about r / sqrt(2).
    assert np.all(np.linalg.norm(middle_l, axis=1) < 0.85 * np.linalg.norm(a, axis=1))


def test_slerp_moves_at_constant_angular_speed():
    a, b = vectors(n=1)
    angle = lambda u, v: np.arccos(np.sum(u * v) / np.linalg.norm(u) / np.linalg.norm(v))  # noqa: E731
    total = angle(a, b)
    for t in (0.25, 0.5, 0.9):
        assert angle(a, slerp(a, b, t)) == pytest.approx(t * total, rel=1e-4)


def test_slerp_of_parallel_vectors_is_the_straight_line():
    a = np.ones((2, 4))
    np.testing.assert_allclose(slerp(a, 3 * a, 0.5), lerp(a, 3 * a, 0.5), rtol=1e-6)


def test_path_pairs_are_epsilon_apart_along_the_path():
    a, b = vectors()
    t = np.linspace(0, 0.9, len(a))
    start, end = path_pairs(a, b, t, 1e-2, spherical=False)
    np.testing.assert_allclose(end - start, 1e-2 * (b - a), atol=1e-5)


def test_bad_paths_raise():
    a, b = vectors()
    with pytest.raises(ValueError, match="one shape"):
        lerp(a, b[:, :3], 0.5)
    with pytest.raises(ValueError, match="positive step"):
        path_pairs(a, b, 0.5, 0.0, spherical=True)
    with pytest.raises(ValueError, match="1 - epsilon"):
        path_pairs(a, b, 1.0, 0.1, spherical=True)
    with pytest.raises(ValueError, match="non-zero"):
        slerp(np.zeros_like(a), b, 0.5)
