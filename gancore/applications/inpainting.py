"""Inpainting: filling hidden pixels from a trained generative model (Yeh et al. 2017).

A decoder $g$ (a VAE's decoder or a GAN's generator) maps a code $z$ to an
image. Given an image $x$ whose pixels are visible only where the mask $m$
is 1, we look for the code whose image agrees with the visible pixels and is
likely under the prior $p(z) = \\mathcal{N}(0, I)$:

    z* = argmin_z  D(m * x, m * g(z)) + prior_weight * ||z||^2 / 2

and fill the hidden pixels from $g(z^*)$. With a Bernoulli decoder and
`prior_weight = 1` this is the MAP estimate of $z$ given the visible pixels
($D$ is the negative log-likelihood of the visible pixels); with a Gaussian
"likelihood" of standard deviation `noise_std` it is the squared-error
version used for GAN generators, which have no likelihood of their own.

With every pixel visible ($m = 1$) the same search finds the image in the
decoder's range closest to $x$ (`project_to_range`): a denoiser with the
model as prior (`gancore.applications.denoising`) and the AnoGAN anomaly
score (`gancore.applications.anomaly`).

The only backend-specific step (the gradient) goes through
`gancore.gradients.minimize`.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

from gancore.applications._checks import check_integer, check_mask
from gancore.gradients import StatelessTrainStep, minimize
from gancore.images import UNIT_RANGE, check_images

SIDES = ("bottom", "top", "left", "right")
LIKELIHOODS = ("bernoulli", "gaussian")


# ---- masks -------------------------------------------------------------------------------------


def half_mask(image_shape, side: str = "bottom") -> np.ndarray:
    """A mask of shape `image_shape` (height, width, channels): 1 = visible, 0 = hidden.

    Args:
        image_shape: (height, width, channels); the hidden side is
            `height // 2` rows or `width // 2` columns.
        side: which half is hidden: "bottom", "top", "left" or "right".
    """
    if side not in SIDES:
        raise ValueError(f"Expected side in {SIDES}. Received: side={side!r}.")
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"Expected image_shape=(height, width, channels). Received: image_shape={image_shape}."
        )
    height, width, _ = shape
    mask = np.ones(shape, dtype="float32")
    if side == "bottom":
        mask[height - height // 2 :] = 0.0
    elif side == "top":
        mask[: height // 2] = 0.0
    elif side == "right":
        mask[:, width - width // 2 :] = 0.0
    else:
        mask[:, : width // 2] = 0.0
    return mask


def mask_half(images, side: str = "bottom", fill: float = 0.0, value_range=UNIT_RANGE):
    """Hides one half of every image.

    Args:
        images: (n, height, width, channels) in `value_range`.
        side: the hidden half, as for `half_mask`.
        fill: the value written into hidden pixels (0 is the black
            background of [0, 1] MNIST; use -1 for images in [-1, 1]).
        value_range: the range `images` must lie in.

    Returns:
        `(masked, mask)`: the images with the hidden half set to `fill`,
        and the mask, shape (n, height, width, channels), 1 where visible.
    """
    images = check_images(images, value_range)
    mask = np.broadcast_to(half_mask(images.shape[1:], side), images.shape).copy()
    return merge_visible(images, mask, np.full_like(images, fill)), mask


def merge_visible(images, mask, completion) -> np.ndarray:
    """Visible pixels from `images`, hidden ones from `completion`: m * x + (1 - m) * c."""
    images = np.asarray(images, dtype="float32")
    completion = np.asarray(completion, dtype="float32")
    if completion.shape != images.shape:
        raise ValueError(
            f"Expected a completion of the images' shape {images.shape}. "
            f"Received: shape={completion.shape}."
        )
    mask = check_mask(mask, images)
    return mask * images + (1.0 - mask) * completion


# ---- inpainting by latent optimisation ------------------------------------------------------------


@dataclasses.dataclass
class Inpainting:
    """The result of `inpaint_latent`.

    Attributes:
        z: the optimised codes, (n, latent_dim).
        decoded: the decoder's whole image for each code, in the images' range.
        filled: visible pixels of the input, hidden ones from `decoded`.
        objective: the mean objective per code, evaluated at each step
            before its update, (steps,).
        masked_loss: its data term alone (the misfit of the visible pixels), (steps,).
        final_objective: the objective of each image's kept code after the
            last step, (n,).
    """

    z: np.ndarray
    decoded: np.ndarray
    filled: np.ndarray
    objective: np.ndarray
    masked_loss: np.ndarray
    final_objective: np.ndarray


def _latent_dim(decoder) -> int:
    inputs = getattr(decoder, "inputs", None)
    if not inputs or len(inputs) != 1 or len(inputs[0].shape) != 2:
        received = "no inputs" if not inputs else [tuple(i.shape) for i in inputs]
        raise ValueError(
            "Expected a decoder with one input z of shape (batch, latent_dim), e.g. a VAE's "
            f"decoder or a GAN's generator. Received inputs: {received}."
        )
    return int(inputs[0].shape[-1])


def masked_objective(
    decoder, z, images, mask, likelihood="bernoulli", noise_std=0.1, prior_weight=1.0
):
    """The objective of `inpaint_latent` for each code: (objective, data term), shapes (n,).

    Args:
        decoder: z -> logits ("bernoulli") or images ("gaussian").
        z: codes (n, latent_dim), a tensor or variable.
        images: the targets (n, height, width, channels); only visible pixels count.
        mask: 1 where a pixel is visible, 0 where hidden.
        likelihood, noise_std, prior_weight: as for `inpaint_latent`.
    """
    images = ops.convert_to_tensor(images, "float32")
    mask = ops.convert_to_tensor(mask, "float32")
    output = decoder(z, training=False)  # (n, h, w, c)
    if likelihood == "bernoulli":  # output = logits l; -log p(x | l) = softplus(l) - x * l
        misfit = ops.softplus(output) - images * output
    else:  # -log N(x | g(z), noise_std^2), up to a constant
        misfit = ops.square(images - output) / (2.0 * noise_std**2)
    data = ops.sum(mask * misfit, axis=(1, 2, 3))  # hidden pixels count 0
    prior = 0.5 * ops.sum(ops.square(z), axis=1)  # -log N(z | 0, I), up to a constant
    return data + prior_weight * prior, data


def inpaint_latent(
    decoder,
    images,
    mask,
    *,
    likelihood: str = "bernoulli",
    noise_std: float = 0.1,
    prior_weight: float = 1.0,
    steps: int = 200,
    learning_rate: float = 0.05,
    init=None,
    restarts: int = 1,
    seed: int = 0,
    value_range=UNIT_RANGE,
) -> Inpainting:
    """Fills the hidden pixels of `images` by optimising the code z of a trained decoder.

    Every image gets `restarts` codes, optimised together with Adam for
    `steps` steps on

        D(visible pixels of x, visible pixels of g(z)) + prior_weight * ||z||^2 / 2,

    and keeps the one with the lowest final objective.

    Args:
        decoder: a Keras model z (batch, latent_dim) -> (batch, *image_shape),
            called with `training=False` (BatchNorm in inference mode).
        images: (n, height, width, channels) in `value_range`; hidden pixels
            may hold anything, they are never looked at.
        mask: 0/1 array of the images' shape, 1 where a pixel is visible.
        likelihood: "bernoulli": the decoder returns per-pixel logits (a VAE
            decoder) and D is the binary cross-entropy of the visible pixels;
            images must be in [0, 1]. "gaussian": the decoder returns images
            in `value_range` (a GAN generator) and D is their squared error
            divided by 2 * noise_std**2.
        noise_std: the Gaussian likelihood's standard deviation: smaller
            trusts the pixels more relative to the prior.
        prior_weight: weight of the N(0, I) prior term; 0 fits the pixels only.
        steps: Adam steps.
        learning_rate: Adam's step size.
        init: optional starting codes (n, latent_dim), e.g. the VAE encoder's
            mean; used for the first restart (the others start from N(0, I)).
        restarts: codes tried per image.
        seed: seed of the random starting codes.
        value_range: the range of `images` (and of a Gaussian decoder's output).

    Returns:
        An `Inpainting` with the best code of each image and the loss curves
        (means over the images of the objective of the code being optimised,
        all restarts included).
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"Expected likelihood in {LIKELIHOODS}. Received: {likelihood!r}.")
    if likelihood == "bernoulli" and tuple(value_range) != UNIT_RANGE:
        raise ValueError(
            "The Bernoulli likelihood needs images in [0, 1]. "
            f"Received: value_range={tuple(value_range)}."
        )
    steps, restarts = check_integer("steps", steps), check_integer("restarts", restarts)
    if not (noise_std > 0 and prior_weight >= 0 and learning_rate > 0):
        raise ValueError(
            "Expected noise_std > 0, prior_weight >= 0 and learning_rate > 0. Received: "
            f"noise_std={noise_std}, prior_weight={prior_weight}, learning_rate={learning_rate}."
        )
    latent_dim = _latent_dim(decoder)
    images = check_images(images, value_range)
    mask = check_mask(mask, images)
    expected = tuple(int(s) for s in decoder.outputs[0].shape[1:])
    if tuple(images.shape[1:]) != expected:
        raise ValueError(
            f"Expected images of the decoder's output shape (batch, {', '.join(map(str, expected))}). "
            f"Received: shape={images.shape}."
        )
    n = len(images)

    # Restart r of image i sits at row r * n + i: one batch, optimised together.
    starts = np.random.default_rng(seed).standard_normal((restarts, n, latent_dim))
    if init is not None:
        init = np.asarray(init, dtype="float32")
        if init.shape != (n, latent_dim):
            raise ValueError(
                f"Expected init of shape {(n, latent_dim)}. Received: shape={init.shape}."
            )
        starts[0] = init
    x = np.tile(images, (restarts, 1, 1, 1))  # (restarts * n, h, w, c)
    m = np.tile(mask, (restarts, 1, 1, 1))
    search = LatentSearch(
        decoder, starts.reshape(restarts * n, latent_dim), likelihood, noise_std, prior_weight
    )
    search.compile(optimizer=keras.optimizers.Adam(learning_rate))
    # One epoch = one Adam step on every code (the whole set is one batch, in order).
    history = search.fit(x, m, batch_size=len(x), epochs=int(steps), shuffle=False, verbose=0)

    codes = ops.convert_to_numpy(search.z)  # (restarts * n, latent_dim)
    objective, _ = masked_objective(decoder, codes, x, m, likelihood, noise_std, prior_weight)
    objective = ops.convert_to_numpy(objective).reshape(restarts, n)  # after the last step
    best = np.argmin(objective, axis=0)  # (n,)
    codes = codes.reshape(restarts, n, latent_dim)[best, np.arange(n)]
    output = decoder(codes, training=False)
    # A stable sigmoid: NumPy's 1 / (1 + exp(-l)) overflows (with a warning) for logits below -88.
    decoded = ops.sigmoid(output) if likelihood == "bernoulli" else output
    decoded = np.clip(ops.convert_to_numpy(decoded), *value_range).astype("float32")
    return Inpainting(
        z=codes,
        decoded=decoded,
        filled=merge_visible(images, mask, decoded),
        objective=np.asarray(history.history["objective"]),
        masked_loss=np.asarray(history.history["masked_loss"]),
        final_objective=objective[best, np.arange(n)],
    )


def project_to_range(decoder, images, **kwargs) -> Inpainting:
    """The image the decoder can draw that best explains `images`: `inpaint_latent`, nothing hidden.

    With the mask all ones every pixel counts, so `decoded` is $g(z^*)$ for

        z* = argmin_z  D(x, g(z)) + prior_weight * ||z||^2 / 2,

    the projection of $x$ onto the decoder's range (Defense-GAN's and
    AnoGAN's step). `filled` is then `images` itself; use `decoded`.

    Args:
        decoder: as for `inpaint_latent`.
        images: (n, height, width, channels) in `value_range`.
        **kwargs: the keyword arguments of `inpaint_latent` (likelihood,
            noise_std, prior_weight, steps, learning_rate, init, restarts,
            seed, value_range).
    """
    images = check_images(images, kwargs.get("value_range", UNIT_RANGE))
    return inpaint_latent(decoder, images, np.ones_like(images), **kwargs)


class LatentSearch(StatelessTrainStep, keras.Model):
    """The codes of `inpaint_latent` as the trainable weight of a model trained by `fit`.

    `fit(images, mask, batch_size=n_codes, shuffle=False)`: each step takes one
    optimizer step on the codes `z` (n_codes, latent_dim) against
    `masked_objective`; the decoder's weights never move (only `z` is passed
    to `minimize`). Being a model trained by `fit` is what lets the search run
    compiled, and on every backend gancore supports.

    Args:
        decoder: z -> logits or images, as for `inpaint_latent`.
        codes: the starting codes, (n_codes, latent_dim).
        likelihood, noise_std, prior_weight: as for `inpaint_latent`.
    """

    def __init__(
        self, decoder, codes, likelihood="bernoulli", noise_std=0.1, prior_weight=1.0, **kwargs
    ):
        super().__init__(**kwargs)
        self.decoder = decoder
        self.likelihood = likelihood
        self.noise_std = float(noise_std)
        self.prior_weight = float(prior_weight)
        codes = np.asarray(codes, dtype="float32")
        self.z = self.add_weight(shape=codes.shape, initializer="zeros", name="z")
        self.z.assign(codes)
        self.objective_tracker = keras.metrics.Mean(name="objective")
        self.masked_loss_tracker = keras.metrics.Mean(name="masked_loss")
        self.built = True  # z exists and the decoder is built: nothing to infer from data

    @property
    def metrics(self):
        return [self.objective_tracker, self.masked_loss_tracker]

    def compile(self, optimizer, **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build([self.z])  # slots for z only, not for the decoder's weights

    def call(self, inputs=None, training=False):
        """The decoder's output for the current codes (the inputs are not needed)."""
        return self.decoder(self.z, training=False)

    def train_step(self, data):
        images, mask, _ = keras.utils.unpack_x_y_sample_weight(data)

        def loss_fn():
            objective, masked_loss = masked_objective(
                self.decoder,
                self.z,
                images,
                mask,
                self.likelihood,
                self.noise_std,
                self.prior_weight,
            )
            # A sum, not a mean: each code's gradient is its own image's, whatever the batch.
            return ops.sum(objective), (objective, masked_loss)

        _, (objective, masked_loss) = minimize(self.optimizer, loss_fn, [self.z])
        self.objective_tracker.update_state(ops.mean(objective))
        self.masked_loss_tracker.update_state(ops.mean(masked_loss))
        return {m.name: m.result() for m in self.metrics}
