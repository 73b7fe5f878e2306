"""ROC-AUC, anomaly scores and outlier sets (gancore.applications.anomaly)."""

import keras
import numpy as np
import pytest

from gancore import applications as app
from gancore.data import load_dataset
from gancore.models.vae import VAE, build_decoder, build_encoder
from tests.test_applications import linear_decoder


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("mnist", source="sample", value_range=(0, 1), verbose=False)
    return data.x_test[:6]


# ---- ROC -------------------------------------------------------------------------------------------------

NORMAL = [0.1, 0.4, 0.35, 0.8]
ANOMALY = [0.9, 0.4, 0.2]


def test_roc_auc_matches_a_hand_count_of_pairs():
    # Pairs (anomaly, normal) with the anomaly higher: 0.9 beats 4; 0.4 beats 0.1 and 0.35 and
    # ties 0.4 (one half); 0.2 beats 0.1. (4 + 2.5 + 1) / (3 * 4) = 0.625.
    assert app.roc_auc(NORMAL, ANOMALY) == pytest.approx(0.625)
    assert app.roc_auc(ANOMALY, NORMAL) == pytest.approx(1 - 0.625)  # swapped roles


def test_roc_auc_is_one_half_for_one_distribution_and_one_for_separated_sets():
    rng = np.random.default_rng(0)
    same = rng.normal(size=50)
    assert app.roc_auc(same, same) == 0.5  # every pair a tie or mirrored
    assert app.roc_auc(rng.normal(size=4000), rng.normal(size=4000)) == pytest.approx(0.5, abs=0.02)
    assert app.roc_auc([0.0, 1.0, 2.0], [2.5, 3.0]) == 1.0
    assert app.roc_auc([2.5, 3.0], [0.0, 1.0, 2.0]) == 0.0
    assert app.roc_auc(np.zeros(5), np.zeros(3)) == 0.5  # a constant score tells nothing


def test_roc_auc_and_curve_agree_with_scikit_learn():
    from sklearn import metrics

    rng = np.random.default_rng(1)
    normal, anomaly = rng.integers(0, 20, 300), rng.integers(5, 25, 200)  # many ties
    labels = np.r_[np.zeros(len(normal)), np.ones(len(anomaly))]
    scores = np.r_[normal, anomaly]
    assert app.roc_auc(normal, anomaly) == pytest.approx(metrics.roc_auc_score(labels, scores))
    fpr, tpr, thresholds = app.roc_curve(normal, anomaly)
    expected = metrics.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, expected[0])
    np.testing.assert_allclose(tpr, expected[1])
    np.testing.assert_array_equal(thresholds[1:], expected[2][1:])


def test_roc_curve_runs_from_origin_to_one_and_its_area_is_the_auc():
    fpr, tpr, thresholds = app.roc_curve(NORMAL, ANOMALY)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert thresholds[0] == np.inf and np.all(np.diff(thresholds) < 0)
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)  # trapezoids
    assert area == pytest.approx(app.roc_auc(NORMAL, ANOMALY))


def test_roc_functions_reject_empty_nested_or_nan_scores():
    with pytest.raises(ValueError, match="Expected normal_scores as a 1-D array"):
        app.roc_auc([], [1.0])
    with pytest.raises(ValueError, match="Expected anomaly_scores as a 1-D array"):
        app.roc_curve([1.0], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="with NaN or inf"):
        app.roc_auc([1.0, np.nan], [2.0])


# ---- scores ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vae():
    keras.utils.set_random_seed(0)
    return VAE(build_encoder(2, hidden_units=8), build_decoder(2, hidden_units=8), seed=0)


def test_vae_scores_give_one_finite_number_per_image(vae, digits):
    elbo = app.vae_negative_elbo(vae, digits, seed=0)
    assert elbo.shape == (len(digits),) and np.all(np.isfinite(elbo))
    # Binary pixels: -log p(x|z) >= 0 and KL >= 0, so the bound is positive.
    assert np.all(elbo > 0)
    nll = app.vae_importance_weighted_nll(vae, digits, samples=4, seed=1)
    assert nll.shape == (len(digits),) and np.all(np.isfinite(nll))
    # The per-image numbers are what the VAE's own estimate averages.
    assert nll.mean() == pytest.approx(vae.importance_weighted_nll(digits, k=4, seed=1), rel=1e-6)


def test_vae_scores_reject_images_out_of_range(vae, digits):
    with pytest.raises(ValueError, match=r"Expected images in \[0, 1\]"):
        app.vae_negative_elbo(vae, digits * 255.0)
    with pytest.raises(ValueError, match="Expected samples >= 1"):
        app.vae_importance_weighted_nll(vae, digits, samples=0)


def linear_critic(weight=0.01, bias=0.5):
    """logit = weight * sum(x) + bias, so the score is known exactly."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(weight),
                               bias_initializer=keras.initializers.Constant(bias)),
        ]
    )  # fmt: skip


def test_discriminator_score_is_minus_the_logit(digits):
    images = digits * 2.0 - 1.0  # a GAN's [-1, 1]
    scores = app.discriminator_score(linear_critic(), images, batch_size=4)  # two batches
    np.testing.assert_allclose(scores, -(0.01 * images.sum(axis=(1, 2, 3)) + 0.5), rtol=1e-5)
    with pytest.raises(
        ValueError, match=r"Expected images in \[-1, 1\] with shape \(batch, 28, 28, 1\)"
    ):
        app.discriminator_score(linear_critic(), images[:, :14])


def test_max_softmax_score_is_one_minus_the_top_probability(digits):
    uniform = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(),
         keras.layers.Dense(10, kernel_initializer="zeros", activation="softmax")]
    )  # fmt: skip
    np.testing.assert_allclose(app.max_softmax_score(uniform, digits), 0.9, rtol=1e-6)
    logits_only = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    with pytest.raises(ValueError, match="class probabilities"):
        app.max_softmax_score(logits_only, digits)


def test_score_functions_reject_models_with_two_inputs(digits):
    image, label = keras.Input((28, 28, 1)), keras.Input((10,))
    features = keras.layers.Concatenate()([keras.layers.Flatten()(image), label])
    conditional = keras.Model([image, label], keras.layers.Dense(1)(features))
    with pytest.raises(ValueError, match="one image input"):
        app.discriminator_score(conditional, digits)


def test_latent_search_residual_is_near_zero_for_images_the_generator_can_draw():
    decoder = linear_decoder()
    rng = np.random.default_rng(1)
    z_true = rng.standard_normal((4, 4)).astype("float32")
    drawable = 1.0 / (1.0 + np.exp(-keras.ops.convert_to_numpy(decoder(z_true))))
    perturbed = app.add_gaussian_noise(drawable, std=0.2, seed=0)
    # Start the search near the true codes: the test is about the score, not the search's reach
    # (tests/test_applications.py checks that the search finds the codes from afar).
    init = z_true + 0.05 * rng.standard_normal((4, 4)).astype("float32")
    kwargs = dict(prior_weight=0.0, steps=20, learning_rate=0.01, init=init)
    near = app.latent_search_residual(decoder, drawable, **kwargs)
    far = app.latent_search_residual(decoder, perturbed, **kwargs)
    assert near.shape == far.shape == (4,)
    start = np.abs(drawable - 1 / (1 + np.exp(-keras.ops.convert_to_numpy(decoder(init)))))
    assert np.all(near < start.sum(axis=(1, 2, 3)))  # the search moved towards the image
    assert near.max() < 0.01 * 28 * 28  # under 0.01 per pixel
    assert far.min() > 10 * near.max()


# ---- outlier sets -----------------------------------------------------------------------------------------


def test_inverted_images_swap_black_and_white(digits):
    flipped = app.inverted(digits)
    np.testing.assert_allclose(flipped, 1.0 - digits)
    np.testing.assert_allclose(app.inverted(flipped), digits, atol=1e-7)
    with pytest.raises(ValueError, match=r"Expected images in \[0, 1\]"):
        app.inverted(digits * 2 - 1)


def test_constant_and_noise_images_have_the_stated_shape_and_statistics():
    flat = app.constant_images(50, seed=0)
    assert flat.shape == (50, 28, 28, 1) and flat.dtype == np.float32
    assert np.all(np.ptp(flat.reshape(50, -1), axis=1) == 0)  # one grey level per image
    assert 0.0 <= flat.min() and flat.max() <= 1.0 and len(np.unique(flat)) == 50
    noise = app.uniform_noise(20, (8, 8, 3), seed=0)
    assert noise.shape == (20, 8, 8, 3) and 0.0 <= noise.min() and noise.max() < 1.0
    assert noise.mean() == pytest.approx(0.5, abs=0.02)
    assert noise.std() == pytest.approx(np.sqrt(1 / 12), abs=0.02)  # U(0, 1)'s std
    np.testing.assert_array_equal(noise, app.uniform_noise(20, (8, 8, 3), seed=0))
    with pytest.raises(ValueError, match="Expected n >= 1"):
        app.uniform_noise(0)
    with pytest.raises(ValueError, match="shape=\\(height, width, channels\\)"):
        app.constant_images(3, (28, 28))


def test_sklearn_digits_are_centred_like_mnist_and_keep_the_scans():
    from sklearn.datasets import load_digits  # a gancore dependency, like the function's

    images = app.upsample_sklearn_digits(n=5, seed=0)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() > 0.9
    assert np.all(images[:, :4] == 0) and np.all(images[:, :, 24:] == 0)  # the 4-pixel margin
    # At digit_size=8 nothing is resized: the centre is the scan itself, scaled from 0..16.
    exact = app.upsample_sklearn_digits(digit_size=8, image_size=8)
    np.testing.assert_allclose(exact[..., 0], load_digits().images / 16.0, atol=1e-6)
    with pytest.raises(ValueError, match="digit_size <= image_size"):
        app.upsample_sklearn_digits(digit_size=30)
    with pytest.raises(ValueError, match="n <= 1797"):
        app.upsample_sklearn_digits(n=5000)
