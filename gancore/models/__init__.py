"""Model families, one per module (classifier, gan, wgan, vae, stylegan, ...) and their network builders.

Importing `gancore.models` registers every model class with Keras, which
`keras.models.load_model` needs to rebuild a saved `.keras` file of a
subclassed model (a fresh process must import it first).
"""

# Imported for their registration with Keras (GAN, ConditionalGAN, VAE, ConditionalVAE, WGAN,
# SelfAttention, SpectralNormalization, SuperResolutionGAN, ProgressiveGAN, StyleGAN).
from gancore.models import (  # noqa: F401
    attention,
    gan,
    progressive,
    spectral,
    stylegan,
    super_resolution,
    vae,
    wgan,
)
