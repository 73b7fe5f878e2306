"""Adversarial losses, written from the discriminator's logits in `keras.ops`.

The discriminator outputs a logit $\\ell$ and $D(x) = \\sigma(\\ell)$. Working
from logits keeps the logarithms stable: $-\\log D(x) = \\mathrm{softplus}(-\\ell)$
and $-\\log(1 - D(x)) = \\mathrm{softplus}(\\ell)$.

The game of {cite}`goodfellow2014generative`:

$$\\min_G \\max_D \\; \\mathbb{E}_{x}[\\log D(x)] + \\mathbb{E}_{z}[\\log(1 - D(G(z)))]$$

Every function returns the mean over the batch (a scalar).
"""

from __future__ import annotations

from keras import ops


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
