"""2-D toy distributions for watching a GAN learn (chapter 3).

A ring of Gaussians is the classic picture of mode collapse: the data has
`n_modes` well-separated clusters, and a collapsed generator covers only a few
of them. `mode_coverage` counts which modes the samples reach and how many
samples land far from every mode.
"""

from __future__ import annotations

import dataclasses

import numpy as np


def ring_centers(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """(n_modes, 2) centres spaced evenly on a circle."""
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1).astype("float32")


def ring_of_gaussians(
    n: int, n_modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0
) -> np.ndarray:
    """`n` points (n, 2) from an equal mixture of Gaussians on a ring."""
    rng = np.random.default_rng(seed)
    centers = ring_centers(n_modes, radius)
    which = rng.integers(0, n_modes, size=n)
    return (centers[which] + std * rng.standard_normal((n, 2))).astype("float32")


@dataclasses.dataclass
class ModeCoverage:
    """How samples spread over the modes of a ring."""

    counts: np.ndarray  # samples per mode (within `threshold` of its centre)
    high_quality: float  # fraction of samples within `threshold` of some mode
    modes_covered: int  # modes holding at least `min_share` of the samples

    def __str__(self) -> str:
        return (
            f"{self.modes_covered}/{len(self.counts)} modes covered, "
            f"{self.high_quality:.0%} of samples near a mode"
        )


def mode_coverage(
    samples,
    n_modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    threshold_stds: float = 3.0,
    min_share: float | None = None,
) -> ModeCoverage:
    """Counts the modes a set of 2-D samples covers.

    A sample belongs to the nearest mode if it lies within `threshold_stds`
    standard deviations of its centre (the "high quality" samples of Metz et
    al., 2017). A mode counts as covered when it holds at least `min_share` of
    the samples (default: a quarter of the fair share `1 / n_modes`).
    """
    samples = np.asarray(samples, dtype="float32")
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"Expected 2-D points of shape (n, 2). Received: shape={samples.shape}.")
    centers = ring_centers(n_modes, radius)
    distances = np.linalg.norm(samples[:, None, :] - centers[None], axis=-1)  # (n, n_modes)
    nearest = distances.argmin(axis=1)
    close = distances.min(axis=1) <= threshold_stds * std
    counts = np.bincount(nearest[close], minlength=n_modes)
    min_share = 0.25 / n_modes if min_share is None else min_share
    covered = int((counts >= min_share * len(samples)).sum())
    return ModeCoverage(counts=counts, high_quality=float(close.mean()), modes_covered=covered)
