"""Anomaly detection: scoring how unlike the training data an image is, and the ROC-AUC.

Each score function returns one number per image, higher meaning more
anomalous:

- `vae_negative_elbo`, `vae_importance_weighted_nll`: -log p(x) bounded or
  estimated by a VAE trained on normal images (nats). A likelihood is the
  textbook detector, and it can fail: a model may give *higher* likelihood
  to simpler outliers (constant or smooth images) than to its own data
  (Nalisnick et al. 2019).
- `discriminator_score`: minus a GAN discriminator's logit, "how fake D
  thinks it is".
- `latent_search_residual`: AnoGAN's residual (Schlegl et al. 2017): search
  the generator's latent space for the image closest to x, and measure
  what it could not draw, sum |x - g(z*)|. (AnoGAN adds a discriminator
  feature term with weight 0.1; this is its residual part.)
- `max_softmax_score`: 1 - max_y p(y|x) of a classifier (Hendrycks & Gimpel
  2017), the baseline every detector must beat.

`roc_auc` summarises how well a score separates normal from anomalous
images: the probability that a random anomaly scores higher than a random
normal image (ties count one half), 0.5 for a useless score and 1 for a
perfect one. `roc_curve` draws the trade-off behind it.

The outlier sets, built from real data: `inverted` digits, `constant_images`,
`uniform_noise`, and scikit-learn's 8x8 scans of handwritten digits upscaled
to MNIST's size (`upsample_sklearn_digits`; a different scanner and writers,
the same ten digits).
"""

from __future__ import annotations

import numpy as np
from keras import ops

from gancore.applications._checks import check_integer
from gancore.applications.inpainting import project_to_range
from gancore.images import TANH_RANGE, UNIT_RANGE, check_images

MNIST_SHAPE = (28, 28, 1)

# ---- ROC -------------------------------------------------------------------------------------------------


def _check_scores(normal_scores, anomaly_scores):
    arrays = []
    for name, scores in [("normal_scores", normal_scores), ("anomaly_scores", anomaly_scores)]:
        scores = np.asarray(scores, dtype="float64")
        if scores.ndim != 1 or len(scores) == 0 or not np.isfinite(scores).all():
            raise ValueError(
                f"Expected {name} as a 1-D array of finite numbers, one per image. "
                f"Received: shape={scores.shape}"
                + (", with NaN or inf." if scores.size and not np.isfinite(scores).all() else ".")
            )
        arrays.append(scores)
    return arrays


def roc_auc(normal_scores, anomaly_scores) -> float:
    """Area under the ROC curve: P(anomaly score > normal score) + P(equal) / 2.

    Computed from ranks (the Mann-Whitney U statistic): with the two sets
    pooled and ranked 1..N (tied scores get the mean of their ranks),

        AUC = (R_a - n_a (n_a + 1) / 2) / (n_a n_n),

    where R_a is the sum of the anomalies' ranks, n_a and n_n the set sizes.

    Args:
        normal_scores: scores of normal images, (n_n,); higher = more anomalous.
        anomaly_scores: scores of anomalies, (n_a,).
    """
    normal, anomaly = _check_scores(normal_scores, anomaly_scores)
    pooled = np.concatenate([normal, anomaly])
    _, inverse, counts = np.unique(pooled, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)  # rank of the last copy of each distinct score
    ranks = (last_rank - (counts - 1) / 2.0)[inverse]  # mean rank of each tie group
    n_n, n_a = len(normal), len(anomaly)
    rank_sum = ranks[n_n:].sum()
    return float((rank_sum - n_a * (n_a + 1) / 2.0) / (n_a * n_n))


def roc_curve(normal_scores, anomaly_scores):
    """The ROC curve: false- and true-positive rates as the threshold sweeps down.

    An image is flagged as anomalous when its score is >= the threshold.
    The thresholds are the distinct scores, highest first, after `inf`
    (nothing flagged), so the curve runs from (0, 0) to (1, 1); its area by
    the trapezoid rule equals `roc_auc`.

    Returns:
        `(fpr, tpr, thresholds)`, three arrays of the same length: the share
        of normal images flagged (fpr) and of anomalies flagged (tpr) at each
        threshold.
    """
    normal, anomaly = _check_scores(normal_scores, anomaly_scores)
    thresholds = np.concatenate([[np.inf], np.unique(np.concatenate([normal, anomaly]))[::-1]])

    def flagged(scores):  # the share of `scores` >= each threshold
        below = np.searchsorted(np.sort(scores), thresholds, side="left")
        return (len(scores) - below) / len(scores)

    return flagged(normal), flagged(anomaly), thresholds


# ---- scores ----------------------------------------------------------------------------------------------


def vae_negative_elbo(vae, images, seed: int = 0) -> np.ndarray:
    """-ELBO(x) = -log p(x|z) + KL(q(z|x) || p(z)) of each image, one z each: (n,), nats.

    An upper bound on -log p(x). `seed` fixes the binarization (for a VAE
    that binarizes); z comes from the VAE's sampler.

    Args:
        vae: a trained `gancore.models.vae.VAE`.
        images: (n, height, width, channels) in [0, 1], the VAE's image shape.
    """
    reconstruction, kl = vae.elbo_terms_per_image(images, seed=seed)  # checks the images
    return reconstruction + kl


def vae_importance_weighted_nll(vae, images, samples: int = 64, seed: int = 0) -> np.ndarray:
    """-log p(x) of each image, estimated with `samples` importance samples: (n,), nats.

    The bound of Burda et al. (2016), `VAE.importance_weighted_nll` per image;
    tighter than `vae_negative_elbo` as `samples` grows.

    Args:
        vae: a trained `gancore.models.vae.VAE`.
        images: (n, height, width, channels) in [0, 1].
        samples: importance samples per image.
        seed: seed of the binarization and of the samples.
    """
    samples = check_integer("samples", samples)
    return vae.importance_weighted_nll_per_image(images, k=samples, seed=seed)


def discriminator_score(
    discriminator, images, value_range=TANH_RANGE, batch_size: int = 500
) -> np.ndarray:
    """Minus the discriminator's logit for each image, (n,): high when D calls it fake.

    Args:
        discriminator: a Keras model image -> logit (batch, 1), one input.
        images: (n, height, width, channels) in `value_range`, the range the
            GAN was trained in ([-1, 1] for gancore's GANs).
        value_range: the range `images` must lie in.
        batch_size: images per forward pass.
    """
    logits = _outputs(discriminator, images, value_range, batch_size, "discriminator")
    if logits.ndim != 2 or logits.shape[1] != 1:
        raise ValueError(
            "Expected a discriminator with one logit per image, output (batch, 1). "
            f"Received outputs of shape {logits.shape}."
        )
    return -logits[:, 0]


def max_softmax_score(classifier, images, batch_size: int = 500) -> np.ndarray:
    """1 - max_y p(y|x) for each image, (n,): high when the classifier is unsure.

    Args:
        classifier: a Keras model images in [0, 1] -> class probabilities
            (a softmax output), e.g. `gancore.evaluator.load_evaluator().model`.
        images: (n, height, width, channels) in [0, 1].
        batch_size: images per forward pass.
    """
    probabilities = _outputs(classifier, images, UNIT_RANGE, batch_size, "classifier")
    total = probabilities.sum(axis=-1) if probabilities.ndim == 2 else None
    if total is None or probabilities.min() < 0 or not np.allclose(total, 1.0, atol=1e-3):
        raise ValueError(
            "Expected a classifier that outputs class probabilities (batch, num_classes) "
            "summing to 1 (a softmax, not logits). Received outputs of shape "
            f"{probabilities.shape}, min={probabilities.min():g}."
        )
    return 1.0 - probabilities.max(axis=-1)


def _outputs(model, images, value_range, batch_size, name) -> np.ndarray:
    """`model`'s outputs on `images`, checked against its input shape, batch by batch."""
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        received = "no inputs" if not inputs else f"{len(inputs)} inputs"
        raise ValueError(
            f"Expected a {name} with one image input (an unconditional model). "
            f"Received: {received}."
        )
    shape = tuple(int(s) for s in inputs[0].shape[1:])
    images = check_images(images, value_range, shape=shape)
    batch_size = check_integer("batch_size", batch_size)
    outputs = [
        ops.convert_to_numpy(model(images[start : start + batch_size], training=False))
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs).astype("float64")


def latent_search_residual(generator, images, **kwargs) -> np.ndarray:
    """AnoGAN's residual sum |x - g(z*)| of each image, (n,), after a latent search.

    z* is found by `project_to_range` (latent search with every pixel
    visible): images the generator can draw have a residual near 0, others
    keep what it cannot draw.

    Args:
        generator: z -> images (a GAN's generator: pass
            `likelihood="gaussian"` and `value_range=(-1, 1)`) or logits (a
            VAE's decoder, the default Bernoulli likelihood).
        images: (n, height, width, channels) in the generator's range.
        **kwargs: the keyword arguments of `inpaint_latent` (`steps`,
            `learning_rate`, `restarts`, `prior_weight`, `noise_std`, ...).
    """
    images = check_images(images, kwargs.get("value_range", UNIT_RANGE))
    projected = project_to_range(generator, images, **kwargs).decoded
    return np.abs(images - projected).sum(axis=(1, 2, 3))


# ---- outlier sets -----------------------------------------------------------------------------------------


def inverted(images) -> np.ndarray:
    """1 - x: white digits on black become black digits on white. Images in [0, 1]."""
    return 1.0 - check_images(images, UNIT_RANGE)


def _check_count_and_shape(n, shape):
    n = check_integer("n", n)
    shape = tuple(shape)
    if len(shape) != 3 or any(int(s) != s or s < 1 for s in shape):
        raise ValueError(f"Expected shape=(height, width, channels). Received: shape={shape}.")
    return n, tuple(int(s) for s in shape)


def constant_images(n: int, shape=MNIST_SHAPE, seed: int = 0) -> np.ndarray:
    """`n` images of one grey level each, drawn uniformly from [0, 1]: (n, *shape).

    The simplest possible image, and a classic failure case of likelihood:
    a flat grey image is easy to "explain".
    """
    n, shape = _check_count_and_shape(n, shape)
    levels = np.random.default_rng(seed).random(n, dtype="float32")
    return np.broadcast_to(levels[:, None, None, None], (n, *shape)).copy()


def uniform_noise(n: int, shape=MNIST_SHAPE, seed: int = 0) -> np.ndarray:
    """`n` images of independent uniform pixels in [0, 1]: (n, *shape)."""
    n, shape = _check_count_and_shape(n, shape)
    return np.random.default_rng(seed).random((n, *shape), dtype="float32")


def upsample_sklearn_digits(
    n: int | None = None, image_size: int = 28, digit_size: int = 20, seed: int = 0
) -> np.ndarray:
    """scikit-learn's 8x8 digit scans, scaled up and centred like MNIST: (n, 28, 28, 1) in [0, 1].

    `sklearn.datasets.load_digits` holds 1,797 real 8x8 scans with 17 grey
    levels (0-16), shipped inside the scikit-learn wheel (no download). Each is
    scaled to [0, 1], resized bilinearly to `digit_size` pixels square, and
    centred on a black `image_size` canvas: MNIST's digits fill a 20x20 box
    in a 28x28 image, so the defaults match that layout. (`digit_size =
    image_size` fills the frame.)

    Args:
        n: how many scans, drawn without replacement with `seed`; `None`
            returns all 1,797 in their stored order.
        image_size: the output's height and width.
        digit_size: the side of the resized scan, at most `image_size`.
        seed: seed of the draw.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(
            "upsample_sklearn_digits needs scikit-learn (a gancore dependency): "
            "pip install scikit-learn"
        ) from error
    image_size = check_integer("image_size", image_size, low=8)
    digit_size = check_integer("digit_size", digit_size, low=8)
    if digit_size > image_size:
        raise ValueError(
            f"Expected digit_size <= image_size. Received: digit_size={digit_size}, "
            f"image_size={image_size}."
        )
    scans = load_digits().images.astype("float32") / 16.0  # (1797, 8, 8) in [0, 1]
    if n is not None:
        n = check_integer("n", n)
        if n > len(scans):
            raise ValueError(f"Expected n <= {len(scans)} (the scans there are). Received: n={n}.")
        scans = scans[np.random.default_rng(seed).choice(len(scans), n, replace=False)]
    resized = ops.image.resize(scans[..., None], (digit_size, digit_size), interpolation="bilinear")
    resized = np.clip(ops.convert_to_numpy(resized), 0.0, 1.0)
    canvas = np.zeros((len(scans), image_size, image_size, 1), dtype="float32")
    top = (image_size - digit_size) // 2
    canvas[:, top : top + digit_size, top : top + digit_size] = resized
    return canvas
