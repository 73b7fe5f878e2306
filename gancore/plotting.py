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


def image_grid(
    images, ncols: int | None = None, value_range=TANH_RANGE, pad: int = 1
) -> np.ndarray:
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
        # Room above each image for its label: about a quarter of an image per line of text.
        lines = max(str(label).count("\n") + 1 for label in labels)
        row_height = size * (1.0 + 0.25 * lines)
        fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * row_height))
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


def show_arrays(
    arrays,
    titles=None,
    title: str | None = None,
    cmap: str = "gray",
    symmetric: bool = False,
    colorbar_label: str | None = None,
    size: float = 2.4,
):
    """Shows 2-D arrays (possibly of different sizes) side by side, with pixel axes.

    Args:
        arrays: a list of (h, w) arrays, e.g. an image and its pooled versions.
        titles: one string per array (its size goes on a second line).
        title: the figure's title.
        cmap: matplotlib colormap.
        symmetric: centre the colour scale on 0 (for signed values).
        colorbar_label: draw one colorbar per panel with this label.
        size: inches per panel.
    """
    from matplotlib.ticker import MaxNLocator

    arrays = [np.asarray(a) for a in arrays]
    width = (size + (0.9 if colorbar_label else 0.0)) * len(arrays)
    fig, axes = plt.subplots(1, len(arrays), figsize=(width, size + 0.7), layout="constrained")
    for i, (ax, array) in enumerate(zip(np.atleast_1d(axes), arrays, strict=True)):
        limit = float(np.abs(array).max()) or 1.0
        scale = {"vmin": -limit, "vmax": limit} if symmetric else {}
        image = ax.imshow(array, cmap=cmap, **scale)
        size_text = f"{array.shape[0]}x{array.shape[1]}"
        ax.set_title(f"{titles[i]}\n{size_text}" if titles is not None else size_text, fontsize=9)
        ax.set_xlabel("column", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if i == 0:
            ax.set_ylabel("row", fontsize=8)
        if colorbar_label:
            fig.colorbar(image, ax=ax, shrink=0.8).set_label(colorbar_label, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def show_filters_and_maps(
    kernel,
    feature_maps=None,
    titles=None,
    title: str | None = None,
    channel: int = 0,
    annotate: bool = False,
    size: float = 1.5,
):
    """Draws the filters of a conv layer and, under each, the feature map it produces.

    Weights and activations use a red (positive) / blue (negative) scale centred
    on 0, shared by all filters and by all maps, so panels compare directly.

    Args:
        kernel: (kh, kw, c_in, c_out) weights, as in `Conv2D.kernel`.
        feature_maps: optional (h, w, c_out) or (1, h, w, c_out) outputs.
        titles: one string per filter.
        title: the figure's title.
        channel: which input channel of the kernel to draw.
        annotate: write each weight in its cell (for small hand-made filters).
        size: inches per panel.
    """
    kernel = np.asarray(kernel, dtype="float32")
    if kernel.ndim != 4:
        raise ValueError(
            f"Expected a kernel of shape (kh, kw, c_in, c_out). Received: shape={kernel.shape}."
        )
    filters = kernel[:, :, channel, :]  # (kh, kw, c_out)
    n = filters.shape[-1]
    rows = [("weight", filters)]
    if feature_maps is not None:
        maps = np.asarray(feature_maps, dtype="float32")
        maps = maps[0] if maps.ndim == 4 else maps
        if maps.ndim != 3 or maps.shape[-1] != n:
            raise ValueError(
                f"Expected feature maps of shape (h, w, {n}) for {n} filters. "
                f"Received: shape={np.shape(feature_maps)}."
            )
        rows.append(("activation", maps))
    fig, axes = plt.subplots(
        len(rows), n, figsize=(n * size + 1.2, len(rows) * size + 0.6),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    for r, (label, values) in enumerate(rows):
        limit = float(np.abs(values).max()) or 1.0
        for i, ax in enumerate(axes[r]):
            image = ax.imshow(values[..., i], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_xticks([])
            ax.set_yticks([])
            if annotate and r == 0:
                for (y, x), w in np.ndenumerate(values[..., i]):
                    ax.text(x, y, f"{w:.2g}", ha="center", va="center", fontsize=7)
        axes[r, 0].set_ylabel("filter" if r == 0 else "feature map")
        fig.colorbar(image, ax=axes[r].tolist(), shrink=0.85).set_label(label)
    for i, ax in enumerate(axes[0]):
        ax.set_title(titles[i] if titles is not None else f"filter {i}", fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def plot_latent_space(z, labels, class_names=None, title: str = "Latent space", size: float = 5.0):
    """Scatter of 2-D latent codes (n, 2), one colour per class, e.g. a test set's encoder means.

    Args:
        z: (n, 2) codes; only the first two coordinates are drawn.
        labels: (n,) integer classes, used for the colours and the legend.
        class_names: names of the classes for the legend (default: the integers).
        title: the figure's title.
        size: inches per side.
    """
    z, labels = np.asarray(z), np.asarray(labels).reshape(-1)
    classes = np.unique(labels)
    colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    for i, c in enumerate(classes):
        chosen = labels == c
        name = class_names[c] if class_names is not None else str(c)
        ax.scatter(*z[chosen, :2].T, s=3, alpha=0.6, color=colours(i), label=name, rasterized=True)
    ax.set(title=title, xlabel="$z_1$", ylabel="$z_2$", aspect="equal")
    ax.grid(alpha=0.3)
    ax.legend(title="class", markerscale=4, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def show_latent_grid(
    decode, n: int = 15, limit: float = 2.0, title: str = "Decoded latent grid", size: float = 5.0
):
    """Decodes an n x n grid of 2-D codes in [-limit, limit]^2 and shows it with z axes.

    Args:
        decode: a function (m, 2) codes -> (m, h, w, c) images in [0, 1],
            e.g. a VAE's `decode`.
        n: points per axis.
        limit: the grid spans [-limit, limit] on both axes (the prior's
            +-2 standard deviations by default).
        title: the figure's title.
        size: inches per side.
    """
    values = np.linspace(-limit, limit, n, dtype="float32")
    z1, z2 = np.meshgrid(values, values[::-1])  # rows from top (z2 = +limit) to bottom
    images = np.asarray(decode(np.stack([z1.ravel(), z2.ravel()], axis=1)))
    grid = image_grid(images, ncols=n, value_range=(0.0, 1.0), pad=0)
    fig, ax = plt.subplots(figsize=(size, size))
    half = limit / (n - 1)  # each image is centred on its code
    extent = (-limit - half, limit + half, -limit - half, limit + half)
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", extent=extent)
    ax.set(title=title, xlabel="$z_1$", ylabel="$z_2$")
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    labels, predicted, class_names=None, title: str = "Confusion matrix", size: float = 5.5
):
    """Counts of (true class, predicted class) pairs; off-diagonal cells are the mistakes.

    Args:
        labels: (n,) true integer classes.
        predicted: (n,) predicted integer classes.
        class_names: tick labels (default: the class numbers).
        title: the figure's title.
        size: inches per side.
    """
    labels, predicted = np.asarray(labels).reshape(-1), np.asarray(predicted).reshape(-1)
    k = len(class_names) if class_names is not None else int(max(labels.max(), predicted.max())) + 1
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (labels, predicted), 1)
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    fig, ax = plt.subplots(figsize=(size, size))
    # Log colour scale: the diagonal holds ~1000s, the mistakes single digits.
    ax.imshow(np.log1p(counts), cmap="Blues")
    for (i, j), count in np.ndenumerate(counts):
        if count:
            light = np.log1p(count) > 0.6 * np.log1p(counts.max())
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                    color="white" if light else "black")  # fmt: skip
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    ax.set_yticks(range(k), names)
    ax.set(title=title, xlabel="predicted class", ylabel="true class")
    fig.tight_layout()
    return fig


def show_filters(kernel, title: str = "First-layer filters", ncols: int = 8, size: float = 0.9):
    """Shows convolution filters, kernel shape (kh, kw, in_channels, filters).

    Single-channel filters are drawn in a diverging colour map (red positive,
    blue negative, white zero, one scale for all); RGB filters are each
    stretched to [0, 1] and drawn in colour.
    """
    kernel = np.asarray(kernel)
    n = kernel.shape[-1]
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size + 0.5))
    limit = np.abs(kernel).max()
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i >= n:
            continue
        w = kernel[..., i]  # (kh, kw, in_channels)
        if w.shape[-1] == 1:
            ax.imshow(w[..., 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
        else:
            ax.imshow((w - w.min()) / (w.max() - w.min() + 1e-12))
    fig.suptitle(title)
    fig.tight_layout()
    return fig
