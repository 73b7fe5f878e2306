"""Paths between latent vectors: straight (`lerp`) and along the sphere (`slerp`).

A Gaussian $z$ of many dimensions lies near a sphere of radius $\\sqrt{d}$;
the straight line between two such vectors dips inside it, where the
generator saw no training input, and the great circle {cite}`shoemake1985animating`
stays on it. A mapped style $w$ has no such shape, so paths in $w$ are straight
{cite}`karras2019style`. `path_pairs` gives the two ends of short steps along
either path, for the perceptual path length (`gancore.metrics.path_length`).
"""

from __future__ import annotations

import numpy as np


def _rows(a, b, t):
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(
            f"Expected two arrays of latent vectors of one shape (n, dim). "
            f"Received: {a.shape} and {b.shape}."
        )
    t = np.asarray(t, "float64").reshape(-1, 1)
    if len(t) not in (1, len(a)):
        raise ValueError(f"Expected one t, or one per row ({len(a)}). Received: {len(t)}.")
    return a, b, t


def lerp(a, b, t) -> np.ndarray:
    """Points $(1 - t) a + t b$ on the straight lines from rows of `a` to rows of `b`."""
    a, b, t = _rows(a, b, t)
    return ((1 - t) * a + t * b).astype("float32")


def slerp(a, b, t) -> np.ndarray:
    """Points at fraction `t` of the angle from rows of `a` to rows of `b`, on the great circle.

    The norm moves linearly from $|a|$ to $|b|$; parallel rows fall back to `lerp`.
    """
    a, b, t = _rows(a, b, t)
    norm_a = np.linalg.norm(a, axis=1, keepdims=True)
    norm_b = np.linalg.norm(b, axis=1, keepdims=True)
    if np.any(norm_a == 0) or np.any(norm_b == 0):
        raise ValueError("slerp needs non-zero vectors: the angle to a zero vector is undefined.")
    cos = np.clip(np.sum(a * b, axis=1, keepdims=True) / (norm_a * norm_b), -1.0, 1.0)
    angle = np.arccos(cos)
    sin = np.sin(angle)
    safe = np.where(sin < 1e-8, 1.0, sin)
    direction = (np.sin((1 - t) * angle) * a / norm_a + np.sin(t * angle) * b / norm_b) / safe
    on_sphere = direction * ((1 - t) * norm_a + t * norm_b)
    return np.where(sin < 1e-8, (1 - t) * a + t * b, on_sphere).astype("float32")


def path_pairs(a, b, t, epsilon: float, spherical: bool):
    """The points at `t` and at `t + epsilon` on the paths from rows of `a` to rows of `b`.

    Args:
        a, b: (n, dim) start and end of each path.
        t: (n,) positions in [0, 1 - epsilon].
        epsilon: the length of the step, as a fraction of the path.
        spherical: `slerp` (for Gaussian $z$) or `lerp` (for styles $w$).
    """
    if not epsilon > 0:
        raise ValueError(f"Expected a positive step epsilon. Received: {epsilon}.")
    t = np.asarray(t, "float64")
    if np.any(t < 0) or np.any(t + epsilon > 1):
        raise ValueError("Expected every t in [0, 1 - epsilon], so that both ends lie on the path.")
    path = slerp if spherical else lerp
    return path(a, b, t), path(a, b, t + epsilon)
