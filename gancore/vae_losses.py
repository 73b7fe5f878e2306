"""The terms of the VAE objective: Gaussian KL, Bernoulli log-likelihood, Gaussian log-density.

With an encoder $q_\\phi(z|x) = \\mathcal{N}(\\mu, \\mathrm{diag}(\\sigma^2))$, a
standard normal prior $p(z) = \\mathcal{N}(0, I)$ and a Bernoulli decoder
$p_\\theta(x|z)$ whose per-pixel logits are $\\ell$, the negative ELBO of one
image is

    -ELBO(x) = -log p(x|z) + KL(q(z|x) || p(z)),   z ~ q(z|x)

Every function reduces over the last axes and keeps the batch (and any leading
sample axes), so the results are nats per image. All math is `keras.ops`.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from gancore.gradients import per_replica_draw

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_kl(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, I)) in closed form, summed over the latent axis.

    Per dimension: 0.5 * (sigma^2 + mu^2 - 1 - log sigma^2).

    Args:
        z_mean: $\\mu$, shape (..., latent_dim).
        z_log_var: $\\log \\sigma^2$, same shape.

    Returns:
        Shape (...,): nats, zero exactly when z_mean = 0 and z_log_var = 0.
    """
    return 0.5 * ops.sum(ops.exp(z_log_var) + ops.square(z_mean) - 1.0 - z_log_var, axis=-1)


def bernoulli_log_likelihood(x, logits, image_axes=3):
    """log p(x | logits) for independent Bernoulli pixels, summed over the image.

    Equals minus the binary cross-entropy from logits, written in the stable
    form x * l - softplus(l). With binary x this is a proper log-probability
    (nats); with grey levels in [0, 1] it is only the BCE used by many
    tutorials, not a likelihood.

    Args:
        x: targets in [0, 1], shape (..., height, width, channels).
        logits: the decoder's pre-sigmoid outputs $\\ell$, same shape.
        image_axes: how many trailing axes make one image.

    Returns:
        Shape (...,): nats per image.
    """
    x = ops.convert_to_tensor(x, dtype=logits.dtype)  # NumPy targets too, on every backend
    per_pixel = x * logits - ops.softplus(logits)
    return ops.sum(per_pixel, axis=tuple(range(-image_axes, 0)))


def gaussian_log_density(z, mean, log_var):
    """log N(z; mean, diag(exp(log_var))) summed over the last axis (nats).

    `mean = 0, log_var = 0` gives the standard normal prior log p(z).
    """
    z, mean, log_var = (ops.convert_to_tensor(t, dtype="float32") for t in (z, mean, log_var))
    per_dim = -0.5 * (LOG_2PI + log_var + ops.square(z - mean) / ops.exp(log_var))
    return ops.sum(per_dim, axis=-1)


def binarize(x, seed=None):
    """Bernoulli sample of grey images in [0, 1]: each pixel is 1 with probability its value.

    Args:
        x: float array in [0, 1], or a tensor inside a train step.
        seed: an int (NumPy, for a fixed binarized test set) or a
            `keras.random.SeedGenerator` (inside a compiled step: dynamic
            binarization, a fresh draw each time).

    Returns:
        An array of the same shape and dtype with values in {0, 1}. Binary
        input comes back unchanged.
    """
    if isinstance(seed, keras.random.SeedGenerator):
        noise = per_replica_draw(  # distinct on every replica of a tf.distribute strategy
            lambda n: keras.random.uniform((n, *x.shape[1:]), seed=seed, dtype=x.dtype),
            ops.shape(x)[0],
        )
        return ops.cast(noise < x, x.dtype)
    x = np.asarray(x, dtype="float32")
    noise = np.random.default_rng(seed).random(x.shape, dtype="float32")
    return (noise < x).astype("float32")
