"""Image value ranges and the checks that turn a wrong input into a clear error.

Generators with a `tanh` output work in `[-1, 1]`; classifiers and VAEs with a
sigmoid output work in `[0, 1]`. Every array that enters a model or a metric
goes through `check_images`, so a wrong shape or range fails loudly instead of
training on garbage.
"""

from __future__ import annotations

import numpy as np

TANH_RANGE = (-1.0, 1.0)
UNIT_RANGE = (0.0, 1.0)


def scale_images(x, value_range=TANH_RANGE) -> np.ndarray:
    """uint8 images in [0, 255] -> float32 NHWC in `value_range`.

    A grayscale batch of shape (n, h, w) gains a channel axis: (n, h, w, 1).
    """
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise ValueError(f"Expected uint8 images in [0, 255]. Received: dtype={x.dtype}.")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(
            f"Expected images of shape (n, height, width) or (n, height, width, channels). "
            f"Received: shape={x.shape}."
        )
    low, high = value_range
    return (x.astype("float32") / 255.0 * (high - low) + low).astype("float32")


def to_unit_range(x, value_range=TANH_RANGE) -> np.ndarray:
    """Maps float images from `value_range` to [0, 1] (clipped), e.g. for plotting."""
    low, high = value_range
    return np.clip((np.asarray(x, dtype="float32") - low) / (high - low), 0.0, 1.0)


def check_images(x, value_range=TANH_RANGE, shape=None, name: str = "images", tol=1e-3):
    """Raises a `ValueError` that says what was expected unless `x` is a batch of images.

    Args:
        x: the array to check, shape (batch, height, width, channels).
        value_range: the (low, high) that every value must lie in, or `None`
            to skip the range check.
        shape: the expected (height, width, channels), or `None` for any.
        name: what the array is, for the message.
        tol: slack for float round-off at the range's ends.

    Returns:
        `x` as a NumPy float32 array.
    """
    x = np.asarray(x)
    want_shape = (
        f"(batch, {', '.join(map(str, shape))})" if shape else "(batch, height, width, channels)"
    )
    want_range = f" in [{value_range[0]:g}, {value_range[1]:g}]" if value_range else ""
    expected = f"Expected {name}{want_range} with shape {want_shape}."
    received = f"Received: shape={x.shape}, dtype={x.dtype}"
    if x.size and np.issubdtype(x.dtype, np.number):
        received += f", min={x.min():g}, max={x.max():g}"
    bad_shape = x.ndim != 4 or (shape is not None and tuple(x.shape[1:]) != tuple(shape))
    if bad_shape or not np.issubdtype(x.dtype, np.number) or x.size == 0:
        raise ValueError(f"{expected} {received}.")
    x = x.astype("float32")
    if not np.isfinite(x).all():
        raise ValueError(f"{expected} {received} (contains NaN or inf).")
    if value_range and (x.min() < value_range[0] - tol or x.max() > value_range[1] + tol):
        raise ValueError(f"{expected} {received}.")
    return x
