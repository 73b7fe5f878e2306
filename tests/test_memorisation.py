import numpy as np
import pytest

from gancore.memorisation import nearest_training_images


def test_copies_of_training_images_are_found_at_distance_zero():
    rng = np.random.default_rng(0)
    train = rng.uniform(-1, 1, (50, 6, 6, 1)).astype("float32")
    queries = train[[7, 3, 41]]
    found = nearest_training_images(queries, train, batch_size=2)
    np.testing.assert_array_equal(found.indices, [7, 3, 41])
    np.testing.assert_allclose(found.distances, 0.0, atol=1e-3)


def test_distance_matches_brute_force():
    rng = np.random.default_rng(1)
    train = rng.uniform(-1, 1, (30, 4, 4, 1)).astype("float32")
    queries = rng.uniform(-1, 1, (5, 4, 4, 1)).astype("float32")
    found = nearest_training_images(queries, train)
    brute = np.sqrt(((queries[:, None] - train[None]) ** 2).sum(axis=(2, 3, 4)))
    np.testing.assert_array_equal(found.indices, brute.argmin(axis=1))
    np.testing.assert_allclose(found.distances, brute.min(axis=1), rtol=1e-4)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"Expected training images .* shape \(batch, 4, 4, 1\)"):
        nearest_training_images(np.zeros((2, 4, 4, 1)), np.zeros((3, 5, 5, 1)))
