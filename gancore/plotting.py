"""Figures shared by every chapter: image grids, training curves, GIFs.

Every function returns the matplotlib `Figure`, so a notebook shows it inline
and can also `fig.savefig(...)` it.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from gancore.images import TANH_RANGE, to_unit_range


def image_grid(images, ncols: int | None = None, value_range=TANH_RANGE, pad: int = 1) -> np.ndarray:
    """Tiles a batch (n, h, w, c) into one image (H, W, c) in [0, 1], with `pad` pixels between."""
    images = to_unit_range(images, value_range)
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), dtype="float32")
    for i, image in enumerate(images):
        row, col = divmod(i, ncols)
        top, left = pad + row * (h + pad), pad + col * (w + pad)
        grid[top : top + h, left : left + w] = image
    return grid


def _imshow(ax, image):
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(image)
    ax.axis("off")


def show_images(
    images,
    title: str | None = None,
    ncols: int | None = None,
    value_range=TANH_RANGE,
    labels=None,
    size: float = 1.0,
):
    """Shows a batch of images as a grid, each with an optional label underneath.

    Args:
        images: (n, h, w, c) array in `value_range`.
        title: the figure's title.
        ncols: images per row (default: a square grid).
        value_range: the range of `images`, mapped to black..white.
        labels: optional list of n strings drawn under the images.
        size: inches per image.
    """
    images = np.asarray(images)
    n = len(images)
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    if labels is None:
        fig, ax = plt.subplots(figsize=(max(2.5, ncols * size * 0.6), max(2.5, nrows * size * 0.6)))
        _imshow(ax, image_grid(images, ncols, value_range))
    else:
        fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.15))
        unit = to_unit_range(images, value_range)
        for i, ax in enumerate(np.atleast_1d(axes).ravel()):
            ax.axis("off")
            if i < n:
                _imshow(ax, unit[i])
                ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(history, keys=None, title: str = "Training curves", ylabel: str = "value"):
    """Plots metrics from a Keras `History` (or its `.history` dict) against the epoch.

    `val_` curves are drawn dashed in the same colour as their training curve.
    """
    logs = getattr(history, "history", history)
    keys = keys or [k for k in logs if not k.startswith("val_")]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for key in keys:
        epochs = np.arange(1, len(logs[key]) + 1)
        (line,) = ax.plot(epochs, logs[key], marker="o", markersize=3, label=key)
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], "--", color=line.get_color(), label=f"val_{key}")
    ax.set(title=title, xlabel="epoch", ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def save_gif(frames, path, duration: float = 0.4) -> Path:
    """Writes a list of images (h, w[, c] in [0, 1]) or PNG paths to an animated GIF."""
    import imageio.v2 as imageio

    path = Path(path)
    pictures = []
    for frame in frames:
        if isinstance(frame, (str, Path)):
            frame = imageio.imread(frame)
        else:
            frame = np.asarray(frame)
            frame = (np.clip(frame, 0, 1) * 255).astype("uint8")
            if frame.ndim == 3 and frame.shape[-1] == 1:
                frame = frame[..., 0]
        pictures.append(frame)
    imageio.mimsave(path, pictures, duration=duration, loop=0)
    return path


def show_gif(path):
    """Displays a GIF inline (embedded, so the rendered book shows it too)."""
    from IPython.display import Image

    return Image(data=Path(path).read_bytes(), format="gif")
