"""A style-based generator {cite}`karras2019style` in its StyleGAN2 form {cite}`karras2020analyzing`.

The generator has two parts:

- the *mapping network* turns $z \\sim \\mathcal{N}(0, I)$ into a style
  vector $w$ with a few dense layers;
- the *synthesis network* starts from a learned constant, not from $z$, and
  every convolution is *modulated* by $w$: an affine layer turns $w$ into one
  scale $s_i$ per input channel, the convolution runs on the scaled
  activations, and *demodulation* divides each output channel by
  $\\sqrt{\\sum_{i,k} (s_i W_{ijk})^2}$, the norm that output would have for
  unit-variance inputs. Scaling the activations and the outputs gives the
  same result as building a kernel per sample, with one shared convolution.
  Per-pixel noise, scaled by a learned strength per channel, is added after
  each convolution.

Each modulated layer reads its own row of `ws`, shape (batch, layers, w_dim).
Training feeds one $w$ to every row, or, with *style mixing*, $w_1$ to the
rows before a random crossover and $w_2$ after it, so that neighbouring
layers do not learn to depend on sharing a style. In the papers the coarse
rows (here 7x7 and 14x14) set the layout and the fine rows (28x28) the
details; chapter 14 measures how far this generator on MNIST splits the work
that way.

`StyleGAN` trains the two parts and a discriminator by `fit` with the
non-saturating loss and the R1 penalty on real images
{cite}`mescheder2018training`, $\\frac{\\gamma}{2}\\mathbb{E}_x\\lVert\\nabla_x D(x)\\rVert^2$.
It tracks the mean style $\\bar w$ for the *truncation trick*:
$w' = \\bar w + \\psi (w - \\bar w)$ with $\\psi < 1$ trades variety for
fidelity.

The output layer is where this generator departs from StyleGAN2, whose
image comes from a modulated 1x1 convolution with a linear output. On MNIST
that layer was the main reason the generator collapsed onto a few digits.
`scripts/stylegan_ablation.py` trained each variant for 600 steps of 64
digits and scored 2,000 samples (Fréchet distance in the evaluator's
features, classes covered): with the linear 1x1 output, FD 74 and 83 (two
seeds, 4-6 classes), or 76 without the mapping network; with a plain 3x3
convolution, `tanh` and $\\mathcal{N}(0, 0.02^2)$ weights as in the DCGAN
chapters, FD 47 (8 classes), or 37-38 without the mapping (three seeds,
9-10 classes). So the image comes from that plain layer, which reads no
style; the five modulated convolutions read one style row each.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from gancore import losses
from gancore.gradients import batch_mean, minimize, per_replica_draw
from gancore.models.gan import GAN
from gancore.models.networks import batch_norm_layers
from gancore.models.progressive import PixelNormalization
from gancore.models.serialization import with_submodels

LATENT_DIM = 64  # z and w


@keras.saving.register_keras_serializable(package="gancore")
class ModulatedConv2D(layers.Layer):
    """A convolution modulated by one row of the styles, optionally demodulated.

    Called on `[x, ws]`: `x` (batch, h, w, channels_in), `ws` (batch, layers,
    w_dim). Row `style_index` of `ws` goes through a dense layer (bias 1, so
    the scales start near one) to the scales $s$ (batch, channels_in).

    Args:
        filters: output channels.
        kernel_size: square kernel size.
        style_index: which row of `ws` this layer reads.
        demodulate: divide each output channel by its expected norm (off for
            the to-image layer, as in StyleGAN2).
        upsample: double the input's size (bilinear) before the convolution.
        epsilon: added under the square root of the demodulation.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int = 3,
        style_index: int = 0,
        demodulate: bool = True,
        upsample: bool = False,
        epsilon: float = 1e-8,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.style_index = int(style_index)
        self.demodulate = bool(demodulate)
        self.upsample = bool(upsample)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        x_shape, ws_shape = input_shape
        channels = int(x_shape[-1])
        if not 0 <= self.style_index < ws_shape[1]:
            raise ValueError(
                f"style_index {self.style_index} is outside the {ws_shape[1]} rows of the styles."
            )
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, channels, self.filters),
            initializer=keras.initializers.HeNormal(),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        # s = 1 + A w with A ~ N(0, 1/w_dim): for unit-scale w the scales vary by about one,
        # as in StyleGAN2. Keras's default (Glorot) A left them within ~0.3 of one: every z drew
        # nearly the same image and training started from a collapsed generator.
        self.affine = layers.Dense(
            channels,
            kernel_initializer=keras.initializers.RandomNormal(stddev=ws_shape[-1] ** -0.5),
            bias_initializer="ones",
            name="affine",
        )
        self.affine.build((None, ws_shape[-1]))

    def scales(self, ws):
        """$s$, shape (batch, channels_in), from this layer's row of `ws`."""
        return self.affine(ws[:, self.style_index])

    def call(self, inputs):
        x, ws = inputs
        s = self.scales(ws)  # (batch, channels_in)
        if self.upsample:
            size = (2 * x.shape[1], 2 * x.shape[2])
            x = ops.image.resize(x, size, interpolation="bilinear")
        y = ops.conv(x * s[:, None, None, :], self.kernel, padding="same")
        if self.demodulate:
            # sum over the kernel's window and inputs of (s_i W_ijk)^2, per sample and output.
            energy = ops.matmul(ops.square(s), ops.sum(ops.square(self.kernel), axis=(0, 1)))
            y = y * ops.rsqrt(energy + self.epsilon)[:, None, None, :]
        return y + self.bias

    def compute_output_shape(self, input_shape):
        x_shape = input_shape[0]
        factor = 2 if self.upsample else 1
        height = None if x_shape[1] is None else factor * x_shape[1]
        width = None if x_shape[2] is None else factor * x_shape[2]
        return (x_shape[0], height, width, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "style_index": self.style_index,
            "demodulate": self.demodulate,
            "upsample": self.upsample,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="gancore")
class NoiseInjection(layers.Layer):
    """Adds a noise map, scaled by a learned strength per channel (zero at the start).

    Called on `[x, noise]`: `x` (batch, h, w, channels), `noise` (batch, h, w, 1).
    """

    def build(self, input_shape):
        self.strength = self.add_weight(
            shape=(int(input_shape[0][-1]),), initializer="zeros", name="strength"
        )

    def call(self, inputs):
        x, noise = inputs
        return x + noise * self.strength

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="gancore")
class ConstantInput(layers.Layer):
    """The synthesis network's learned starting map, repeated for every sample of the batch."""

    def __init__(self, size: int, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.channels = int(channels)

    def build(self, input_shape):
        self.constant = self.add_weight(
            shape=(1, self.size, self.size, self.channels),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            name="constant",
        )

    def call(self, ws):
        return ops.repeat(self.constant, ops.shape(ws)[0], axis=0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "channels": self.channels}


@keras.saving.register_keras_serializable(package="gancore")
class BroadcastStyle(layers.Layer):
    """Repeats one style $w$ (batch, w_dim) for every modulated layer: (batch, layers, w_dim)."""

    def __init__(self, num_layers: int, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = int(num_layers)

    def call(self, w):
        return ops.repeat(w[:, None, :], self.num_layers, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_layers, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers}


@keras.saving.register_keras_serializable(package="gancore")
class MinibatchStdDev(layers.Layer):
    """Appends one channel that says how much the batch varies, so the discriminator sees collapse.

    The standard deviation of every feature over the batch, averaged to one
    number, is broadcast as an extra feature map to every sample
    {cite}`karras2018progressive` (the paper takes it over groups of four; over
    the whole batch it works with any batch size). A generator that draws one
    image for every z gives a zero there, which a real batch never has. Without
    it, and without BatchNorm, the discriminator judges each image alone. On
    several TensorFlow replicas the spread is still the global batch's
    (`gradients.batch_mean`), so the step is the one a single device takes.
    """

    def call(self, x):
        mean = batch_mean(x)
        variance = batch_mean(ops.square(x - mean))
        # sqrt(var + eps), not a plain std: the square root's slope is infinite at zero spread.
        spread = ops.mean(ops.sqrt(variance + 1e-8))  # one number for the batch
        return ops.concatenate([x, ops.ones_like(x[..., :1]) * spread], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


def style_discriminator(width: int = 32, image_shape=(28, 28, 1), name: str = "discriminator"):
    """28x28 images -> one logit: the DCGAN discriminator without BatchNorm, with the batch's spread.

    Two strided 4x4 convolutions (28 -> 14 -> 7, `width` and `2 * width`
    filters, LeakyReLU(0.2)), the `MinibatchStdDev` channel, a 3x3 convolution
    and a dense logit. No BatchNorm: the R1 penalty is taken per image.
    """
    image = keras.Input(image_shape, name="image")
    x = image
    for i, filters in enumerate((width, 2 * width)):
        x = layers.Conv2D(filters, 4, strides=2, padding="same", name=f"conv_{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"lrelu_{i}")(x)
    x = MinibatchStdDev(name="batch_spread")(x)
    x = layers.Conv2D(2 * width, 3, padding="same", name="conv_2")(x)
    x = layers.LeakyReLU(0.2, name="lrelu_2")(x)
    logit = layers.Dense(1, name="logit")(layers.Flatten(name="flatten")(x))
    return keras.Model(image, logit, name=name)


def mapping_network(latent_dim: int = LATENT_DIM, depth: int = 4, name: str = "mapping"):
    """z (batch, latent_dim) -> w (batch, latent_dim): pixel norm, then `depth` dense layers.

    The papers use eight layers for 512-d styles; four are enough for digits.
    """
    z = keras.Input((latent_dim,), name="z")
    w = PixelNormalization(name="normalize_z")(z)
    for i in range(depth):
        # He initialisation keeps w at about unit scale through the LeakyReLUs (Glorot halves
        # its variance at every layer).
        w = layers.Dense(latent_dim, kernel_initializer="he_normal", name=f"dense_{i}")(w)
        w = layers.LeakyReLU(0.2, name=f"lrelu_{i}")(w)
    return keras.Model(z, w, name=name)


# The synthesis network's modulated convolutions: (resolution, upsample first).
_CONVOLUTIONS = ((7, False), (14, True), (14, False), (28, True), (28, False))
NUM_STYLES = len(_CONVOLUTIONS)  # one style row per modulated convolution
NOISE_SHAPES = tuple((size, size, 1) for size, _ in _CONVOLUTIONS)
COARSE_STYLES = 3  # rows 0-2 act at 7x7 and 14x14; rows 3-4 at 28x28
# The DCGAN chapters' initialisation, for the plain tanh output layer.
_OUTPUT_INIT = keras.initializers.RandomNormal(stddev=0.02)


def synthesis_network(
    w_dim: int = LATENT_DIM, filters=(64, 64, 32), channels: int = 1, name: str = "synthesis"
):
    """[ws, noise maps] -> 28x28 images in [-1, 1], from a plain 3x3 `tanh` output layer.

    Args:
        w_dim: size of each style row.
        filters: channels at 7x7, 14x14 and 28x28.
        channels: image channels.
        name: the model's name.

    Inputs: `ws` (batch, NUM_STYLES, w_dim) and one noise map per convolution,
    shapes `NOISE_SHAPES` (7x7, 14x14, 14x14, 28x28, 28x28).
    """
    if len(filters) != 3:
        raise ValueError(f"Expected filters for 7x7, 14x14 and 28x28. Received: {filters}.")
    ws = keras.Input((NUM_STYLES, w_dim), name="ws")
    noises = [keras.Input(shape, name=f"noise_{i}") for i, shape in enumerate(NOISE_SHAPES)]
    width = dict(zip((7, 14, 28), filters, strict=True))
    x = ConstantInput(7, width[7], name="constant")(ws)
    for i, ((size, upsample), noise) in enumerate(zip(_CONVOLUTIONS, noises, strict=True)):
        x = ModulatedConv2D(width[size], 3, i, upsample=upsample, name=f"conv_{i}")([x, ws])
        x = NoiseInjection(name=f"noise_strength_{i}")([x, noise])
        x = layers.LeakyReLU(0.2, name=f"lrelu_{i}")(x)
    # Not StyleGAN2's modulated linear 1x1: see the module's docstring for what that did here.
    to_image = layers.Conv2D(
        channels,
        3,
        padding="same",
        activation="tanh",
        kernel_initializer=_OUTPUT_INIT,
        name="to_image",
    )
    return keras.Model([ws, *noises], to_image(x), name=name)


def style_generator(mapping, synthesis, name: str = "generator"):
    """[z, noise maps] -> images: the mapping, one $w$ for every row, then the synthesis."""
    z = keras.Input(mapping.inputs[0].shape[1:], name="z")
    noises = [
        keras.Input(t.shape[1:], name=f"noise_{i}") for i, t in enumerate(synthesis.inputs[1:])
    ]
    ws = BroadcastStyle(synthesis.inputs[0].shape[1], name="broadcast")(mapping(z))
    return keras.Model([z, *noises], synthesis([ws, *noises]), name=name)


@keras.saving.register_keras_serializable(package="gancore")
class StyleGAN(GAN):
    """A style-based generator and a discriminator trained by `fit`.

    Args:
        mapping: z -> w, e.g. `mapping_network()`.
        synthesis: [ws, noise maps] -> images, e.g. `synthesis_network()`.
        discriminator: images -> one logit each, without BatchNorm (the R1
            penalty is taken per sample), e.g. `style_discriminator()`.
        r1_weight: $\\gamma$ of the R1 penalty; 0 turns it off.
        style_mixing: the share of training samples drawn from two styles.
        w_avg_decay: how slowly the tracked mean style $\\bar w$ moves.
        seed: seed of the noise drawn in `train_step`.

    Example:
        ```python
        gan = StyleGAN(mapping_network(), synthesis_network(), style_discriminator())
        gan.compile()  # Adam(2e-4, beta_1=0.5) for both
        gan.fit(images, batch_size=64, epochs=5)
        samples = gan.generate(16, truncation=0.7)
        ```
    """

    def __init__(
        self,
        mapping,
        synthesis,
        discriminator,
        r1_weight: float = 1.0,
        style_mixing: float = 0.9,
        w_avg_decay: float = 0.995,
        seed: int = 1337,
        **kwargs,
    ):
        if r1_weight < 0 or not 0 <= style_mixing <= 1 or not 0 <= w_avg_decay < 1:
            raise ValueError(
                "Expected r1_weight >= 0, style_mixing in [0, 1] and w_avg_decay in [0, 1). "
                f"Received: {r1_weight}, {style_mixing}, {w_avg_decay}."
            )
        if r1_weight > 0 and batch_norm_layers(discriminator):
            raise ValueError(
                "The R1 penalty is taken per sample, but the discriminator has BatchNormalization "
                "layers. Build it without them, e.g. dcgan_discriminator(batch_norm=False)."
            )
        super().__init__(style_generator(mapping, synthesis), discriminator, seed=seed, **kwargs)
        # The two parts live inside `generator`; these names find them there.
        self._part_names = (mapping.name, synthesis.name)
        self.r1_weight = float(r1_weight)
        self.style_mixing = float(style_mixing)
        self.w_avg_decay = float(w_avg_decay)
        self.num_styles = int(synthesis.inputs[0].shape[1])
        self.noise_shapes = [tuple(t.shape[1:]) for t in synthesis.inputs[1:]]
        self.w_avg = self.add_weight(
            shape=(self.latent_dim,), initializer="zeros", trainable=False, name="w_avg"
        )
        self.r1_tracker = keras.metrics.Mean(name="r1")

    @property
    def mapping(self):
        """z -> w."""
        return self.generator.get_layer(self._part_names[0])

    @property
    def synthesis(self):
        """[ws, noise maps] -> images."""
        return self.generator.get_layer(self._part_names[1])

    @property
    def metrics(self):
        return [*super().metrics, self.r1_tracker]

    # -- styles and noise -----------------------------------------------------------

    def draw_noise(self, batch_size):
        """Fresh noise maps for every convolution, from the model's seed generator."""
        return [
            per_replica_draw(
                lambda n, shape=shape: keras.random.normal((n, *shape), seed=self.seed_generator),
                batch_size,
            )
            for shape in self.noise_shapes
        ]

    def mixing_rows(self, batch_size):
        """(batch, rows, 1): 1 where a row takes the second style, 0 where it keeps the first.

        A share `style_mixing` of the samples switch at a crossover drawn
        uniformly from rows 1 to rows-1; the others use one style throughout.
        """

        def uniform(n):
            return keras.random.uniform((n, 1), seed=self.seed_generator)

        mixed = per_replica_draw(uniform, batch_size) < self.style_mixing
        u = per_replica_draw(uniform, batch_size)
        crossover = ops.floor(1 + u * (self.num_styles - 1))  # 1, ..., rows - 1
        rows = ops.arange(self.num_styles, dtype="float32")[None, :]
        second = ops.logical_and(mixed, rows >= crossover)
        return ops.cast(second, "float32")[:, :, None]

    def mixed_styles(self, z1, z2, second_rows, training=False):
        """ws (batch, rows, w_dim): row r from $w(z_2)$ where `second_rows` is 1, else from $w(z_1)$."""
        w1 = self.mapping(z1, training=training)[:, None, :]
        w2 = self.mapping(z2, training=training)[:, None, :]
        return w1 + second_rows * (w2 - w1)

    # -- training -----------------------------------------------------------------

    def train_step(self, data):
        real, labels = self.unpack_batch(data)
        self._check_batch_shape(real)
        batch_size = ops.shape(real)[0]

        # 1. Discriminator step, with R1 on the real images.
        z1, z2 = self.sample_latent(batch_size), self.sample_latent(batch_size)
        ws = self.mixed_styles(z1, z2, self.mixing_rows(batch_size), training=True)
        fake = ops.stop_gradient(self.synthesis([ws, *self.draw_noise(batch_size)], training=True))

        def d_objective():
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = losses.discriminator_loss(real_logits, fake_logits)
            r1 = ops.zeros(())
            if self.r1_weight > 0:
                r1 = losses.r1_penalty(lambda x: self.discriminator(x, training=True), real)
            return d_loss + 0.5 * self.r1_weight * r1, (d_loss, r1, real_logits, fake_logits)

        _, (d_loss, r1, real_logits, fake_logits) = minimize(
            self.d_optimizer, d_objective, self.discriminator.trainable_variables
        )

        # 2. Generator step: mapping and synthesis both move.
        z1, z2 = self.sample_latent(batch_size), self.sample_latent(batch_size)
        second_rows = self.mixing_rows(batch_size)
        noise = self.draw_noise(batch_size)

        def g_objective():
            ws = self.mixed_styles(z1, z2, second_rows, training=True)
            fake_logits = self.discriminator(
                self.synthesis([ws, *noise], training=True), training=True
            )
            return losses.generator_loss_non_saturating(fake_logits)

        g_loss = minimize(self.g_optimizer, g_objective, self.generator.trainable_variables)

        w_mean = ops.mean(ops.stop_gradient(self.mapping(z1, training=False)), axis=0)
        self.w_avg.assign(w_mean + self.w_avg_decay * (self.w_avg - w_mean))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_acc_real_tracker.update_state(ops.mean(ops.cast(real_logits > 0, "float32")))
        self.d_acc_fake_tracker.update_state(ops.mean(ops.cast(fake_logits < 0, "float32")))
        self.r1_tracker.update_state(r1)
        return {m.name: m.result() for m in self.metrics}

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Sets the two optimizers (default `Adam(2e-4, beta_1=0.5)`); the loss is non-saturating."""
        for key in ("loss", "label_smoothing"):
            if key in kwargs:
                raise ValueError(
                    f"StyleGAN trains with the non-saturating loss and R1; {key}= does not apply."
                )
        super().compile(d_optimizer, g_optimizer, **kwargs)

    # -- sampling -----------------------------------------------------------------

    def generator_inputs(self, noise, labels):
        return [noise, *self.draw_noise(ops.shape(noise)[0])]

    def call(self, inputs, training=False):
        """`gan(z)`: images from z with fresh noise maps."""
        return self.generator(self.generator_inputs(inputs, None), training=training)

    def styles(self, z, truncation: float = 1.0) -> np.ndarray:
        """$w$ for each row of `z` (batch, latent_dim), pulled towards $\\bar w$ by `truncation` ($\\psi$)."""
        w = self.mapping(ops.convert_to_tensor(np.asarray(z, "float32")), training=False)
        return ops.convert_to_numpy(self.w_avg + truncation * (w - self.w_avg))

    def synthesize(self, ws, seed: int = 0, noise=None, batch_size: int = 256) -> np.ndarray:
        """Images from styles: `ws` (n, w_dim) for one style throughout, or (n, rows, w_dim).

        The noise maps are drawn with `seed`, or passed as `noise`, a list of
        arrays of shapes (n, *NOISE_SHAPES[i]) (e.g. zeros, or the same maps
        for every image).
        """
        ws = np.asarray(ws, "float32")
        if ws.ndim == 2:
            ws = np.repeat(ws[:, None, :], self.num_styles, axis=1)
        if ws.ndim != 3 or ws.shape[1:] != (self.num_styles, self.latent_dim):
            raise ValueError(
                f"Expected styles of shape (n, {self.latent_dim}) or (n, {self.num_styles}, "
                f"{self.latent_dim}). Received: shape={ws.shape}."
            )
        if noise is None:
            rng = np.random.default_rng(seed)
            noise = [
                rng.standard_normal((len(ws), *s)).astype("float32") for s in self.noise_shapes
            ]
        out = []
        for start in range(0, len(ws), batch_size):
            chunk = slice(start, start + batch_size)
            inputs = [ws[chunk], *(np.asarray(n, "float32")[chunk] for n in noise)]
            out.append(ops.convert_to_numpy(self.synthesis(inputs, training=False)))
        return np.concatenate(out).astype("float32")

    def generate(
        self, n_or_noise, labels=None, batch_size: int = 256, seed: int = 0, truncation: float = 1.0
    ) -> np.ndarray:
        """Samples as a NumPy array in [-1, 1]: z drawn with `seed` (or given), noise maps too.

        Args:
            n_or_noise: a number of samples, or the latent vectors z (n, latent_dim).
            labels: unused (the model is unconditional).
            batch_size: generate in chunks of this size.
            seed: the seed of z (when a number is given) and of the noise maps.
            truncation: $\\psi$; 1 samples the learned distribution, smaller
                values pull every style towards the mean style.
        """
        z = self.latent_vectors(n_or_noise, seed)
        ws = np.concatenate(
            [self.styles(z[i : i + batch_size], truncation) for i in range(0, len(z), batch_size)]
        )
        return self.synthesize(ws, seed=seed + 1, batch_size=batch_size)

    # -- saving -------------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        del config["generator"], config["latent_dim"]  # rebuilt from the two parts
        return {
            **config,
            "mapping": keras.saving.serialize_keras_object(self.mapping),
            "synthesis": keras.saving.serialize_keras_object(self.synthesis),
            "r1_weight": self.r1_weight,
            "style_mixing": self.style_mixing,
            "w_avg_decay": self.w_avg_decay,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**with_submodels(config, "mapping", "synthesis", "discriminator"))

    def get_compile_config(self):
        config = super().get_compile_config()
        for key in ("loss", "label_smoothing"):
            config.pop(key, None)
        return config
