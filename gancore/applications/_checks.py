"""Input checks shared by the application modules (each raises a `ValueError` that teaches)."""

from __future__ import annotations

import numpy as np


def check_mask(mask, images) -> np.ndarray:
    """`mask` as float32 after checking it is 0/1 and shaped like `images`."""
    mask = np.asarray(mask, dtype="float32")
    if mask.shape != images.shape:
        raise ValueError(
            f"Expected a mask of the images' shape {images.shape}. Received: shape={mask.shape}."
        )
    if not np.isin(mask, (0.0, 1.0)).all():
        raise ValueError(
            "Expected a mask of 0 (hidden) and 1 (visible) values. "
            f"Received values {np.unique(mask)[:5]} ..."
        )
    return mask


def check_integer(name: str, value, low: int = 1) -> int:
    """`value` as an int after checking it is a whole number >= `low`."""
    if isinstance(value, bool) or not np.isscalar(value) or int(value) != value or value < low:
        raise ValueError(f"Expected {name} >= {low} (an integer). Received: {name}={value}.")
    return int(value)


def check_fraction(name: str, value, low: float = 0.0, high: float = 1.0) -> float:
    """`value` as a float after checking `low <= value <= high`."""
    if not np.isscalar(value) or not low <= value <= high:
        raise ValueError(f"Expected {low:g} <= {name} <= {high:g}. Received: {name}={value}.")
    return float(value)


def check_nonnegative(name: str, value, label: str | None = None, unit: str = "") -> float:
    """`value` as a float after checking it is a number >= 0 (NaN fails).

    `label` names it in words in the message, `unit` follows the bound (e.g. " (pixels)").
    """
    if not np.isscalar(value) or not value >= 0:
        raise ValueError(f"Expected {label or name} >= 0{unit}. Received: {name}={value}.")
    return float(value)
