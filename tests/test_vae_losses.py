"""The VAE objective's terms against their definitions."""

import keras
import numpy as np
import pytest
from keras import ops

from gancore.vae_losses import (
    LOG_2PI,
    bernoulli_log_likelihood,
    binarize,
    gaussian_kl,
    gaussian_log_density,
)


def test_gaussian_kl_matches_monte_carlo_estimate_of_log_q_minus_log_p():
    rng = np.random.default_rng(0)
    z_mean = rng.normal(size=(8, 4)).astype("float32")
    z_log_var = rng.normal(scale=0.5, size=(8, 4)).astype("float32")
    # KL(q || p) = E_q[log q(z) - log p(z)], estimated with 50k draws per image.
    z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal((50_000, 8, 4)).astype("float32")
    log_q = gaussian_log_density(z, z_mean, z_log_var)
    log_p = gaussian_log_density(z, 0.0, 0.0)
    monte_carlo = ops.convert_to_numpy(ops.mean(log_q - log_p, axis=0))  # (8,)
    closed_form = ops.convert_to_numpy(gaussian_kl(z_mean, z_log_var))
    assert closed_form.shape == (8,)
    np.testing.assert_allclose(closed_form, monte_carlo, atol=0.05, rtol=0.02)


def test_gaussian_kl_is_zero_for_the_standard_normal_posterior_and_positive_otherwise():
    zeros = np.zeros((8, 16), "float32")
    np.testing.assert_array_equal(ops.convert_to_numpy(gaussian_kl(zeros, zeros)), 0.0)
    assert np.all(ops.convert_to_numpy(gaussian_kl(zeros + 0.1, zeros)) > 0)
    assert np.all(ops.convert_to_numpy(gaussian_kl(zeros, zeros - 0.1)) > 0)


def test_bernoulli_log_likelihood_is_minus_binary_cross_entropy_summed_per_image():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=3, size=(8, 28, 28, 1)).astype("float32")
    x = (rng.random((8, 28, 28, 1)) < 0.3).astype("float32")
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    expected = (x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=(1, 2, 3))
    got = ops.convert_to_numpy(bernoulli_log_likelihood(x, logits))
    assert got.shape == (8,)
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_bernoulli_log_likelihood_is_finite_for_extreme_logits():
    x = np.array([[[[0.0], [1.0]]]], "float32")
    logits = np.array([[[[200.0], [-200.0]]]], "float32")  # confidently wrong pixels
    got = ops.convert_to_numpy(bernoulli_log_likelihood(x, logits))
    np.testing.assert_allclose(got, [-400.0], rtol=1e-5)


def test_standard_normal_log_density_at_the_origin():
    got = ops.convert_to_numpy(gaussian_log_density(np.zeros((3, 5), "float32"), 0.0, 0.0))
    np.testing.assert_allclose(got, -0.5 * 5 * LOG_2PI, rtol=1e-6)


def test_binarize_draws_bernoulli_pixels_and_keeps_binary_images():
    grey = np.full((8, 28, 28, 1), 0.3, "float32")
    binary = binarize(grey, seed=0)
    assert set(np.unique(binary)) <= {0.0, 1.0}
    assert abs(binary.mean() - 0.3) < 0.01
    np.testing.assert_array_equal(binary, binarize(grey, seed=0))  # a fixed test set
    np.testing.assert_array_equal(binarize(binary, seed=5), binary)


def test_binarize_with_a_seed_generator_gives_a_fresh_draw_each_call():
    grey = np.full((8, 28, 28, 1), 0.5, "float32")
    seed = keras.random.SeedGenerator(3)
    first, second = (
        ops.convert_to_numpy(binarize(ops.convert_to_tensor(grey), seed)) for _ in range(2)
    )
    assert set(np.unique(first)) <= {0.0, 1.0}
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_binarize_is_exact_at_the_ends_of_the_range(value):
    x = np.full((2, 4, 4, 1), value, "float32")
    np.testing.assert_array_equal(binarize(x, seed=1), x)
