import keras
import numpy as np
import pytest

from gancore import losses

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


def test_minimax_gradient_vanishes_where_non_saturating_does_not():
    import tensorflow as tf

    logits = tf.Variable([[-8.0]])  # D is sure the sample is fake: D(G(z)) ~ 3e-4
    with tf.GradientTape(persistent=True) as tape:
        minimax = losses.generator_loss_minimax(logits)
        non_saturating = losses.generator_loss_non_saturating(logits)
    assert abs(float(tape.gradient(minimax, logits)[0, 0])) < 1e-3
    assert abs(float(tape.gradient(non_saturating, logits)[0, 0])) > 0.99
