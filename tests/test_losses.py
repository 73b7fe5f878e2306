import keras
import numpy as np
import pytest

from gancore import losses
from gancore.gradients import minimize

LOGITS_REAL = np.array([[2.0], [-1.0], [0.0]], dtype="float32")
LOGITS_FAKE = np.array([[-3.0], [0.5], [1.0]], dtype="float32")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def value(x) -> float:
    return float(keras.ops.convert_to_numpy(x))


def test_discriminator_loss_is_binary_cross_entropy_of_the_paper():
    expected = -np.mean(np.log(sigmoid(LOGITS_REAL))) - np.mean(np.log(1 - sigmoid(LOGITS_FAKE)))
    assert value(losses.discriminator_loss(LOGITS_REAL, LOGITS_FAKE)) == pytest.approx(
        expected, rel=1e-5
    )


def test_label_smoothing_moves_the_real_target():
    s = 0.1
    p = sigmoid(LOGITS_REAL)
    expected = -np.mean((1 - s) * np.log(p) + s * np.log(1 - p)) - np.mean(
        np.log(1 - sigmoid(LOGITS_FAKE))
    )
    got = value(losses.discriminator_loss(LOGITS_REAL, LOGITS_FAKE, label_smoothing=s))
    assert got == pytest.approx(expected, rel=1e-5)


def test_non_saturating_loss_is_minus_log_d_of_g():
    expected = -np.mean(np.log(sigmoid(LOGITS_FAKE)))
    assert value(losses.generator_loss_non_saturating(LOGITS_FAKE)) == pytest.approx(
        expected, rel=1e-5
    )


def test_minimax_loss_is_log_one_minus_d_of_g():
    expected = np.mean(np.log(1 - sigmoid(LOGITS_FAKE)))
    assert value(losses.generator_loss_minimax(LOGITS_FAKE)) == pytest.approx(expected, rel=1e-5)


def test_losses_stay_finite_for_extreme_logits():
    extreme = np.array([[-200.0], [200.0]], dtype="float32")
    for result in (
        losses.discriminator_loss(extreme, extreme),
        losses.generator_loss_non_saturating(extreme),
        losses.generator_loss_minimax(extreme),
    ):
        assert np.isfinite(value(result))


def gradient(loss_fn, variable):
    """d loss / d variable on any backend: one SGD step of size 1 moves it by minus the gradient."""
    before = keras.ops.convert_to_numpy(variable).copy()
    minimize(keras.optimizers.SGD(1.0), loss_fn, [variable])
    return before - keras.ops.convert_to_numpy(variable)


def test_minimax_gradient_vanishes_where_non_saturating_does_not():
    # D is sure the sample is fake: D(G(z)) ~ 3e-4.
    logits = keras.Variable([[-8.0]])
    assert abs(gradient(lambda: losses.generator_loss_minimax(logits), logits)[0, 0]) < 1e-3
    logits = keras.Variable([[-8.0]])
    assert abs(gradient(lambda: losses.generator_loss_non_saturating(logits), logits)[0, 0]) > 0.99


# -- Wasserstein losses and the WGAN-GP penalty --------------------------------

SCORES_REAL = np.array([[2.0], [-1.0], [0.5]], dtype="float32")
SCORES_FAKE = np.array([[-3.0], [0.5], [1.0]], dtype="float32")


def linear_critic(w):
    """f(x) = <w, x> on flattened samples: its input gradient is w everywhere."""
    w = keras.ops.convert_to_tensor(w)
    return lambda x: keras.ops.sum(
        keras.ops.reshape(x, (x.shape[0], -1)) * w, axis=1, keepdims=True
    )


def test_wasserstein_losses_are_the_critic_estimate_and_its_negatives():
    estimate = SCORES_REAL.mean() - SCORES_FAKE.mean()
    assert value(losses.wasserstein_estimate(SCORES_REAL, SCORES_FAKE)) == pytest.approx(estimate)
    assert value(losses.wasserstein_critic_loss(SCORES_REAL, SCORES_FAKE)) == pytest.approx(
        -estimate
    )
    assert value(losses.wasserstein_generator_loss(SCORES_FAKE)) == pytest.approx(
        -SCORES_FAKE.mean()
    )


def test_interpolation_weights_are_uniform_in_zero_one_per_sample():
    eps = keras.ops.convert_to_numpy(
        losses.interpolation_weights(20_000, 3, seed=keras.random.SeedGenerator(0))
    )
    assert eps.shape == (20_000, 1, 1, 1)
    assert eps.min() >= 0.0 and eps.max() <= 1.0
    # Uniform, not normal: mean 1/2, standard deviation 1/sqrt(12), flat histogram.
    assert eps.mean() == pytest.approx(0.5, abs=0.01)
    assert eps.std() == pytest.approx(12**-0.5, abs=0.01)
    counts, _ = np.histogram(eps, bins=10, range=(0, 1))
    assert counts.min() > 0.9 * 2_000


def test_gradient_penalty_is_zero_for_unit_linear_critic():
    rng = np.random.default_rng(0)
    real, fake = (rng.uniform(-1, 1, (8, 4, 4, 1)).astype("float32") for _ in range(2))
    eps = losses.interpolation_weights(8, 3, seed=1)
    w = rng.standard_normal(16).astype("float32")
    unit = losses.gradient_penalty(linear_critic(w / np.linalg.norm(w)), real, fake, eps)
    assert value(unit) == pytest.approx(0.0, abs=1e-6)
    # Gradient norm 2 everywhere: (2 - 1)^2 = 1.
    double = losses.gradient_penalty(linear_critic(2 * w / np.linalg.norm(w)), real, fake, eps)
    assert value(double) == pytest.approx(1.0, rel=1e-5)


def test_gradient_penalty_is_positive_for_a_nonlinear_critic_at_the_interpolates():
    # f(x) = |x|^2 / 2 has gradient x, so the penalty at x_hat = x (epsilon = 1)
    # is mean((|x| - 1)^2) over the real samples alone.
    real = np.random.default_rng(1).uniform(-1, 1, (4, 3, 3, 1)).astype("float32")
    fake = np.zeros_like(real)
    critic = lambda x: 0.5 * keras.ops.sum(keras.ops.square(x), axis=(1, 2, 3))  # noqa: E731
    penalty = value(losses.gradient_penalty(critic, real, fake, np.ones((4, 1, 1, 1), "float32")))
    norms = np.linalg.norm(real.reshape(4, -1), axis=1)
    assert penalty == pytest.approx(np.mean((norms - 1) ** 2), rel=1e-5)
    assert penalty > 0.1


def test_gradient_penalty_has_a_finite_gradient_for_a_flat_critic():
    # A critic with zero input gradient is where sqrt(sum g^2) has an infinite
    # derivative; the epsilon inside the square root keeps the weight gradient finite.
    w = keras.Variable(np.zeros(16, "float32"))
    real = np.ones((2, 4, 4, 1), "float32")

    def penalty():
        critic = lambda x: keras.ops.sum(keras.ops.reshape(x, (2, -1)) * w, axis=1)  # noqa: E731
        return losses.gradient_penalty(critic, real, -real, np.full((2, 1, 1, 1), 0.5, "float32"))

    assert value(penalty()) == pytest.approx(1.0, abs=1e-5)
    assert np.isfinite(gradient(penalty, w)).all()


def test_r1_penalty_is_the_mean_squared_gradient_norm_on_the_real_samples():
    # f(x) = |x|^2 / 2 has gradient x, so R1 = mean over samples of |x|^2.
    real = np.random.default_rng(2).uniform(-1, 1, (6, 4, 4, 1)).astype("float32")

    def half_square(x):
        return 0.5 * keras.ops.sum(keras.ops.square(x), axis=(1, 2, 3))[:, None]

    expected = np.mean(np.sum(real**2, axis=(1, 2, 3)))
    assert value(losses.r1_penalty(half_square, real)) == pytest.approx(expected, rel=1e-5)
    w = np.random.default_rng(3).standard_normal(16).astype("float32")
    linear = losses.r1_penalty(linear_critic(w), real)  # gradient w everywhere
    assert value(linear) == pytest.approx(float(np.sum(w**2)), rel=1e-5)
