"""How close a restored image is to the truth: the peak signal-to-noise ratio (PSNR).

Inpainting, super-resolution and denoising all produce an estimate of an
image we know; PSNR is the yardstick the papers report for all three:

    PSNR = 10 log10(data_range^2 / MSE)   (dB; higher is better, +6 dB halves the RMS error)
"""

from __future__ import annotations

import numpy as np

from gancore.applications._checks import check_mask


def psnr(reference, estimate, data_range: float = 1.0, mask=None) -> np.ndarray:
    """Peak signal-to-noise ratio of each image, in dB: 10 log10(data_range^2 / MSE).

    Args:
        reference: the true images, (n, height, width, channels).
        estimate: the images to score, same shape.
        data_range: max - min of the value range (1 for [0, 1], 2 for [-1, 1]).
        mask: optional 0/1 array of the same shape; the MSE is then taken
            over the pixels where it is 1 only (e.g. the hidden half).

    Returns:
        Shape (n,): one PSNR per image (`inf` where the two agree exactly).
        Papers usually report the mean over images.
    """
    reference = np.asarray(reference, dtype="float64")
    estimate = np.asarray(estimate, dtype="float64")
    if reference.ndim != 4 or reference.shape != estimate.shape:
        raise ValueError(
            "Expected two batches of images of the same shape (n, height, width, channels). "
            f"Received: shapes {reference.shape} and {estimate.shape}."
        )
    if not data_range > 0:
        raise ValueError(f"Expected data_range > 0. Received: data_range={data_range}.")
    weight = np.ones_like(reference) if mask is None else check_mask(mask, reference)
    counts = weight.sum(axis=(1, 2, 3))
    if (counts == 0).any():
        raise ValueError("Expected a mask with at least one pixel set in every image.")
    mse = (weight * (reference - estimate) ** 2).sum(axis=(1, 2, 3)) / counts
    with np.errstate(divide="ignore"):  # identical images: inf dB, not a warning
        return 10.0 * np.log10(data_range**2 / mse)
