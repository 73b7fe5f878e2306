"""Changing an image's resolution the classical way: block averaging and interpolation.

`downsample` averages blocks of pixels (how a low-resolution sensor sees a
scene) and `upsample` is the classical interpolation baseline that a learned
super-resolution network (`gancore.models.super_resolution`) has to beat;
`gancore.applications.psnr` scores both.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from gancore.applications._checks import check_integer
from gancore.images import UNIT_RANGE, check_images

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


def downsample(images, factor: int = 2) -> np.ndarray:
    """Averages `factor` x `factor` blocks: (n, h, w, c) -> (n, h / factor, w / factor, c).

    A box filter, i.e. each low-resolution pixel is the mean light that fell
    on its block; height and width must be multiples of `factor`.
    """
    images = check_images(images, value_range=None)
    factor = check_integer("factor", factor)
    n, height, width, channels = images.shape
    if height % factor or width % factor:
        raise ValueError(
            f"Expected height and width divisible by factor={factor}. "
            f"Received: shape={images.shape}."
        )
    blocks = images.reshape(n, height // factor, factor, width // factor, factor, channels)
    return blocks.mean(axis=(2, 4)).astype("float32")


def upsample(
    images, factor: int = 2, method: str = "bicubic", value_range=UNIT_RANGE
) -> np.ndarray:
    """Classical interpolation to `factor` times the size, clipped to `value_range`.

    Args:
        images: (n, h, w, c) in `value_range`.
        factor: the scale factor.
        method: "nearest" (copy each pixel into a block), "bilinear" or
            "bicubic" (Keys' cubic convolution, the usual baseline; on the
            PyTorch backend Keras uses PyTorch's own cubic kernel instead).
        value_range: clip to this range: bicubic overshoots at sharp edges.
    """
    if method not in INTERPOLATIONS:
        raise ValueError(f"Expected method in {INTERPOLATIONS}. Received: method={method!r}.")
    factor = check_integer("factor", factor)
    images = check_images(images, value_range)
    size = (images.shape[1] * factor, images.shape[2] * factor)
    resized = ops.convert_to_numpy(ops.image.resize(images, size, interpolation=method))
    return np.clip(resized, *value_range).astype("float32")
