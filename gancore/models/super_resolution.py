"""Learned super-resolution: a residual upsampler, trained alone (L1) or against a discriminator.

The network predicts only what bicubic interpolation misses (the residual
learning of Kim et al. 2016): its output is `bicubic(low) + r(low)`, and the
last convolution starts at zero, so an untrained network *is* the bicubic
upsampler and training can only start from that baseline. Trained with
`compile(loss="mae")` and `fit(low, high)` it minimises the L1 distance to
the true high-resolution image, whose optimum is the per-pixel median of the
plausible images: sharp where the low-resolution image decides, blurred where
it does not.

`SuperResolutionGAN` adds an adversarial term (SRGAN, Ledig et al. 2017): a
discriminator learns to tell real high-resolution images from upsampled ones
and the upsampler is trained on

    L_G = L1(G(low), high) + adversarial_weight * -log D(G(low)),

which trades some pixel accuracy (PSNR) for outputs that look like real
images (Blau & Michaeli 2018). Images are in [0, 1].

The discriminator sees real and upsampled images in one batch, in both steps.
Fed all-real and all-fake batches apart, a BatchNorm discriminator would
normalise each kind with that kind's own statistics while training, but with
the mixed moving averages at inference, so what it learns in training need
not carry over.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from gancore import losses
from gancore.gradients import OptimizerPair, StatelessTrainStep, minimize
from gancore.models.serialization import with_submodels


def super_resolution_network(
    low_shape=(14, 14, 1),
    scale: int = 2,
    filters: int = 32,
    blocks: int = 2,
    name: str = "super_resolution",
) -> keras.Model:
    """A residual upsampler: low (h, w, c) -> high (scale * h, scale * w, c).

    Features are computed at the low resolution (cheap), upsampled once by a
    transposed convolution, refined at the high resolution, and added as a
    correction to the bicubic upsampling of the input.

    Args:
        low_shape: (height, width, channels) of the low-resolution input.
        scale: the upsampling factor (2 or 4).
        filters: channels of every hidden convolution.
        blocks: residual blocks (two 3x3 convolutions each) at the low resolution.
        name: the model's name.
    """
    shape = tuple(int(s) for s in low_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"Expected low_shape=(height, width, channels). Received: low_shape={low_shape}."
        )
    if scale not in (2, 4):
        raise ValueError(f"Expected scale 2 or 4. Received: scale={scale}.")
    if blocks < 0 or filters < 1:
        raise ValueError(
            f"Expected blocks >= 0 and filters >= 1. Received: blocks={blocks}, filters={filters}."
        )
    low = keras.Input(shape, name="low_resolution")
    base = layers.UpSampling2D(scale, interpolation="bicubic", name="bicubic")(
        low
    )  # (batch, sH, sW, c)
    h = layers.Conv2D(filters, 3, padding="same", activation="relu")(low)  # (batch, H, W, filters)
    for _ in range(blocks):
        r = layers.Conv2D(filters, 3, padding="same", activation="relu")(h)
        r = layers.Conv2D(filters, 3, padding="same")(r)
        h = layers.ReLU()(layers.Add()([h, r]))
    h = layers.Conv2DTranspose(
        filters, 2 * scale, strides=scale, padding="same", activation="relu"
    )(h)
    h = layers.Conv2D(filters, 3, padding="same", activation="relu")(h)  # (batch, sH, sW, filters)
    # Zero-initialised: the untrained network returns exactly the bicubic image.
    residual = layers.Conv2D(
        shape[-1], 3, padding="same", kernel_initializer="zeros", name="residual"
    )(h)
    high = layers.Add(name="high_resolution")([base, residual])
    return keras.Model(low, high, name=name)


@keras.saving.register_keras_serializable(package="gancore")
class SuperResolutionGAN(StatelessTrainStep, keras.Model):
    """An upsampler trained on L1 plus an adversarial term against a discriminator.

    `fit(low, high)` or a dataset of `(low, high)` batches. Trackers:
    `d_loss`, `g_loss` (the total L_G), `l1_loss`, `adversarial_loss`, and
    the discriminator's accuracy on real (`d_acc_real`) and upsampled
    (`d_acc_fake`) images.

    Args:
        generator: low -> high images, e.g. `super_resolution_network(...)`.
        discriminator: high-resolution image -> one logit, e.g.
            `networks.dcgan_discriminator(...)`; it sees images in [0, 1],
            real and upsampled ones together in every batch.
        adversarial_weight: weight of -log D(G(low)) in L_G; 0 trains on L1
            alone (the discriminator still learns, but G ignores it).
    """

    def __init__(self, generator, discriminator, adversarial_weight: float = 1e-2, **kwargs):
        super().__init__(**kwargs)
        if not adversarial_weight >= 0:
            raise ValueError(
                f"Expected adversarial_weight >= 0. Received: adversarial_weight={adversarial_weight}."
            )
        g_out = tuple(generator.outputs[0].shape[1:])
        d_in = tuple(discriminator.inputs[0].shape[1:])
        if g_out != d_in:
            raise ValueError(
                f"The generator outputs images of shape {g_out} but the discriminator takes {d_in}. "
                "Build the discriminator for the high-resolution shape."
            )
        self.generator = generator
        self.discriminator = discriminator
        self.adversarial_weight = float(adversarial_weight)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.l1_tracker = keras.metrics.Mean(name="l1_loss")
        self.adversarial_tracker = keras.metrics.Mean(name="adversarial_loss")
        self.d_acc_real_tracker = keras.metrics.Mean(name="d_acc_real")
        self.d_acc_fake_tracker = keras.metrics.Mean(name="d_acc_fake")
        self.built = True  # both sub-models are built; the wrapper has no weights of its own

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.l1_tracker,
            self.adversarial_tracker,
            self.d_acc_real_tracker,
            self.d_acc_fake_tracker,
        ]

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Sets the two optimizers (default Adam(1e-4, beta_1=0.9) as in SRGAN); **kwargs go to Keras."""
        for key in ("optimizer", "loss", "metrics"):
            if key in kwargs:
                raise ValueError(
                    "SuperResolutionGAN.compile takes g_optimizer/d_optimizer, not "
                    f"{key}=. Received: {key}={kwargs[key]!r}."
                )
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(1e-4)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(1e-4)
        # Keras sees both as the model's `optimizer` (it builds them, and on JAX
        # carries their step counts and moments through the compiled step).
        self.optimizer = OptimizerPair(
            (self.d_optimizer, lambda: self.discriminator.trainable_variables),
            (self.g_optimizer, lambda: self.generator.trainable_variables),
        )
        self._compile_kwargs = {
            k: v
            for k, v in kwargs.items()
            if k in ("jit_compile", "steps_per_execution", "run_eagerly")
        }

    def train_step(self, data):
        low, high, _ = keras.utils.unpack_x_y_sample_weight(data)
        if high is None:
            raise ValueError("SuperResolutionGAN trains on (low, high) pairs. Received: low only.")
        low, high = (
            ops.convert_to_tensor(low),
            ops.convert_to_tensor(high),
        )  # NumPy from train_on_batch

        # 1. Discriminator: real high-resolution images -> "real", upsampled ones -> "fake".
        fake = ops.stop_gradient(self.generator(low, training=True))  # G is fixed in the D step

        def d_objective():
            # One batch of both kinds: BatchNorm in D must not see all-real and all-fake batches.
            logits = self.discriminator(ops.concatenate([high, fake]), training=True)
            real_logits, fake_logits = ops.split(logits, 2)  # (batch, 1) each
            return losses.discriminator_loss(real_logits, fake_logits), (real_logits, fake_logits)

        d_loss, (real_logits, fake_logits) = minimize(
            self.d_optimizer, d_objective, self.discriminator.trainable_variables
        )

        # 2. Upsampler: close to the truth in L1, and called real by D. Only G's weights move.
        def g_objective():
            upsampled = self.generator(low, training=True)
            l1_loss = ops.mean(ops.abs(upsampled - high))
            logits = self.discriminator(ops.concatenate([high, upsampled]), training=True)
            _, fake_logits = ops.split(logits, 2)  # D judges as in its own step; G reads the fakes
            adversarial_loss = losses.generator_loss_non_saturating(fake_logits)
            total = l1_loss + self.adversarial_weight * adversarial_loss
            return total, (l1_loss, adversarial_loss)

        g_loss, (l1_loss, adversarial_loss) = minimize(
            self.g_optimizer, g_objective, self.generator.trainable_variables
        )
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.l1_tracker.update_state(l1_loss)
        self.adversarial_tracker.update_state(adversarial_loss)
        # How often D is right: both near 0.5 means it cannot tell upsampled from real.
        self.d_acc_real_tracker.update_state(ops.mean(ops.cast(real_logits > 0, "float32")))
        self.d_acc_fake_tracker.update_state(ops.mean(ops.cast(fake_logits < 0, "float32")))
        return {m.name: m.result() for m in self.metrics}

    def call(self, low, training=False):
        """`model(low)` is `generator(low)`."""
        return self.generator(low, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "adversarial_weight": self.adversarial_weight,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**with_submodels(config, "generator", "discriminator"))

    def get_compile_config(self):
        if not hasattr(self, "g_optimizer"):
            return {}
        return {
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            **self._compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        self.compile(
            g_optimizer=keras.saving.deserialize_keras_object(config.pop("g_optimizer")),
            d_optimizer=keras.saving.deserialize_keras_object(config.pop("d_optimizer")),
            **config,
        )
        # Build the optimizers' slots now, so loading fills in their saved state.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
