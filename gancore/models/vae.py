"""Variational autoencoders: a convolutional VAE, beta-VAE and a conditional VAE.

The encoder maps an image $x$ to the mean and log-variance of
$q_\\phi(z|x) = \\mathcal{N}(\\mu, \\mathrm{diag}(\\sigma^2))$; the `Sampler`
draws $z = \\mu + \\sigma \\odot \\epsilon$ with $\\epsilon \\sim \\mathcal{N}(0, I)$
(the reparameterization trick); the decoder turns $z$ into the logits of
independent Bernoulli pixels $p_\\theta(x|z)$. Training minimises

    loss = -E_q[log p(x|z)] + beta * KL(q(z|x) || N(0, I))

which is the negative ELBO when `beta = 1` (Kingma & Welling 2014; beta-VAE,
Higgins et al. 2017). The trackers are `loss` (the total above),
`reconstruction_loss` and `kl_loss`, all in nats per image.

Binarization (what the nats refer to). A Bernoulli likelihood is a proper
probability only for binary pixels, so with `binarize=True` (the default) the
train and test steps draw a fresh binarization of every batch, each pixel
being 1 with probability its grey level ("dynamically binarized MNIST", the
protocol of Burda et al. 2016). The evaluation helpers `negative_elbo` and
`importance_weighted_nll` binarize the test images once with a fixed NumPy
seed, so repeated evaluations see the same binary test set. Binary input is
left unchanged by both. Inputs are images in [0, 1] of shape
(batch, height, width, channels).

Backends: the math is `keras.ops`/`keras.random`; gradients go through
`gancore.gradients.minimize`, which works on the TensorFlow, JAX and PyTorch
backends.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from gancore.gradients import StatelessTrainStep, minimize, per_replica_draw
from gancore.images import UNIT_RANGE, check_dataset, check_images, dataset_errors
from gancore.models.serialization import SavesSeedState, with_submodels
from gancore.vae_losses import (
    bernoulli_log_likelihood,
    binarize,
    gaussian_kl,
    gaussian_log_density,
)

MNIST_SHAPE = (28, 28, 1)


def build_encoder(
    latent_dim: int = 16,
    image_shape=MNIST_SHAPE,
    num_classes: int = 0,
    hidden_units: int = 256,
    name: str = "encoder",
) -> keras.Model:
    """Convolutional encoder: image (and one-hot label) -> (z_mean, z_log_var).

    Args:
        latent_dim: size of $z$.
        image_shape: (height, width, channels), height and width divisible by 4.
        num_classes: 0 for a plain VAE; otherwise the encoder takes a second
            input, the one-hot label, joined to the image features.
        hidden_units: width of the dense layer before the two heads.
        name: the model's name.
    """
    height, width, _ = _check_image_shape(image_shape)
    image = keras.Input(image_shape, name="image")
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(image)  # (h/2, w/2, 32)
    h = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(h)  # (h/4, w/4, 64)
    h = layers.Flatten()(h)
    inputs = image
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        h = layers.Concatenate()([h, label])  # the label tells the encoder what not to encode
        inputs = [image, label]
    h = layers.Dense(hidden_units, activation="relu")(h)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)  # (batch, latent_dim)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)  # log sigma^2, any real number
    return keras.Model(inputs, [z_mean, z_log_var], name=name)


def build_decoder(
    latent_dim: int = 16,
    image_shape=MNIST_SHAPE,
    num_classes: int = 0,
    hidden_units: int = 256,
    name: str = "decoder",
) -> keras.Model:
    """Convolutional decoder: z (and one-hot label) -> per-pixel Bernoulli logits.

    The output has no sigmoid: the likelihood is computed from logits (stable),
    and `VAE.decode` applies the sigmoid to show images.
    """
    height, width, channels = _check_image_shape(image_shape)
    z = keras.Input((latent_dim,), name="z")
    h, inputs = z, z
    if num_classes:
        label = keras.Input((num_classes,), name="label")
        h = layers.Concatenate()([z, label])
        inputs = [z, label]
    h = layers.Dense(hidden_units, activation="relu")(h)
    h = layers.Dense((height // 4) * (width // 4) * 64, activation="relu")(h)
    h = layers.Reshape((height // 4, width // 4, 64))(h)
    h = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(h)  # (h/2, w/2)
    h = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(h)  # (h, w)
    logits = layers.Conv2D(channels, 3, padding="same", name="logits")(h)  # (batch, h, w, c)
    return keras.Model(inputs, logits, name=name)


def _check_image_shape(image_shape):
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or shape[0] % 4 or shape[1] % 4:
        raise ValueError(
            "Expected image_shape=(height, width, channels) with height and width divisible "
            f"by 4 (two stride-2 convolutions). Received: image_shape={image_shape}."
        )
    return shape


@keras.saving.register_keras_serializable(package="gancore")
class Sampler(SavesSeedState, layers.Layer):
    """The reparameterization trick: z = z_mean + exp(z_log_var / 2) * eps, eps ~ N(0, I).

    The randomness is an input to a deterministic function of (z_mean,
    z_log_var), so gradients flow to the encoder through both. The seed
    generator's state is saved with the model (a resumed run draws on).

    Args:
        seed: int seed of the layer's `keras.random.SeedGenerator`; the same
            seed gives the same sequence of draws.

    Call arguments:
        z_mean: (..., latent_dim).
        z_log_var: same shape.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # No weights to create; built now, so Keras never traces the whole
        # model just to build it (which a conditional VAE cannot do without labels).
        self.built = True

    def call(self, z_mean, z_log_var):
        epsilon = per_replica_draw(
            lambda n: keras.random.normal(
                (n, *z_mean.shape[1:]), dtype=z_mean.dtype, seed=self.seed_generator
            ),
            ops.shape(z_mean)[0],
        )
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="gancore")
class VAE(SavesSeedState, StatelessTrainStep, keras.Model):
    """A VAE trained on the negative ELBO, with beta weighting the KL term (beta-VAE).

    Compile with the standard `compile(optimizer=..., jit_compile=...)` and
    train with `fit(x)` or a dataset of image batches; `validation_data`
    works through `test_step` (same terms, no gradient step).

    Args:
        encoder: image -> (z_mean, z_log_var), e.g. `build_encoder(...)`.
        decoder: z -> logits of the same shape as the image, e.g. `build_decoder(...)`.
        beta: weight of the KL term in the training loss; 1 is the ELBO.
        binarize: draw a fresh Bernoulli binarization of every batch (see the
            module docstring); `False` trains on grey levels (then the
            "reconstruction" is a BCE, not a log-likelihood).
        seed: seed of the sampler and of the binarization noise. Both
            generators' states are saved in `.keras` files.
    """

    seed_generator_names = ("binarize_seed",)  # the sampler saves its own

    def __init__(self, encoder, decoder, beta=1.0, binarize=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not beta >= 0:
            raise ValueError(f"Expected beta >= 0 (1 for the ELBO). Received: beta={beta}.")
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.binarize = bool(binarize)
        self.seed = seed
        self.sampler = Sampler(seed=seed, name="sampler")
        self.binarize_seed = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self._check_networks()
        self.built = True  # the sub-models are built; lets a .keras file restore optimizer state

    # ---- the training objective -------------------------------------------------------------

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def elbo_terms(self, x, condition=None, training=False):
        """Batch means of -E_q[log p(x|z)] and KL(q(z|x) || p(z)), one z per image (nats)."""
        if self.binarize:
            x = binarize(x, self.binarize_seed)  # dynamic: a new binary image every step
        z_mean, z_log_var = self.encoder(self._with(x, condition), training=training)
        z = self.sampler(z_mean, z_log_var)  # (batch, latent_dim), differentiable in both
        logits = self.decoder(self._with(z, condition), training=training)
        reconstruction_loss = -ops.mean(bernoulli_log_likelihood(x, logits))
        kl_loss = ops.mean(gaussian_kl(z_mean, z_log_var))
        return reconstruction_loss, kl_loss

    def train_step(self, data):
        x, condition = self.unpack(data)

        def loss_fn():
            reconstruction_loss, kl_loss = self.elbo_terms(x, condition, training=True)
            return reconstruction_loss + self.beta * kl_loss, (reconstruction_loss, kl_loss)

        loss, (reconstruction_loss, kl_loss) = minimize(
            self.optimizer, loss_fn, self.trainable_variables
        )
        return self._track(loss, reconstruction_loss, kl_loss)

    def test_step(self, data):
        x, condition = self.unpack(data)
        reconstruction_loss, kl_loss = self.elbo_terms(x, condition, training=False)
        return self._track(reconstruction_loss + self.beta * kl_loss, reconstruction_loss, kl_loss)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit` after checking the images (and `validation_data`'s).

        Images must be finite, in [0, 1] and of shape (batch, *image_shape):
        a NumPy array is checked whole before training; a `tf.data.Dataset`
        by `gancore.images.check_dataset` (its batch shape at once, each
        batch's values as `fit` reads it). Without this, binarization would
        quietly turn [0, 255] or NaN pixels into 0s and 1s.
        """
        if kwargs.get("validation_data") is not None:
            kwargs["validation_data"] = self._checked_pair(kwargs["validation_data"])
        with dataset_errors():
            return super().fit(self._checked(x), y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate` after the same checks as `fit`."""
        with dataset_errors():
            return super().evaluate(self._checked(x), y, *args, **kwargs)

    def _checked(self, x):
        """`x` checked by `check_images` or, for a dataset, wrapped by `check_dataset`."""
        if hasattr(x, "element_spec"):
            return check_dataset(x, UNIT_RANGE, self.image_shape, name="images")
        if hasattr(x, "__array__"):  # NumPy, or a backend tensor
            self._images(x)
        return x

    def _checked_pair(self, data):
        """`validation_data`: a dataset, images, or a tuple (images, labels[, weights])."""
        if isinstance(data, (list, tuple)):
            return (self._checked(data[0]), *data[1:])
        return self._checked(data)

    def _track(self, loss, reconstruction_loss, kl_loss):
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction_loss)
        self.kl_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}

    def call(self, inputs, training=False):
        """Decoder logits for one sampled z per image; `inputs` is x (or [x, labels])."""
        x, condition = (
            (inputs[0], inputs[1]) if isinstance(inputs, (list, tuple)) else (inputs, None)
        )
        condition = self._condition(condition)
        z_mean, z_log_var = self.encoder(self._with(x, condition), training=training)
        return self.decoder(
            self._with(self.sampler(z_mean, z_log_var), condition), training=training
        )

    # ---- hooks the conditional VAE overrides -------------------------------------------------

    def unpack(self, data):
        """A batch from `fit` -> (images, condition); the plain VAE ignores labels."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return x, None

    def _condition(self, labels):
        return None

    @staticmethod
    def _with(tensor, condition):
        if condition is None:
            return tensor
        return [ops.convert_to_tensor(tensor), ops.convert_to_tensor(condition)]

    # ---- helpers on NumPy arrays ---------------------------------------------------------------

    @property
    def latent_dim(self) -> int:
        return int(self.encoder.outputs[0].shape[-1])

    @property
    def image_shape(self) -> tuple:
        return tuple(int(s) for s in self.encoder.inputs[0].shape[1:])

    def _images(self, x, name="images"):
        return check_images(x, UNIT_RANGE, shape=self.image_shape, name=name)

    def _batches(self, n, labels, batch_size):
        condition = None if labels is None else ops.convert_to_numpy(self._condition(labels))
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            yield start, stop, None if condition is None else condition[start:stop]

    def encode(self, x, labels=None, batch_size=512):
        """Images in [0, 1] -> (z_mean, z_log_var) as NumPy arrays (batch, latent_dim)."""
        x = self._images(x)
        means, log_vars = [], []
        for start, stop, c in self._batches(len(x), labels, batch_size):
            z_mean, z_log_var = self.encoder(self._with(x[start:stop], c), training=False)
            means.append(ops.convert_to_numpy(z_mean))
            log_vars.append(ops.convert_to_numpy(z_log_var))
        return np.concatenate(means), np.concatenate(log_vars)

    def decode(self, z, labels=None, batch_size=512):
        """Latent codes (n, latent_dim) -> images in [0, 1]: the Bernoulli means sigmoid(logits)."""
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"Expected latent codes of shape (n, {self.latent_dim}). Received: shape={z.shape}."
            )
        images = []
        for start, stop, c in self._batches(len(z), labels, batch_size):
            logits = self.decoder(self._with(z[start:stop], c), training=False)
            images.append(ops.convert_to_numpy(ops.sigmoid(logits)))
        return np.concatenate(images)

    def reconstruct(self, x, labels=None):
        """Encode to the posterior mean and decode: images in [0, 1] -> images in [0, 1]."""
        return self.decode(self.encode(x, labels)[0], labels)

    def generate(self, n_or_noise, labels=None, seed=0):
        """New images in [0, 1]: z ~ N(0, I) decoded to Bernoulli means.

        Args:
            n_or_noise: a number of images (z drawn from NumPy with `seed`),
                or the codes themselves, shape (n, latent_dim).
            labels: class ids, conditional models only.
            seed: the seed for z when `n_or_noise` is a number.
        """
        if np.isscalar(n_or_noise):
            shape = (int(n_or_noise), self.latent_dim)
            n_or_noise = np.random.default_rng(seed).standard_normal(shape).astype("float32")
        return self.decode(n_or_noise, labels)

    def negative_elbo(self, x, labels=None, batch_size=500, seed=0):
        """Negative ELBO (beta = 1) of images, in nats per image, with one z per image.

        With `binarize=True` the images are binarized once with NumPy `seed`
        (binary input is unchanged), so this is the number reported for
        dynamically binarized MNIST.

        Returns:
            A dict: `negative_elbo`, `reconstruction_loss`, `kl_loss` (means).
        """
        reconstruction, kl = self.elbo_terms_per_image(x, labels, batch_size, seed)
        reconstruction, kl = float(reconstruction.mean()), float(kl.mean())
        return {
            "negative_elbo": reconstruction + kl,
            "reconstruction_loss": reconstruction,
            "kl_loss": kl,
        }

    def elbo_terms_per_image(self, x, labels=None, batch_size=500, seed=0):
        """-log p(x|z) and KL(q(z|x) || p(z)) of each image, one z ~ q(z|x) each (nats).

        What `negative_elbo` averages; their sum is each image's negative ELBO
        (an anomaly score, `gancore.applications.anomaly`). The z draws come
        from the model's sampler; `seed` fixes the binarization.

        Returns:
            Two arrays of shape (n,): the reconstruction terms and the KL terms.
        """
        x = self._prepare(x, seed)
        reconstruction, kl = [], []
        for start, stop, c in self._batches(len(x), labels, batch_size):
            z_mean, z_log_var = self.encoder(self._with(x[start:stop], c), training=False)
            logits = self.decoder(self._with(self.sampler(z_mean, z_log_var), c), training=False)
            reconstruction.append(
                -ops.convert_to_numpy(bernoulli_log_likelihood(x[start:stop], logits))
            )
            kl.append(ops.convert_to_numpy(gaussian_kl(z_mean, z_log_var)))
        return np.concatenate(reconstruction), np.concatenate(kl)

    def importance_weighted_nll(self, x, labels=None, k=64, max_images=2048, seed=0):
        """Importance-weighted estimate of -log p(x) in nats per image (Burda et al. 2016).

        For each image, with z_1..z_k ~ q(z|x):

            log p(x) >= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)

        a bound that tightens as k grows (k = 1 is the ELBO) and reaches
        log p(x) as k -> infinity; the returned mean of minus it is an upper
        bound on the test NLL.

        Args:
            x: images in [0, 1]; binarized once with NumPy `seed` if the model binarizes.
            labels: class ids for a conditional VAE (then it is -log p(x | y)).
            k: importance samples per image.
            max_images: images x samples decoded at once (memory).
            seed: seed of the binarization and of the importance samples.
        """
        return float(self.importance_weighted_nll_per_image(x, labels, k, max_images, seed).mean())

    def importance_weighted_nll_per_image(self, x, labels=None, k=64, max_images=2048, seed=0):
        """The estimate of `importance_weighted_nll` for each image: shape (n,), nats.

        Arguments as for `importance_weighted_nll`, which returns their mean.
        """
        if k < 1:
            raise ValueError(f"Expected k >= 1 importance samples. Received: k={k}.")
        x = self._prepare(x, seed)
        seed_generator = keras.random.SeedGenerator(seed)
        batch_size = max(1, max_images // k)
        nll = []
        for start, stop, c in self._batches(len(x), labels, batch_size):
            images = ops.convert_to_tensor(x[start:stop])  # (b, h, w, c)
            b = len(images)
            z_mean, z_log_var = self.encoder(self._with(images, c), training=False)  # (b, d)
            epsilon = keras.random.normal((k, b, self.latent_dim), seed=seed_generator)
            z = z_mean + ops.exp(0.5 * z_log_var) * epsilon  # (k, b, d)
            c_k = None if c is None else np.tile(c, (k, 1))  # (k * b, classes)
            logits = self.decoder(self._with(ops.reshape(z, (k * b, -1)), c_k), training=False)
            logits = ops.reshape(logits, (k, b, *self.image_shape))
            log_weights = (
                bernoulli_log_likelihood(images[None], logits)  # log p(x|z)
                + gaussian_log_density(z, 0.0, 0.0)  # log p(z)
                - gaussian_log_density(z, z_mean, z_log_var)  # log q(z|x)
            )  # (k, b)
            log_px = ops.logsumexp(log_weights, axis=0) - math.log(k)
            nll.append(-ops.convert_to_numpy(log_px))
        return np.concatenate(nll)

    def _prepare(self, x, seed):
        x = self._images(x)
        return binarize(x, seed) if self.binarize else x

    # ---- serialization -------------------------------------------------------------------------

    def _check_networks(self):
        decoder_latent = self.decoder.inputs[0].shape[-1]
        if decoder_latent != self.latent_dim:
            raise ValueError(
                f"The encoder outputs z of size {self.latent_dim} but the decoder expects "
                f"{decoder_latent}. Build both with the same latent_dim."
            )

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
            "binarize": self.binarize,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**with_submodels(config, "encoder", "decoder"))


@keras.saving.register_keras_serializable(package="gancore")
class ConditionalVAE(VAE):
    """A VAE whose encoder and decoder both see the one-hot class label (Sohn et al. 2015).

    Same objective and the same `train_step` as `VAE`; only the unpacking of a
    batch differs: `fit(x, labels)` with integer class ids. The bound is then
    on log p(x | y).

    Args:
        encoder: [image, one-hot label] -> (z_mean, z_log_var), e.g.
            `build_encoder(num_classes=10)`.
        decoder: [z, one-hot label] -> logits, e.g. `build_decoder(num_classes=10)`.
        num_classes: size of the one-hot label.
        **kwargs: `beta`, `binarize`, `seed`, as for `VAE`.
    """

    def __init__(self, encoder, decoder, num_classes=10, **kwargs):
        super().__init__(encoder, decoder, **kwargs)
        self.num_classes = int(num_classes)
        if len(encoder.inputs) != 2 or len(decoder.inputs) != 2:
            raise ValueError(
                "ConditionalVAE needs an encoder taking [image, label] and a decoder taking "
                f"[z, label] (build_encoder/build_decoder with num_classes={num_classes}). "
                f"Received: {len(encoder.inputs)} and {len(decoder.inputs)} inputs."
            )

    def unpack(self, data):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if labels is None:
            raise ValueError(
                "ConditionalVAE trains on (images, labels): call fit(x, labels) or pass a "
                "dataset of (images, labels) batches. Received images only."
            )
        return x, self._condition(labels)

    def _condition(self, labels):
        if labels is None:
            raise ValueError(
                "ConditionalVAE needs class labels for this call. Received: labels=None."
            )
        labels = ops.convert_to_tensor(labels)  # lists too, on every backend
        if len(ops.shape(labels)) == 2:  # already one-hot
            return ops.cast(labels, "float32")
        return ops.one_hot(ops.cast(labels, "int32"), self.num_classes)  # (batch, num_classes)

    def generate(self, n_or_noise, labels=None, seed=0):
        """As `VAE.generate`; `labels` default to 0, 1, ..., num_classes - 1, 0, 1, ..."""
        if labels is None:
            n = int(n_or_noise) if np.isscalar(n_or_noise) else len(n_or_noise)
            labels = np.arange(n) % self.num_classes
        return super().generate(n_or_noise, labels, seed)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
