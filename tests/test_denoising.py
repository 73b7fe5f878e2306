"""Noise models, classical filters, the denoising autoencoder and the generative prior
(gancore.applications.denoising)."""

import warnings

import keras
import numpy as np
import pytest

from gancore import applications as app
from gancore.data import load_dataset
from tests.test_applications import linear_decoder


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("mnist", source="sample", value_range=(0, 1), verbose=False)
    return data.x_train[:32]


GREY = np.full((8, 28, 28, 1), 0.5, dtype="float32")  # far from 0 and 1: no clipping at std 0.1


# ---- noise models ----------------------------------------------------------------------------------


def test_gaussian_noise_has_the_stated_std_and_stays_in_range(digits):
    noisy = app.add_gaussian_noise(GREY, std=0.1, seed=0)
    assert noisy.shape == GREY.shape and noisy.dtype == np.float32
    np.testing.assert_allclose((noisy - GREY).std(), 0.1, rtol=0.05)
    assert abs((noisy - GREY).mean()) < 0.005
    strong = app.add_gaussian_noise(digits, std=1.0, seed=0)
    assert strong.min() == 0.0 and strong.max() == 1.0  # clipped, not out of range
    np.testing.assert_array_equal(strong, app.add_gaussian_noise(digits, std=1.0, seed=0))
    np.testing.assert_array_equal(app.add_gaussian_noise(digits, std=0.0), digits)


def test_salt_and_pepper_replaces_the_stated_fraction_by_zeros_and_ones():
    noisy = app.add_salt_and_pepper(GREY, fraction=0.2, seed=0)
    assert noisy.shape == GREY.shape
    changed = noisy != GREY
    assert abs(changed.mean() - 0.2) < 0.02  # 6,272 pixels: the share's sd is 0.005
    assert set(np.unique(noisy[changed])) == {0.0, 1.0}
    assert abs((noisy[changed] == 1.0).mean() - 0.5) < 0.1  # salt and pepper, half each
    np.testing.assert_array_equal(app.add_salt_and_pepper(GREY, 0.0), GREY)


def test_noise_functions_reject_bad_levels_and_images(digits):
    with pytest.raises(ValueError, match="noise std >= 0"):
        app.add_gaussian_noise(digits, std=-0.1)
    with pytest.raises(ValueError, match="0 <= fraction <= 1"):
        app.add_salt_and_pepper(digits, fraction=1.5)
    with pytest.raises(ValueError, match=r"Expected images in \[0, 1\]"):
        app.add_gaussian_noise(digits * 255.0, std=0.1)
    with pytest.raises(ValueError, match=r"shape \(batch, height, width, channels\)"):
        app.add_salt_and_pepper(digits[..., 0], fraction=0.1)


# ---- classical denoisers -------------------------------------------------------------------------


def test_median_filter_removes_isolated_salt_and_keeps_a_solid_block():
    clean = np.zeros((1, 9, 9, 1), "float32")
    clean[0, 4:7, 4:7] = 1.0  # a 3x3 block: its centre has 9 white neighbours of 9
    salty = clean.copy()
    salty[0, 1, 1] = salty[0, 1, 7] = 1.0  # isolated salt: 1 white pixel of 9
    filtered = app.median_filter(salty, size=3)
    assert filtered[0, 1, 1, 0] == 0.0 and filtered[0, 1, 7, 0] == 0.0
    assert filtered[0, 5, 5, 0] == 1.0
    # A median filter is not a low-pass filter: on the black background it changes nothing.
    np.testing.assert_array_equal(filtered[0, :3], clean[0, :3])


def test_gaussian_blur_keeps_flat_images_and_averages_noise_away():
    np.testing.assert_allclose(app.gaussian_blur(GREY, sigma=2.0), GREY, atol=1e-6)
    noise = app.add_gaussian_noise(GREY, std=0.1, seed=1) - GREY
    blurred = app.gaussian_blur(noise + 0.5, sigma=1.0) - 0.5
    # Independent noise averaged with Gaussian weights: std / (2 sqrt(pi) sigma) in 2-D.
    np.testing.assert_allclose(blurred.std(), noise.std() / (2 * np.sqrt(np.pi)), rtol=0.15)
    np.testing.assert_array_equal(app.gaussian_blur(noise, sigma=0.0), noise)


def test_filters_reject_bad_arguments():
    with pytest.raises(ValueError, match="Expected size >= 1"):
        app.median_filter(GREY, size=0)
    with pytest.raises(ValueError, match="sigma >= 0"):
        app.gaussian_blur(GREY, sigma=-1.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        app.median_filter(np.full((1, 4, 4, 1), np.nan))


# ---- the denoising autoencoder ---------------------------------------------------------------------


def small_autoencoder():
    keras.utils.set_random_seed(0)
    return app.denoising_autoencoder(filters=(4, 8))


def gaussian(x, rng):
    return app.add_gaussian_noise(x, std=0.3, seed=rng)


def test_denoising_autoencoder_maps_images_to_images_in_unit_range(digits):
    model = small_autoencoder()
    out = keras.ops.convert_to_numpy(model(digits[:4]))
    assert out.shape == (4, 28, 28, 1)
    assert out.min() >= 0.0 and out.max() <= 1.0
    with pytest.raises(ValueError, match="divisible by 2 \\*\\* len\\(filters\\) = 4"):
        app.denoising_autoencoder((30, 30, 1), filters=(4, 8))


def test_noisy_pairs_draw_fresh_reproducible_noise_every_epoch(digits):
    pairs = app.NoisyPairs(digits, gaussian, batch_size=10, seed=3)
    assert len(pairs) == 4  # 32 images: 10 + 10 + 10 + 2
    noisy, clean = pairs[0]
    assert noisy.shape == clean.shape == (10, 28, 28, 1)
    again, _ = app.NoisyPairs(digits, gaussian, batch_size=10, seed=3)[0]
    np.testing.assert_array_equal(noisy, again)  # same seed, same batch
    pairs.on_epoch_end()
    next_noisy, next_clean = pairs[0]
    assert not np.array_equal(next_noisy, noisy)  # a new epoch draws new noise...
    assert not np.array_equal(next_clean, clean)  # ... and a new order
    # Every clean image is served once per epoch.
    served = np.concatenate([pairs[i][1] for i in range(len(pairs))])
    np.testing.assert_array_equal(np.sort(served.reshape(32, -1), axis=0),
                                  np.sort(digits.reshape(32, -1), axis=0))  # fmt: skip
    with pytest.raises(ValueError, match="noise as a function"):
        app.NoisyPairs(digits, 0.3)


def test_denoising_autoencoder_trains_on_noisy_pairs_and_round_trips(digits, tmp_path):
    model = small_autoencoder()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    history = model.fit(app.NoisyPairs(digits, gaussian, batch_size=16), epochs=4, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    path = tmp_path / "dae.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    noisy = gaussian(digits[:4], np.random.default_rng(0))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(noisy)), keras.ops.convert_to_numpy(model(noisy)),
        atol=1e-6,
    )  # fmt: skip
    loaded.fit(app.NoisyPairs(digits, gaussian, batch_size=16), epochs=1, verbose=0)  # trains on


# ---- a generative model as the prior ---------------------------------------------------------------


def test_denoising_with_a_decoder_prior_removes_noise_it_cannot_draw():
    decoder = linear_decoder()
    z_true = np.random.default_rng(1).standard_normal((4, 4)).astype("float32")
    clean = 1.0 / (1.0 + np.exp(-keras.ops.convert_to_numpy(decoder(z_true))))
    noisy = app.add_gaussian_noise(clean, std=0.2, seed=0)
    denoised = app.denoise_with_prior(decoder, noisy, prior_weight=0.0, steps=60, learning_rate=0.1)
    assert denoised.shape == clean.shape
    # 784 noisy pixels explained by 4 numbers: most of the noise has nowhere to go.
    assert app.psnr(clean, denoised).min() > app.psnr(clean, noisy).max() + 6.0
    with pytest.raises(ValueError, match=r"Expected images in \[0, 1\]"):
        app.denoise_with_prior(decoder, noisy * 2 - 1)


def test_prior_with_very_negative_logits_decodes_black_without_an_overflow_warning():
    # Logits of -200 (a confident black background) overflowed np.exp(200) in float32.
    decoder = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(784, bias_initializer=keras.initializers.Constant(-200.0)),
         keras.layers.Reshape((28, 28, 1))]
    )  # fmt: skip
    black = np.zeros((3, 28, 28, 1), dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        denoised = app.denoise_with_prior(decoder, black, steps=2)
    assert np.isfinite(denoised).all() and denoised.max() < 1e-6
