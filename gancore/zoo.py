"""Every model the book compares, built the way its chapter builds it.

The evaluation chapter retrains a model from here when no chapter has saved
it, and `gancore.bench` times them. Each builder returns a compiled model;
`Recipe` says which data it trains on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import numpy as np

from gancore.images import TANH_RANGE, UNIT_RANGE
from gancore.models import networks

LATENT_DIM = 100


def mlp_gan(width: int = 64):
    """Chapter 3: an MLP generator against a convolutional discriminator."""
    from gancore.models.gan import GAN

    hidden = (4 * width, 8 * width, 16 * width)  # 256-512-1024 at the chapter's width 64
    generator = networks.mlp_generator(LATENT_DIM, hidden_units=hidden, batch_norm=True)
    return GAN(generator, networks.conv_discriminator(filters=(width // 2, width)))


def dcgan(width: int = 64):
    """Chapter 4: the DCGAN (transposed convolutions, BatchNorm, LeakyReLU), one extra layer each."""
    from gancore.models.gan import GAN

    # The extra stride-1 layer per network: about 1.5x the CPU cost per image (width 32),
    # and where the two-layer networks level off near FD 9 and score 7.5, it reached FD 4.3
    # and score 8.1 after 10 epochs (scripts/recipe_sweep.py, one seed).
    generator = networks.dcgan_generator(LATENT_DIM, width=width, extra_conv=True)
    return GAN(generator, networks.dcgan_discriminator(width=width, extra_conv=True))


def conditional_dcgan(width: int = 64):
    """Chapter 4: the DCGAN with the class label fed to both networks (the two-layer networks)."""
    from gancore.models.gan import ConditionalGAN

    generator = networks.dcgan_generator(LATENT_DIM, width=width, num_classes=10)
    discriminator = networks.dcgan_discriminator(width=width, num_classes=10)
    return ConditionalGAN(generator, discriminator)


def _wgan(penalty: str, width: int):
    from gancore.models.wgan import WGAN

    generator = networks.dcgan_generator(LATENT_DIM, width=width)
    critic = networks.dcgan_discriminator(width=width, batch_norm=False, name="critic")
    return WGAN(generator, critic, penalty=penalty)


def wgan_clip(width: int = 64):
    """Chapter 5: WGAN with weight clipping."""
    return _wgan("clip", width)


def wgan_gp(width: int = 64):
    """Chapter 5: WGAN with the gradient penalty."""
    return _wgan("gp", width)


def _vae(beta: float, num_classes: int | None, latent_dim: int = 16):
    from gancore.models.vae import VAE, ConditionalVAE, build_decoder, build_encoder

    if num_classes:
        encoder = build_encoder(latent_dim, num_classes=num_classes)
        decoder = build_decoder(latent_dim, num_classes=num_classes)
        return ConditionalVAE(encoder, decoder, num_classes=num_classes, beta=beta, seed=0)
    return VAE(build_encoder(latent_dim), build_decoder(latent_dim), beta=beta, seed=0)


def vae(width: int = 64):
    """Chapter 6: the VAE, latent dimension 16."""
    return _vae(1.0, None)


def beta_vae(width: int = 64):
    """Chapter 6: the beta-VAE with beta = 4."""
    return _vae(4.0, None)


def cvae(width: int = 64):
    """Chapter 6: the conditional VAE."""
    return _vae(1.0, 10)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to build and feed one of the book's models."""

    name: str
    chapter: str
    build: Callable[[int], keras.Model]  # width -> uncompiled model
    value_range: tuple  # the range its training images must be in
    labelled: bool  # whether fit takes (images, labels)
    batch_size: int = 128  # a WGAN step splits its batch into n_critic critic batches
    optimizer: Callable[[], keras.optimizers.Optimizer] | None = None  # for `compile(optimizer=)`
    optimizers: Callable[[], dict] | None = None  # a GAN's `compile(d_optimizer=, g_optimizer=)`

    def compile(self, model, **kwargs):
        """Compiles with the chapter's optimizers (other GANs keep their own defaults)."""
        if self.optimizer is not None:
            kwargs["optimizer"] = self.optimizer()
        if self.optimizers is not None:
            kwargs.update(self.optimizers())
        model.compile(**kwargs)
        return model


def _adam():
    return keras.optimizers.Adam(1e-3)


# Chapter 4's DCGAN recipe: the paper's Adam for D and a generator step three times
# larger. On 2 CPU cores (width 32, batch 64) the generator's step size set how soon
# the scores rose: after 2 training minutes FD 16.9 at 2e-4, 13.9 at 4e-4, 11.5 at
# 6e-4 (one seed each), while a faster D (4e-4, G 1e-4) gave 24.6.
D_LEARNING_RATE, G_LEARNING_RATE = 2e-4, 6e-4


def _dcgan_optimizers():
    return {
        "d_optimizer": keras.optimizers.Adam(D_LEARNING_RATE, beta_1=0.5),
        "g_optimizer": keras.optimizers.Adam(G_LEARNING_RATE, beta_1=0.5),
    }


RECIPES = {
    r.name: r
    for r in [
        Recipe("mlp_gan", "03_gan_theory", mlp_gan, TANH_RANGE, False),
        Recipe("dcgan", "04_dcgan", dcgan, TANH_RANGE, False, 64, optimizers=_dcgan_optimizers),
        Recipe(
            "conditional_dcgan",
            "04_dcgan",
            conditional_dcgan,
            TANH_RANGE,
            True,
            64,
            optimizers=_dcgan_optimizers,
        ),  # fmt: skip
        Recipe("wgan_clip", "05_wgan", wgan_clip, TANH_RANGE, False, batch_size=5 * 64),
        Recipe("wgan_gp", "05_wgan", wgan_gp, TANH_RANGE, False, batch_size=5 * 64),
        Recipe("vae", "06_vae", vae, UNIT_RANGE, False, optimizer=_adam),
        Recipe("beta_vae", "06_vae", beta_vae, UNIT_RANGE, False, optimizer=_adam),
        Recipe("cvae", "06_vae", cvae, UNIT_RANGE, True, optimizer=_adam),
    ]
}


def samples_in_tanh_range(model, n: int, seed: int = 0) -> np.ndarray:
    """`n` samples of any of the book's models as images in [-1, 1] (VAEs decode to [0, 1])."""
    images = model.generate(n, seed=seed)
    if hasattr(model, "decoder"):  # a VAE: Bernoulli means in [0, 1]
        images = images * 2.0 - 1.0
    return np.asarray(images, dtype="float32")
