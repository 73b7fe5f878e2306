"""Adversarial losses, written from the discriminator's logits in `keras.ops`.

The discriminator outputs a logit $\\ell$ and $D(x) = \\sigma(\\ell)$. Working
from logits keeps the logarithms stable: $-\\log D(x) = \\mathrm{softplus}(-\\ell)$
and $-\\log(1 - D(x)) = \\mathrm{softplus}(\\ell)$.

The game of {cite}`goodfellow2014generative`:

$$\\min_G \\max_D \\; \\mathbb{E}_{x}[\\log D(x)] + \\mathbb{E}_{z}[\\log(1 - D(G(z)))]$$

The Wasserstein GAN of {cite}`arjovsky2017wasserstein` replaces the
discriminator by a critic $f$ with unbounded real scores (no sigmoid) and
estimates the Wasserstein-1 distance as
$\\mathbb{E}_x[f(x)] - \\mathbb{E}_z[f(G(z))]$ over 1-Lipschitz $f$;
{cite}`gulrajani2017improved` keep $f$ near 1-Lipschitz with a gradient penalty.

Every loss returns the mean over the batch (a scalar).
"""

from __future__ import annotations

import keras
from keras import ops

from gancore.gradients import input_gradient


def discriminator_loss(real_logits, fake_logits, label_smoothing: float = 0.0):
    """$L_D = -\\mathbb{E}_x[\\log D(x)] - \\mathbb{E}_z[\\log(1 - D(G(z)))]$.

    The binary cross-entropy of "real" on real images plus "fake" on
    generated ones: the negative of the value function $V(D, G)$ that $D$
    maximises.

    Args:
        real_logits: logits of $D(x)$ on real images, shape (batch, 1).
        fake_logits: logits of $D(G(z))$ on generated images, shape (batch, 1).
        label_smoothing: one-sided label smoothing: the real target becomes
            `1 - label_smoothing` (0 gives the paper's loss).
    """
    real_target = 1.0 - label_smoothing
    real_term = real_target * ops.softplus(-real_logits) + (1.0 - real_target) * ops.softplus(
        real_logits
    )
    return ops.mean(real_term) + ops.mean(ops.softplus(fake_logits))


def generator_loss_non_saturating(fake_logits):
    """$L_G = -\\mathbb{E}_z[\\log D(G(z))]$, the non-saturating generator loss.

    Goodfellow et al.'s practical choice: strong gradients while $D(G(z))$
    is small, i.e. early in training, when the generator is bad.

    Args:
        fake_logits: logits of $D(G(z))$, shape (batch, 1).
    """
    return ops.mean(ops.softplus(-fake_logits))


def generator_loss_minimax(fake_logits):
    """$L_G = \\mathbb{E}_z[\\log(1 - D(G(z)))]$, the original (saturating) minimax loss.

    The generator's side of $\\min_G \\max_D V(D, G)$. Its gradient vanishes
    as $D(G(z)) \\to 0$, which is where a young generator starts.

    Args:
        fake_logits: logits of $D(G(z))$, shape (batch, 1).
    """
    return -ops.mean(ops.softplus(fake_logits))


GENERATOR_LOSSES = {
    "non_saturating": generator_loss_non_saturating,
    "minimax": generator_loss_minimax,
}


# -- Wasserstein GAN -------------------------------------------------------------


def wasserstein_estimate(critic_real, critic_fake):
    """$\\mathbb{E}_x[f(x)] - \\mathbb{E}_z[f(G(z))]$, the critic's estimate of $W(P_r, P_g)$.

    Only an estimate of the distance (up to a scale) while $f$ is close to
    1-Lipschitz and close to the best such critic.

    Args:
        critic_real: $f(x)$ on real samples, shape (batch, 1).
        critic_fake: $f(G(z))$ on generated samples, shape (batch, 1).
    """
    return ops.mean(critic_real) - ops.mean(critic_fake)


def wasserstein_critic_loss(critic_real, critic_fake):
    """$L_f = \\mathbb{E}_z[f(G(z))] - \\mathbb{E}_x[f(x)]$: the critic maximises the estimate.

    Args:
        critic_real: $f(x)$ on real samples, shape (batch, 1).
        critic_fake: $f(G(z))$ on generated samples, shape (batch, 1).
    """
    return ops.mean(critic_fake) - ops.mean(critic_real)


def wasserstein_generator_loss(critic_fake):
    """$L_G = -\\mathbb{E}_z[f(G(z))]$: the generator raises the critic's score of its samples.

    Args:
        critic_fake: $f(G(z))$ on generated samples, shape (batch, 1).
    """
    return -ops.mean(critic_fake)


def interpolation_weights(batch_size, sample_rank: int, seed=None):
    """$\\epsilon \\sim U[0, 1]$, one per sample, shaped to broadcast over a sample.

    WGAN-GP's penalty points are $\\hat x = \\epsilon x + (1 - \\epsilon) G(z)$,
    uniform on the segment between a real and a generated sample. (A popular
    Keras example draws $\\epsilon$ from a normal distribution instead, which
    puts points outside the segment.)

    Args:
        batch_size: number of samples.
        sample_rank: rank of one sample, e.g. 3 for (28, 28, 1) images.
        seed: an int or a `keras.random.SeedGenerator`.

    Returns:
        (batch_size, 1, ..., 1) float32 with `sample_rank` ones.
    """
    return keras.random.uniform((batch_size,) + (1,) * sample_rank, 0.0, 1.0, seed=seed)


def gradient_penalty(critic, real, fake, epsilon, norm_epsilon: float = 1e-12):
    """$\\mathbb{E}_{\\hat x}[(\\lVert \\nabla_{\\hat x} f(\\hat x) \\rVert_2 - 1)^2]$, the WGAN-GP penalty.

    Pushes the critic's gradient norm towards 1 on the segments between real
    and generated samples, a soft version of "$f$ is 1-Lipschitz". The norm is
    $\\sqrt{\\sum g^2 + \\text{norm\\_epsilon}}$: without the small constant inside
    the square root its gradient is NaN wherever $g = 0$.

    Args:
        critic: a callable, samples (batch, ...) -> scores (batch, 1). It
            must score each sample on its own (no BatchNorm).
        real: real samples $x$, shape (batch, ...).
        fake: generated samples $G(z)$, same shape.
        epsilon: interpolation weights from `interpolation_weights`.
        norm_epsilon: added under the square root.

    Returns:
        The penalty without its weight $\\lambda$ (a scalar).
    """
    interpolates = epsilon * real + (1.0 - epsilon) * fake  # (batch, ...)
    gradients = input_gradient(critic, interpolates)  # (batch, ...), d f / d x_hat
    axes = tuple(range(1, len(gradients.shape)))
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=axes) + norm_epsilon)  # (batch,)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(discriminator, real):
    """$\\mathbb{E}_x \\lVert \\nabla_x D(x) \\rVert^2$ on real samples, the R1 penalty of {cite}`mescheder2018training`.

    Penalising the discriminator's gradient on the data keeps it from growing
    steep around the real images, where the generator's samples must land.
    StyleGAN and StyleGAN2 train with it (weight $\\gamma / 2$).

    Args:
        discriminator: a callable, samples (batch, ...) -> logits (batch, 1),
            scoring each sample on its own (no BatchNorm).
        real: real samples, shape (batch, ...).

    Returns:
        The penalty without its weight (a scalar).
    """
    gradients = input_gradient(discriminator, real)
    axes = tuple(range(1, len(gradients.shape)))
    return ops.mean(ops.sum(ops.square(gradients), axis=axes))
