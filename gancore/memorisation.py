"""Does a generator copy its training set? Nearest training images of its samples.

A generator that memorises would produce samples much closer to some training
image than new real digits are. `nearest_training_images` finds, for each
image, its nearest training image (Euclidean distance in pixel space), so the
distances of generated samples can be compared with those of real test digits,
which no model has seen.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gancore.images import TANH_RANGE, check_images


@dataclasses.dataclass
class Neighbours:
    """The nearest training image of each query image."""

    distances: np.ndarray  # (n,) Euclidean distance in pixel space
    indices: np.ndarray  # (n,) index into the training set


def nearest_training_images(images, train, batch_size: int = 256) -> Neighbours:
    """For each image, the nearest image of `train` and its distance.

    Args:
        images: (n, h, w, c) queries in [-1, 1].
        train: (m, h, w, c) training images in [-1, 1], same shape.
        batch_size: queries per chunk (memory is batch_size x m floats).
    """
    images = check_images(images, TANH_RANGE, name="query images")
    train = check_images(train, TANH_RANGE, shape=images.shape[1:], name="training images")
    flat_train = train.reshape(len(train), -1).astype(
        "float64"
    )  # float64: |q|^2 - 2q.t + |t|^2 cancels
    train_sq = np.sum(flat_train**2, axis=1)  # (m,)
    distances, indices = [], []
    for start in range(0, len(images), batch_size):
        q = images[start : start + batch_size].reshape(-1, flat_train.shape[1]).astype("float64")
        # |q - t|^2 = |q|^2 - 2 q.t + |t|^2, for every pair at once: (batch, m)
        sq = np.sum(q**2, axis=1, keepdims=True) - 2.0 * q @ flat_train.T + train_sq[None]
        best = np.argmin(sq, axis=1)
        indices.append(best)
        distances.append(np.sqrt(np.maximum(sq[np.arange(len(q)), best], 0.0)))
    return Neighbours(distances=np.concatenate(distances), indices=np.concatenate(indices))
