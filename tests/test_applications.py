"""Inpainting by latent optimisation, PSNR, masks and resampling (gancore.applications)."""

import keras
import numpy as np
import pytest

from gancore import applications as app
from gancore.data import load_dataset
from gancore.models.vae import build_decoder


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("mnist", source="sample", value_range=(0, 1), verbose=False)
    return data.x_test[:6]


# ---- masks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "side, hidden",
    [
        ("bottom", (slice(14, None), slice(None))),
        ("top", (slice(None, 14), slice(None))),
        ("right", (slice(None), slice(14, None))),
        ("left", (slice(None), slice(None, 14))),
    ],
)
def test_half_mask_hides_exactly_the_named_half(side, hidden):
    mask = app.half_mask((28, 28, 1), side)
    assert mask.shape == (28, 28, 1) and mask.dtype == np.float32
    expected = np.ones((28, 28, 1), "float32")
    expected[hidden] = 0.0
    np.testing.assert_array_equal(mask, expected)
    assert mask.sum() == 28 * 14


def test_mask_half_writes_fill_into_hidden_pixels_only(digits):
    masked, mask = app.mask_half(digits, "bottom", fill=0.5)
    assert masked.shape == mask.shape == digits.shape
    np.testing.assert_array_equal(masked[:, :14], digits[:, :14])
    assert np.all(masked[:, 14:] == 0.5)


def test_mask_half_rejects_unknown_side_and_out_of_range_images(digits):
    with pytest.raises(ValueError, match="Expected side in"):
        app.mask_half(digits, "middle")
    with pytest.raises(ValueError, match=r"Expected images in \[0, 1\]"):
        app.mask_half(digits * 255.0)


def test_merge_visible_rejects_a_mask_that_is_not_zero_one(digits):
    with pytest.raises(ValueError, match="0 \\(hidden\\) and 1 \\(visible\\)"):
        app.merge_visible(digits, np.full_like(digits, 0.5), digits)
    with pytest.raises(ValueError, match="mask of the images' shape"):
        app.merge_visible(digits, np.ones((1, 28, 28, 1)), digits)


# ---- psnr -------------------------------------------------------------------------------------------


def test_psnr_matches_a_hand_computation():
    reference = np.zeros((2, 2, 2, 1), "float32")
    estimate = reference.copy()
    estimate[0, 0, 0, 0] = 0.5  # image 0: MSE = 0.25 / 4 = 1/16
    estimate[1] = 0.1  # image 1: MSE = 0.01
    values = app.psnr(reference, estimate)
    np.testing.assert_allclose(values, [10 * np.log10(16.0), 20.0], rtol=1e-6)
    # Twice the range, same error: 20 log10(2) dB more.
    np.testing.assert_allclose(
        app.psnr(reference, estimate, data_range=2.0) - values, 20 * np.log10(2)
    )


def test_psnr_with_a_mask_ignores_the_pixels_outside_it():
    reference = np.zeros((1, 2, 2, 1), "float32")
    estimate = reference.copy()
    estimate[0, 1, :] = 1.0  # errors only in the bottom row
    top = np.zeros_like(reference)
    top[0, 0] = 1.0
    assert app.psnr(reference, estimate, mask=top)[0] == np.inf
    np.testing.assert_allclose(app.psnr(reference, estimate, mask=1.0 - top), [0.0], atol=1e-12)


def test_psnr_rejects_mismatched_shapes_and_empty_masks():
    with pytest.raises(ValueError, match="same shape"):
        app.psnr(np.zeros((2, 4, 4, 1)), np.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError, match="at least one pixel"):
        app.psnr(np.zeros((1, 4, 4, 1)), np.ones((1, 4, 4, 1)), mask=np.zeros((1, 4, 4, 1)))


# ---- inpainting -------------------------------------------------------------------------------------


def small_decoder(latent_dim=4):
    keras.utils.set_random_seed(3)
    return build_decoder(latent_dim, hidden_units=16)


def linear_decoder(latent_dim=4, seed=5):
    """logits = W z + b: the Bernoulli misfit is convex in z, so the optimum is findable."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(
                28 * 28, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)
            ),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )


def test_latent_optimisation_recovers_the_code_of_an_image_the_decoder_can_draw():
    decoder = linear_decoder()
    z_true = np.random.default_rng(1).standard_normal((5, 4)).astype("float32")
    images = 1.0 / (1.0 + np.exp(-keras.ops.convert_to_numpy(decoder(z_true))))  # sigmoid(g(z*))
    masked, mask = app.mask_half(images, "bottom")
    result = app.inpaint_latent(
        decoder, masked, mask, prior_weight=0.0, steps=120, learning_rate=0.1
    )
    assert result.objective.shape == result.masked_loss.shape == (120,)
    floor = _objective(decoder, masked, mask, z_true, prior_weight=0.0).mean()  # the best possible
    assert result.masked_loss[-1] - floor < 0.01 * (result.masked_loss[0] - floor)
    np.testing.assert_allclose(result.z, z_true, atol=0.05)
    # The hidden half, never seen, comes back with the code.
    hidden = 1.0 - mask
    assert app.psnr(images, result.filled, mask=hidden).min() > 30.0
    np.testing.assert_array_equal(result.filled[:, :14], images[:, :14])


def test_inpainted_images_keep_visible_pixels_and_take_hidden_ones_from_the_decoder(digits):
    masked, mask = app.mask_half(digits, "bottom")
    result = app.inpaint_latent(small_decoder(), masked, mask, steps=5)
    assert np.all(np.diff(result.objective) < 0)  # Adam descends at the start
    assert result.z.shape == (len(digits), 4)
    assert result.decoded.min() >= 0.0 and result.decoded.max() <= 1.0
    np.testing.assert_array_equal(result.filled[:, :14], digits[:, :14])
    np.testing.assert_allclose(result.filled[:, 14:], result.decoded[:, 14:])


def test_hidden_pixels_do_not_influence_the_fit(digits):
    masked, mask = app.mask_half(digits, "right")
    noisy = masked.copy()
    noisy[:, :, 14:] = np.random.default_rng(0).uniform(size=noisy[:, :, 14:].shape)
    kwargs = dict(steps=5, seed=1)
    decoder = small_decoder()
    a = app.inpaint_latent(decoder, masked, mask, **kwargs)
    b = app.inpaint_latent(decoder, noisy, mask, **kwargs)
    np.testing.assert_allclose(a.z, b.z, rtol=1e-5, atol=1e-6)


def test_restarts_keep_the_code_with_the_lowest_objective(digits):
    masked, mask = app.mask_half(digits, "bottom")
    decoder = small_decoder()
    # The restarts of seed 0 start from these codes; each code's loss is its own image's,
    # so restart r runs exactly as a single run started from starts[r].
    starts = np.random.default_rng(0).standard_normal((3, len(digits), 4)).astype("float32")
    singles = [
        _objective(
            decoder, masked, mask, app.inpaint_latent(decoder, masked, mask, steps=10, init=s).z
        )
        for s in starts
    ]
    best = app.inpaint_latent(decoder, masked, mask, steps=10, restarts=3, seed=0)
    np.testing.assert_allclose(
        _objective(decoder, masked, mask, best.z), np.min(singles, axis=0), rtol=1e-3
    )
    np.testing.assert_allclose(best.final_objective, np.min(singles, axis=0), rtol=1e-3)
    assert np.any(np.ptp(singles, axis=0) > 1e-2)  # the restarts did end in different places


def test_masked_objective_matches_numpy_for_both_likelihoods(digits):
    decoder = small_decoder()
    masked, mask = app.mask_half(digits, "left")
    z = np.random.default_rng(2).standard_normal((len(digits), 4)).astype("float32")
    objective, _ = app.masked_objective(decoder, z, masked, mask, prior_weight=0.5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(objective), _objective(decoder, masked, mask, z, 0.5), rtol=1e-5
    )
    output = keras.ops.convert_to_numpy(decoder(z))
    terms = app.masked_objective(decoder, z, masked, mask, "gaussian", noise_std=0.5)
    objective, data = (keras.ops.convert_to_numpy(t) for t in terms)
    expected = ((masked - output) ** 2 / 0.5 * mask).sum(axis=(1, 2, 3))  # 2 * 0.5^2 = 0.5
    np.testing.assert_allclose(data, expected, rtol=1e-5)
    np.testing.assert_allclose(objective - data, 0.5 * (z**2).sum(axis=1), rtol=1e-5)


def _objective(decoder, images, mask, z, prior_weight=1.0):
    """The Bernoulli objective in NumPy: sum over visible pixels of softplus(l) - x l, + prior."""
    logits = keras.ops.convert_to_numpy(decoder(z))
    data = ((np.logaddexp(0, logits) - images * logits) * mask).sum(axis=(1, 2, 3))
    return data + prior_weight * 0.5 * (z**2).sum(axis=1)


def test_gaussian_likelihood_works_in_the_tanh_range(digits):
    keras.utils.set_random_seed(0)
    generator = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(28 * 28, activation="tanh"),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )
    images = digits * 2.0 - 1.0
    masked, mask = app.mask_half(images, "bottom", fill=-1.0, value_range=(-1, 1))
    result = app.inpaint_latent(
        generator, masked, mask, likelihood="gaussian", noise_std=0.5, steps=20,
        learning_rate=0.1, value_range=(-1, 1),
    )  # fmt: skip
    assert result.masked_loss[-1] < result.masked_loss[0]
    assert result.filled.min() >= -1.0 and result.filled.max() <= 1.0


def test_inpaint_latent_rejects_bad_input(digits):
    masked, mask = app.mask_half(digits)
    decoder = small_decoder()
    with pytest.raises(ValueError, match="Expected likelihood in"):
        app.inpaint_latent(decoder, masked, mask, likelihood="laplace")
    with pytest.raises(ValueError, match="needs images in \\[0, 1\\]"):
        app.inpaint_latent(decoder, masked * 2 - 1, mask, value_range=(-1, 1))
    with pytest.raises(ValueError, match="Expected init of shape"):
        app.inpaint_latent(decoder, masked, mask, init=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="Expected steps >= 1"):
        app.inpaint_latent(decoder, masked, mask, steps=0)
    with pytest.raises(ValueError, match="one input z"):
        app.inpaint_latent(build_decoder(4, num_classes=10, hidden_units=8), masked, mask)
    with pytest.raises(ValueError, match="decoder's output shape"):
        app.inpaint_latent(decoder, masked[:, :14], mask[:, :14])


# ---- resampling -------------------------------------------------------------------------------------


def test_downsample_averages_blocks():
    images = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    low = app.downsample(images, 2)
    np.testing.assert_allclose(low[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    with pytest.raises(ValueError, match="divisible by factor=3"):
        app.downsample(images, 3)


def test_upsample_nearest_copies_pixels_into_blocks_and_bicubic_stays_in_range(digits):
    low = app.downsample(digits)
    nearest = app.upsample(low, method="nearest")
    np.testing.assert_allclose(nearest, np.repeat(np.repeat(low, 2, axis=1), 2, axis=2), atol=1e-6)
    bicubic = app.upsample(low, method="bicubic")
    assert bicubic.shape == digits.shape
    assert bicubic.min() >= 0.0 and bicubic.max() <= 1.0
    # Interpolation beats copying pixels on real digits.
    assert app.psnr(digits, bicubic).mean() > app.psnr(digits, nearest).mean()
    with pytest.raises(ValueError, match="Expected method in"):
        app.upsample(low, method="lanczos")
