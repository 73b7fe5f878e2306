"""Denoising: noise models, classical filters, a denoising autoencoder and generative priors.

Noise models, on images in [0, 1] (results clipped back into it):

- additive Gaussian noise, x + std * eps with eps ~ N(0, I) (sensor noise);
- salt-and-pepper noise: a `fraction` of the pixels is replaced, half by 0
  (pepper) and half by 1 (salt) (dead and stuck pixels, transmission errors).

Denoisers, from the oldest to the most learned:

- `median_filter`: each pixel becomes the median of its neighbourhood. An
  isolated wrong pixel is an outlier of its neighbourhood, so the median
  ignores it: the classical cure for salt and pepper.
- `gaussian_blur`: a weighted mean of the neighbourhood. It averages
  Gaussian noise away, and the digit's edges with it.
- `denoising_autoencoder`: a small convolutional network trained to map a
  noisy image to its clean one (Vincent et al. 2008). `NoisyPairs` feeds
  `fit` with (noisy, clean) batches whose noise is drawn afresh every batch,
  so the network never sees the same noisy image twice:

      model = denoising_autoencoder()
      model.compile(optimizer="adam", loss="binary_crossentropy")
      noise = lambda x, rng: add_gaussian_noise(x, std=0.3, seed=rng)
      model.fit(NoisyPairs(x_train, noise, batch_size=128), epochs=5)
      clean = model.predict(noisy)

- `denoise_with_prior`: the image a trained decoder (a VAE's decoder or a
  GAN's generator) can draw that best explains the noisy one: latent search
  with every pixel visible (`gancore.applications.inpainting.project_to_range`).
  Noise the decoder cannot draw is left out, as long as the search does not
  fit it.

Every function takes NumPy images (n, height, width, channels) and raises a
`ValueError` that says what was expected on anything else.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers
from scipy import ndimage

from gancore.applications._checks import check_fraction, check_integer, check_nonnegative
from gancore.applications.inpainting import project_to_range
from gancore.images import UNIT_RANGE, check_images

# ---- noise models ----------------------------------------------------------------------------------


def add_gaussian_noise(images, std: float, seed=0) -> np.ndarray:
    """x + std * eps, eps ~ N(0, I) per pixel, clipped to [0, 1].

    Args:
        images: (n, height, width, channels) in [0, 1].
        std: the noise's standard deviation, in units of the [0, 1] range
            (before clipping, which lowers it near black and white).
        seed: an int, or a `np.random.Generator` to draw from.
    """
    images = check_images(images, UNIT_RANGE)
    std = check_nonnegative("std", std, label="a noise std")
    noise = np.random.default_rng(seed).standard_normal(images.shape, dtype="float32")
    return np.clip(images + std * noise, 0.0, 1.0)


def add_salt_and_pepper(images, fraction: float, seed=0) -> np.ndarray:
    """Replaces each pixel with probability `fraction`: by 0 or by 1, each half the time.

    Args:
        images: (n, height, width, channels) in [0, 1].
        fraction: the expected share of replaced pixels, in [0, 1]. A
            replaced pixel that already held its new value (a pepper pixel
            on the black background) does not change.
        seed: an int, or a `np.random.Generator` to draw from.
    """
    images = check_images(images, UNIT_RANGE)
    fraction = check_fraction("fraction", fraction)
    rng = np.random.default_rng(seed)
    hit = rng.random(images.shape) < fraction  # which pixels are replaced
    salt = rng.random(images.shape) < 0.5  # by 1 (salt) or 0 (pepper)
    return np.where(hit, salt.astype("float32"), images)


# ---- classical denoisers --------------------------------------------------------------------------


def median_filter(images, size: int = 3) -> np.ndarray:
    """Each pixel becomes the median of the `size` x `size` window around it.

    Each image and channel is filtered on its own; at the border the image
    is extended by mirroring.
    """
    images = check_images(images, value_range=None)
    size = check_integer("size", size)
    return ndimage.median_filter(images, size=(1, size, size, 1), mode="reflect")


def gaussian_blur(images, sigma: float) -> np.ndarray:
    """Convolves each image with a Gaussian of standard deviation `sigma` pixels.

    The kernel is truncated at 4 sigma; at the border the image is extended by
    mirroring. `sigma = 0` returns the images unchanged.
    """
    images = check_images(images, value_range=None)
    sigma = check_nonnegative("sigma", sigma, unit=" (pixels)")
    return ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0), mode="reflect")


# ---- a learned denoiser ----------------------------------------------------------------------------


def denoising_autoencoder(
    image_shape=(28, 28, 1), filters=(32, 64), name: str = "denoising_autoencoder"
) -> keras.Model:
    """A convolutional encoder-decoder: noisy image in [0, 1] -> clean image in [0, 1].

    Each encoder block halves the height and width with a stride-2
    convolution, each decoder block doubles them with a transposed one; the
    last convolution has a sigmoid, so the output is in [0, 1] and
    `loss="binary_crossentropy"` (or "mse") against the clean image applies.

    Args:
        image_shape: (height, width, channels), height and width divisible by
            2 ** len(filters).
        filters: channels of the encoder blocks (the decoder mirrors them).
        name: the model's name.
    """
    shape = tuple(int(s) for s in image_shape)
    scale = 2 ** len(filters)
    if len(shape) != 3 or min(shape) < 1 or shape[0] % scale or shape[1] % scale:
        raise ValueError(
            "Expected image_shape=(height, width, channels) with height and width divisible "
            f"by 2 ** len(filters) = {scale}. Received: image_shape={image_shape}."
        )
    noisy = keras.Input(shape, name="noisy")
    h = noisy
    for f in filters:  # (h, w) -> (h / 2, w / 2)
        h = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu")(h)
    for f in reversed(filters):  # (h, w) -> (2 h, 2 w)
        h = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu")(h)
    clean = layers.Conv2D(shape[-1], 3, padding="same", activation="sigmoid", name="clean")(h)
    return keras.Model(noisy, clean, name=name)


class NoisyPairs(keras.utils.PyDataset):
    """(noisy, clean) batches for `fit`, the noise drawn afresh for every batch of every epoch.

    Batch `i` of epoch `e` draws from `np.random.default_rng((seed, e, i))`,
    so a run is reproducible from `seed`, yet no noisy image repeats. The
    order of the images is shuffled every epoch in the same way.

    Args:
        images: the clean images (n, height, width, channels) in [0, 1].
        noise: a function `(clean_batch, rng) -> noisy_batch`, e.g.
            `lambda x, rng: add_salt_and_pepper(x, 0.2, seed=rng)`.
        batch_size: images per batch (the last batch may be smaller).
        seed: seed of the noise and of the shuffling.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size`, as for
            `keras.utils.PyDataset`.
    """

    def __init__(self, images, noise, batch_size: int = 128, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.images = check_images(images, UNIT_RANGE)
        if not callable(noise):
            raise ValueError(
                "Expected noise as a function (clean_batch, rng) -> noisy_batch. "
                f"Received: {type(noise).__name__}."
            )
        self.noise = noise
        self.batch_size = check_integer("batch_size", batch_size)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self):
        return -(-len(self.images) // self.batch_size)  # ceil(n / batch_size)

    def __getitem__(self, index):
        order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.images))
        clean = self.images[order[index * self.batch_size : (index + 1) * self.batch_size]]
        noisy = self.noise(clean, np.random.default_rng((self.seed, self.epoch, index)))
        return np.asarray(noisy, dtype="float32"), clean

    def on_epoch_end(self):
        self.epoch += 1


# ---- a generative model as the prior -----------------------------------------------------------------


def denoise_with_prior(decoder, noisy, **kwargs) -> np.ndarray:
    """The image the decoder can draw that best explains `noisy`, shape (n, height, width, channels).

    `project_to_range` (latent search with every pixel visible) returns
    $g(z^*)$ for $z^* = \\arg\\min_z D(x, g(z)) + \\lambda \\|z\\|^2 / 2$.

    Args:
        decoder: z -> logits (a VAE's decoder, the default Bernoulli
            likelihood) or images (a GAN's generator: pass
            `likelihood="gaussian"` and its `value_range`).
        noisy: the noisy images, in the decoder's range.
        **kwargs: the keyword arguments of `inpaint_latent`: `steps`,
            `learning_rate`, `restarts`, `prior_weight`, `noise_std`, `init`
            (e.g. the VAE encoder's mean: the search then starts from the
            encode-decode denoiser, `vae.reconstruct`), `seed`, `value_range`.
    """
    return project_to_range(decoder, noisy, **kwargs).decoded
