"""Using a trained generative model on images it did not make, one module per application.

- `inpainting`: masks, and filling hidden pixels by searching a decoder's
  latent space (`inpaint_latent`, `LatentSearch`); with nothing hidden, the
  projection onto the decoder's range (`project_to_range`).
- `resampling`: block-average `downsample` and interpolating `upsample`,
  the baseline of super-resolution (`gancore.models.super_resolution`).
- `denoising`: Gaussian and salt-and-pepper noise, the median filter and
  Gaussian blur, a denoising autoencoder, and a decoder as the prior.
- `anomaly`: anomaly scores (VAE likelihood, discriminator, AnoGAN residual,
  classifier confidence), outlier sets, and the ROC-AUC.
- `fidelity`: `psnr`, the yardstick of every restored image.

All functions take NumPy images of shape (batch, height, width, channels) and
raise a `ValueError` saying what was expected on anything else. The names
below are importable from `gancore.applications` itself:

    from gancore import applications
    masked, mask = applications.mask_half(images, "bottom")
"""

from gancore.applications.anomaly import (
    constant_images,
    discriminator_score,
    inverted,
    latent_search_residual,
    max_softmax_score,
    roc_auc,
    roc_curve,
    uniform_noise,
    upsample_sklearn_digits,
    vae_importance_weighted_nll,
    vae_negative_elbo,
)
from gancore.applications.denoising import (
    NoisyPairs,
    add_gaussian_noise,
    add_salt_and_pepper,
    denoise_with_prior,
    denoising_autoencoder,
    gaussian_blur,
    median_filter,
)
from gancore.applications.fidelity import psnr
from gancore.applications.inpainting import (
    LIKELIHOODS,
    SIDES,
    Inpainting,
    LatentSearch,
    half_mask,
    inpaint_latent,
    mask_half,
    masked_objective,
    merge_visible,
    project_to_range,
)
from gancore.applications.resampling import INTERPOLATIONS, downsample, upsample

__all__ = [
    "INTERPOLATIONS",
    "LIKELIHOODS",
    "SIDES",
    "Inpainting",
    "LatentSearch",
    "NoisyPairs",
    "add_gaussian_noise",
    "add_salt_and_pepper",
    "constant_images",
    "denoise_with_prior",
    "denoising_autoencoder",
    "discriminator_score",
    "downsample",
    "gaussian_blur",
    "half_mask",
    "inpaint_latent",
    "inverted",
    "latent_search_residual",
    "mask_half",
    "masked_objective",
    "max_softmax_score",
    "median_filter",
    "merge_visible",
    "project_to_range",
    "psnr",
    "roc_auc",
    "roc_curve",
    "uniform_noise",
    "upsample",
    "upsample_sklearn_digits",
    "vae_importance_weighted_nll",
    "vae_negative_elbo",
]
