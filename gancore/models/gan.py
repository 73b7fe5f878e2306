"""The GAN of {cite}`goodfellow2014generative` as a `keras.Model`, trained with `fit`.

`GAN` holds a generator $G$ and a discriminator $D$ (which outputs logits)
and alternates one step on each per batch:

1. $D$ step: minimise $L_D = -\\mathbb{E}_x[\\log D(x)] - \\mathbb{E}_z[\\log(1 - D(G(z)))]$
   over $D$'s weights, with $G(z)$ held fixed.
2. $G$ step: minimise the generator loss (non-saturating
   $-\\mathbb{E}_z[\\log D(G(z))]$ by default, or the original minimax
   $\\mathbb{E}_z[\\log(1 - D(G(z)))]$) over $G$'s weights only.

`ConditionalGAN` {cite}`mirza2014conditional` runs the same loop with the
labels fed to both networks. Both save to `.keras` and load with
`safe_mode=True` ready to train on: optimizers, their step counts and
moments, and the noise generator's state included.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from gancore import losses
from gancore.gradients import OptimizerPair, StatelessTrainStep, minimize, per_replica_draw
from gancore.images import TANH_RANGE, check_dataset, check_images, dataset_errors
from gancore.models.serialization import SavesSeedState, with_submodels


def _input_shape(model, index: int = 0) -> tuple:
    """(without batch) shape of a functional model's `index`-th input."""
    return tuple(model.inputs[index].shape[1:])


@keras.saving.register_keras_serializable(package="gancore")
class GAN(SavesSeedState, StatelessTrainStep, keras.Model):
    """A generator and a discriminator trained against each other by `fit`.

    Args:
        generator: maps noise (batch, latent_dim) to samples (images in
            [-1, 1], or e.g. 2-D points).
        discriminator: maps samples to one logit each, shape (batch, 1).
        latent_dim: size of $z$; read from the generator's input if `None`.
        seed: seed of the noise drawn inside `train_step`.

    Example:
        ```python
        gan = GAN(dcgan_generator(), dcgan_discriminator())
        gan.compile(jit_compile=True)  # Adam(2e-4, beta_1=0.5) for both
        gan.fit(images, batch_size=128, epochs=5)
        samples = gan.generate(16)  # (16, 28, 28, 1) in [-1, 1]
        ```
    """

    def __init__(
        self, generator, discriminator, latent_dim: int | None = None, seed: int = 1337, **kwargs
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim or _input_shape(generator)[-1])
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_acc_real_tracker = keras.metrics.Mean(name="d_acc_real")
        self.d_acc_fake_tracker = keras.metrics.Mean(name="d_acc_fake")
        # The two functional sub-models are built; the GAN has no weights of its own.
        self.built = True

    @property
    def sample_shape(self) -> tuple:
        """Shape of one real sample, e.g. (28, 28, 1)."""
        return _input_shape(self.discriminator)

    @property
    def metrics(self):
        # Listed here, so `fit` resets them at the start of every epoch.
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_acc_real_tracker,
            self.d_acc_fake_tracker,
        ]

    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        loss: str = "non_saturating",
        label_smoothing: float = 0.0,
        **kwargs,
    ):
        """Sets the optimizers and the generator loss.

        Args:
            d_optimizer: the discriminator's optimizer; default
                `Adam(2e-4, beta_1=0.5)` as in DCGAN.
            g_optimizer: the generator's optimizer; same default.
            loss: `"non_saturating"` ($-\\log D(G(z))$) or `"minimax"`
                ($\\log(1 - D(G(z)))$).
            label_smoothing: one-sided label smoothing of the real target.
            **kwargs: passed to `keras.Model.compile`, e.g.
                `jit_compile=True` (XLA; Keras leaves it off for TensorFlow
                on CPU) or `steps_per_execution`.
        """
        if loss not in losses.GENERATOR_LOSSES:
            raise ValueError(
                f"Unknown generator loss {loss!r}. Expected one of {sorted(losses.GENERATOR_LOSSES)}."
            )
        for key in ("optimizer", "loss_weights", "metrics"):
            if key in kwargs:
                raise ValueError(
                    f"GAN.compile takes d_optimizer/g_optimizer, not {key}=. Received: {key}={kwargs[key]!r}."
                )
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        # Keras sees both as the model's `optimizer` (it builds them, and on JAX
        # carries their step counts and moments through the compiled step).
        self.optimizer = OptimizerPair(
            (self.d_optimizer, lambda: self.discriminator.trainable_variables),
            (self.g_optimizer, lambda: self.generator.trainable_variables),
        )
        self.generator_loss_name = loss
        self.generator_loss = losses.GENERATOR_LOSSES[loss]
        self.label_smoothing = float(label_smoothing)
        self._gan_compile_kwargs = {
            k: v
            for k, v in kwargs.items()
            if k in ("jit_compile", "steps_per_execution", "run_eagerly")
        }

    # -- the pieces a conditional model changes ---------------------------------

    def unpack_batch(self, data):
        """(real samples, labels or None) from one batch of `fit` data."""
        if isinstance(data, (tuple, list)):
            data = data[0]  # labels, if any, are ignored by the unconditional GAN
        return data, None

    def generator_inputs(self, noise, labels):
        """What the generator is called on."""
        return noise

    def discriminator_inputs(self, samples, labels):
        """What the discriminator is called on."""
        return samples

    def sample_latent(self, batch_size):
        """$z \\sim \\mathcal{N}(0, I)$, shape (batch_size, latent_dim), from the model's seed generator."""
        return per_replica_draw(
            lambda n: keras.random.normal((n, self.latent_dim), seed=self.seed_generator),
            batch_size,
        )

    # -- training -----------------------------------------------------------------

    def train_step(self, data):
        real, labels = self.unpack_batch(data)
        self._check_batch_shape(real)
        batch_size = ops.shape(real)[0]

        # 1. Discriminator step: real -> "real", G(z) -> "fake".
        noise = self.sample_latent(batch_size)  # (batch, latent_dim)
        fake = self.generator(self.generator_inputs(noise, labels), training=True)
        fake = ops.stop_gradient(fake)  # G is held fixed in the D step

        def d_objective():
            real_logits = self.discriminator(self.discriminator_inputs(real, labels), training=True)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=True)
            d_loss = losses.discriminator_loss(real_logits, fake_logits, self.label_smoothing)
            return d_loss, (real_logits, fake_logits)

        d_loss, (real_logits, fake_logits) = minimize(
            self.d_optimizer, d_objective, self.discriminator.trainable_variables
        )

        # 2. Generator step: make D call G(z) real. Only G's weights move.
        noise = self.sample_latent(batch_size)

        def g_objective():
            fake = self.generator(self.generator_inputs(noise, labels), training=True)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=True)
            return self.generator_loss(fake_logits)

        g_loss = minimize(self.g_optimizer, g_objective, self.generator.trainable_variables)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_acc_real_tracker.update_state(ops.mean(ops.cast(real_logits > 0, "float32")))
        self.d_acc_fake_tracker.update_state(ops.mean(ops.cast(fake_logits < 0, "float32")))
        return {m.name: m.result() for m in self.metrics}

    def _check_batch_shape(self, real):
        expected = self.sample_shape
        received = tuple(real.shape[1:])
        if len(received) != len(expected) or any(
            e is not None and r is not None and e != r
            for e, r in zip(expected, received, strict=True)
        ):
            raise ValueError(
                f"Expected real samples of shape (batch, {', '.join(map(str, expected))}) "
                f"(the discriminator's input). Received: shape={tuple(real.shape)}."
            )

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit` after checking the real samples.

        The samples must have the discriminator's input shape and be finite;
        images (rank 4) must also lie in [-1, 1], the range of the `tanh`
        generator. A NumPy array is checked whole before training. A
        `tf.data.Dataset` is checked by `gancore.images.check_dataset`: its
        batch shape at once, and every batch's values as `fit` reads it (the
        data order is untouched; a fraction of a millisecond per batch, run
        by tf.data beside the training step). Other inputs (generators,
        `PyDataset`) go to Keras unchecked; a later NaN still shows up in the
        losses, where `GANDiagnostics` stops training.
        """
        if not hasattr(self, "d_optimizer"):
            raise RuntimeError("Call `compile()` before `fit()` (it sets the two optimizers).")
        with dataset_errors():
            return super().fit(self._checked_real(x), y, *args, **kwargs)

    def _checked_real(self, x):
        """`x` checked by `check_images` or, for a dataset, wrapped by `check_dataset`."""
        is_image = len(self.sample_shape) == 3
        value_range = TANH_RANGE if is_image else None
        name = "real images" if is_image else "real samples"
        if hasattr(x, "element_spec"):
            return check_dataset(x, value_range, self.sample_shape, name=name)
        if hasattr(x, "__array__"):  # NumPy, or a backend tensor
            check_images(x, value_range, self.sample_shape, name=name)
        return x

    # -- sampling -----------------------------------------------------------------

    def call(self, inputs, training=False):
        """`gan(noise)` is `generator(noise)`."""
        return self.generator(inputs, training=training)

    def default_labels(self, n: int):
        """Labels used when `generate` is not given any (none for an unconditional GAN)."""
        return None

    def latent_vectors(self, n_or_noise, seed: int = 0) -> np.ndarray:
        """(n, latent_dim) float32: `n_or_noise` standard-normal vectors drawn with `seed`, or the
        vectors given, after checking their shape."""
        if np.isscalar(n_or_noise):
            rng = np.random.default_rng(seed)
            return rng.standard_normal((int(n_or_noise), self.latent_dim)).astype("float32")
        noise = np.asarray(n_or_noise, dtype="float32")
        if noise.ndim != 2 or noise.shape[1] != self.latent_dim:
            raise ValueError(
                f"Expected noise of shape (n, {self.latent_dim}). Received: shape={noise.shape}."
            )
        return noise

    def generate(self, n_or_noise, labels=None, batch_size: int = 256, seed: int = 0) -> np.ndarray:
        """Samples from the generator (in inference mode) as a NumPy array.

        Args:
            n_or_noise: a number of samples (noise drawn with `seed`), or the
                latent vectors themselves, shape (n, latent_dim).
            labels: class labels (conditional models only), shape (n,).
            batch_size: generate in chunks of this size.
            seed: the seed for the noise when `n_or_noise` is a number.

        Returns:
            (n, *sample_shape) float32; images are in [-1, 1].
        """
        noise = self.latent_vectors(n_or_noise, seed)
        if labels is None:
            labels = self.default_labels(len(noise))
        out = []
        for start in range(0, len(noise), batch_size):
            chunk = ops.convert_to_tensor(noise[start : start + batch_size])
            chunk_labels = (
                None if labels is None else np.asarray(labels)[start : start + batch_size]
            )
            images = self.generator(self.generator_inputs(chunk, chunk_labels), training=False)
            out.append(ops.convert_to_numpy(images))
        return np.concatenate(out).astype("float32")

    # -- saving -------------------------------------------------------------------

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**with_submodels(config, "generator", "discriminator"))

    def get_compile_config(self):
        if not hasattr(self, "d_optimizer"):
            return {}
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": self.generator_loss_name,
            "label_smoothing": self.label_smoothing,
            **self._gan_compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        d_optimizer = keras.saving.deserialize_keras_object(config.pop("d_optimizer"))
        g_optimizer = keras.saving.deserialize_keras_object(config.pop("g_optimizer"))
        self.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, **config)
        # Build the optimizers' slots now, so loading fills in their saved
        # iterations and moments instead of skipping them.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)


@keras.saving.register_keras_serializable(package="gancore")
class ConditionalGAN(GAN):
    """A GAN whose generator and discriminator both see the class label.

    `fit` takes `(images, labels)` with integer labels; the networks take
    `[noise, labels]` and `[images, labels]` (build them with `num_classes`).
    The training loop is `GAN.train_step` unchanged.

    Args:
        generator: maps `[noise, labels]` to images.
        discriminator: maps `[images, labels]` to one logit each.
        num_classes: number of classes; read from the generator if `None`.
        latent_dim: size of $z$; read from the generator if `None`.
        seed: seed of the noise drawn inside `train_step`.
    """

    def __init__(
        self,
        generator,
        discriminator,
        num_classes: int | None = None,
        latent_dim=None,
        seed=1337,
        **kwargs,
    ):
        if len(generator.inputs) != 2 or len(discriminator.inputs) != 2:
            raise ValueError(
                "Expected a generator taking [noise, labels] and a discriminator taking "
                "[images, labels] (build them with num_classes=...). Received: "
                f"{len(generator.inputs)} and {len(discriminator.inputs)} inputs."
            )
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed, **kwargs)
        self.num_classes = int(num_classes or self._embedding_size(generator))

    @staticmethod
    def _embedding_size(generator) -> int:
        embeddings = [
            layer for layer in generator.layers if isinstance(layer, keras.layers.Embedding)
        ]
        if not embeddings:
            raise ValueError(
                "Pass num_classes=...: the generator has no Embedding layer to read it from."
            )
        return int(embeddings[0].input_dim)

    def unpack_batch(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError(
                "ConditionalGAN.fit expects (images, labels) batches. Received a batch without labels: "
                "pass fit(x=images, y=labels) or a dataset of (images, labels)."
            )
        return data[0], data[1]

    def generator_inputs(self, noise, labels):
        return [noise, ops.reshape(ops.cast(labels, "int32"), (-1, 1))]

    def discriminator_inputs(self, samples, labels):
        return [samples, ops.reshape(ops.cast(labels, "int32"), (-1, 1))]

    def default_labels(self, n: int):
        """0, 1, ..., num_classes-1, 0, 1, ...: every class in turn."""
        return np.arange(n) % self.num_classes

    def fit(self, x=None, y=None, *args, **kwargs):
        if isinstance(x, np.ndarray) and y is None:
            raise ValueError("ConditionalGAN.fit expects labels: fit(x=images, y=labels).")
        if y is not None:
            y = np.asarray(y)
            if y.min() < 0 or y.max() >= self.num_classes:
                raise ValueError(
                    f"Expected integer labels in [0, {self.num_classes - 1}]. "
                    f"Received: min={y.min()}, max={y.max()}."
                )
        return super().fit(x, y, *args, **kwargs)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
