"""gancore's spectral normalisation: norm one, the stored kernel untouched, clear errors."""

import keras
import numpy as np
import pytest

from gancore.models.spectral import SpectralNormalization


def _feature_map(seed=0, shape=(2, 6, 6, 16)):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _largest_singular_value(kernel):
    kernel = keras.ops.convert_to_numpy(kernel)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def test_spectral_normalization_makes_the_kernel_norm_one():
    layer = SpectralNormalization(keras.layers.Conv2D(8, 3), power_iterations=1)
    x = _feature_map(2, (4, 8, 8, 3))
    layer(x, training=True)
    stored = keras.ops.convert_to_numpy(layer.layer.kernel).copy()
    for _ in range(30):  # each training call runs one power iteration
        layer(x, training=True)
    assert _largest_singular_value(layer.normalized_kernel()) == pytest.approx(1.0, abs=0.02)
    # Only u moves: the stored kernel is never overwritten.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.layer.kernel), stored)


def test_spectral_normalization_output_equals_the_layer_with_the_normalised_kernel():
    dense = keras.layers.Dense(5)
    layer = SpectralNormalization(dense)
    x = _feature_map(3, (4, 7))
    layer(x, training=True)
    kernel = keras.ops.convert_to_numpy(layer.normalized_kernel())
    expected = keras.ops.convert_to_numpy(x) @ kernel + keras.ops.convert_to_numpy(dense.bias)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, atol=1e-5)


def test_spectral_normalization_rejects_a_layer_without_kernel():
    with pytest.raises(ValueError, match="has none"):
        SpectralNormalization(keras.layers.ReLU())(np.zeros((1, 3), "float32"))
