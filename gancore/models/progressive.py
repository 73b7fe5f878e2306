"""Progressive growing of GANs {cite}`karras2018progressive`, shown small: 7x7 -> 14x14 -> 28x28.

Training starts with a generator and a discriminator that only know 7x7
images. Once they have learned the coarse layout of a digit, a block that
doubles the resolution is added to both, and so on up to 28x28. A new block
is *faded in*: for a while the generator's output is the blend

$$\\text{image} = (1 - \\alpha)\\, \\mathrm{up}(\\text{old path}) + \\alpha\\, \\text{new path},$$

with $\\alpha$ ramped linearly from 0 to 1, so the trained layers never see a
sudden change. The discriminator blends its input path the same way, and the
real images it is shown are blended between the two resolutions too.

How this fits into Keras:

- **All blocks are built up front.** `ProgressiveGenerator` and
  `ProgressiveDiscriminator` create every block's weights in `__init__`; the
  Python attribute `stage` says how many blocks the forward pass uses, and a
  non-trainable variable `alpha` holds the fade. Growing never creates or
  touches a weight (the trained blocks keep theirs, bit for bit), and a
  `.keras` file holds the same variables at every stage. Blocks the current
  stage does not use are frozen (`trainable = False`), so the optimizers hold
  state only for weights that get gradients.
- **One `fit` per resolution.** A Keras `fit` traces its train step once, at
  its start (on JAX it also gathers the variables then), so networks that
  changed shape in the middle of a `fit` would keep training the old graph.
  `ProgressiveGAN.grow()` therefore runs between `fit` calls; the
  `ProgressiveGrowing` callback calls it when a `fit` ends. Growing
  recompiles with fresh optimizers of the same settings: that drops the
  traced step, lets the optimizers take the new variables, and resets Adam's
  moments when new layers come in, as the authors' released code does by
  default.
- **The fade is the model's own state.** `ProgressiveGAN.train_step` is
  chapter 4's `GAN.train_step` followed by one tick of the fade counter, so
  $\\alpha$ advances inside the compiled step on every backend (on JAX a
  callback's assignment between two steps would not reach the step), and a
  model saved mid-fade resumes where it was.
- **Same losses, same data, same sampling as `GAN`.** Both networks take and
  give full-size images at every stage: the generator repeats the pixels of
  its 7x7 or 14x14 picture (nearest neighbour), the discriminator averages
  blocks of pixels back down, which undoes that exactly. So `fit` data,
  `generate`, the losses and the metrics are the chapter-4 GAN's; only
  `unpack_batch` changes, to show the discriminator real images at the
  current resolution. (The authors' code gives its networks one input and
  output size the same way.)

The networks are the DCGAN of chapter 4 cut into blocks (transposed 4x4
convolutions up, strided 4x4 convolutions down, BatchNorm in the
discriminator's blocks), plus the paper's pieces that growing needs: 1x1
"to image" and "from image" convolutions at every resolution, and pixel
normalisation instead of BatchNorm in the generator. Left out: equalised
learning rate, minibatch standard deviation and the WGAN-GP loss; the loss is
chapter 4's, so that a comparison with the DCGAN isolates the growing.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from gancore.models.gan import GAN


def fade_in_alpha(step: int, fade_steps: int) -> float:
    """$\\alpha$ after `step` steps of a fade that lasts `fade_steps` steps: a linear ramp from 0 to 1.

    Args:
        step: steps trained since the new resolution was added (0 at the start).
        fade_steps: length of the fade; 0 means no fade ($\\alpha = 1$ at once).

    Returns:
        `min(step / fade_steps, 1)`.
    """
    if step < 0 or fade_steps < 0:
        raise ValueError(
            f"Expected step >= 0 and fade_steps >= 0. Received: step={step}, fade_steps={fade_steps}."
        )
    if fade_steps == 0:
        return 1.0
    return min(step / fade_steps, 1.0)


def downsample(images, factor: int):
    """Averages `factor` x `factor` blocks of pixels: (b, h, w, c) -> (b, h/factor, w/factor, c)."""
    if factor == 1:
        return images
    return ops.average_pool(images, pool_size=factor, strides=factor, padding="valid")


def upsample(images, factor: int):
    """Repeats every pixel `factor` x `factor` times (nearest neighbour): (b, h, w, c) -> (b, h*f, w*f, c)."""
    if factor == 1:
        return images
    return ops.repeat(ops.repeat(images, factor, axis=1), factor, axis=2)


def real_images_at(images, resolution: int, alpha=None):
    """Real images as the discriminator sees them at `resolution`, returned at full size.

    Averages the images down to `resolution`. While a new resolution fades in
    (`alpha` given), blends them with their half-resolution version the way
    the generator blends its outputs: $(1 - \\alpha)\\,\\mathrm{up}(\\mathrm{down}(x)) + \\alpha\\, x$.
    Then repeats pixels back to full size.

    Args:
        images: (batch, size, size, channels), `size` a multiple of `resolution`.
        resolution: the networks' current resolution.
        alpha: the fade, a number or variable in [0, 1]; `None` for no blend.
    """
    size = images.shape[1]
    x = downsample(images, size // resolution)  # (batch, resolution, resolution, c)
    if alpha is not None:
        coarse = upsample(downsample(x, 2), 2)
        x = coarse + alpha * (x - coarse)
    return upsample(x, size // resolution)


@keras.saving.register_keras_serializable(package="gancore")
class PixelNormalization(layers.Layer):
    """Scales each pixel's feature vector to unit root-mean-square: $x / \\sqrt{\\mathrm{mean}_c(x^2) + \\epsilon}$.

    The generator's normalisation in {cite}`karras2018progressive`: it keeps
    the magnitudes in the generator from escalating, without BatchNorm's
    dependence on the rest of the batch.
    """

    def __init__(self, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def _init():
    return keras.initializers.RandomNormal(stddev=0.02)


def _conv(filters, size, strides=1, name=None):
    return layers.Conv2D(
        filters, size, strides=strides, padding="same", kernel_initializer=_init(), name=name
    )


def _resolutions(image_shape, filters, start_size) -> tuple:
    """(start, 2*start, ...) up to the image size, after checking the arguments fit together."""
    image_shape = tuple(int(s) for s in image_shape)
    n = len(filters)
    if (
        len(image_shape) != 3
        or image_shape[0] != image_shape[1]
        or n < 1
        or start_size * 2 ** (n - 1) != image_shape[0]
    ):
        raise ValueError(
            "Expected a square image_shape (size, size, channels) with size = start_size * 2**(len(filters) - 1). "
            f"Received: image_shape={image_shape}, start_size={start_size}, filters={tuple(filters)}."
        )
    return tuple(start_size * 2**s for s in range(n))


class _Progressive(keras.Model):
    """What the generator and the discriminator share: stages, the fade variable, freezing."""

    def __init__(self, image_shape, filters, start_size, stage, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.filters = tuple(int(f) for f in filters)
        self.start_size = int(start_size)
        self.resolutions = _resolutions(self.image_shape, self.filters, self.start_size)
        if not 0 <= stage < len(self.resolutions):
            raise ValueError(
                f"Expected stage in [0, {len(self.resolutions) - 1}] (resolutions {self.resolutions}). "
                f"Received: stage={stage}."
            )
        self.stage = int(stage)
        # The fade: 1 at the first stage (nothing to fade in), 0 right after growing.
        self.alpha = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="alpha", dtype="float32"
        )

    @property
    def resolution(self) -> int:
        """The side of the images the network works at in its current stage."""
        return self.resolutions[self.stage]

    @property
    def num_stages(self) -> int:
        return len(self.resolutions)

    def grow(self):
        """Uses one more block: the resolution doubles and the fade restarts at $\\alpha = 0$."""
        if self.stage + 1 >= self.num_stages:
            raise ValueError(
                f"Cannot grow {self.name}: it is already at its full resolution {self.resolution}x{self.resolution}."
            )
        self.stage += 1
        self.alpha.assign(0.0)
        self._freeze_unused()

    def _freeze_unused(self):
        for layer, stages in self._layer_stages():
            layer.trainable = self.stage in stages

    def _layer_stages(self):
        """(layer, stages whose forward pass uses it) for every block."""
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "filters": self.filters,
            "start_size": self.start_size,
            "stage": self.stage,
        }


@keras.saving.register_keras_serializable(package="gancore")
class ProgressiveGenerator(_Progressive):
    """A generator that grows from `start_size` to the full image size, one doubling per stage.

    Stage 0: $z$ -> dense -> (start, start, filters[0]) -> to-image. Each
    later stage adds a block that doubles the resolution (a 4x4 transposed
    convolution with stride 2 and `filters[stage]` filters, as in DCGAN) and
    its own to-image layer (a 1x1 convolution with `tanh`). Every hidden layer
    is LeakyReLU(0.2) + pixel normalisation; weights start from N(0, 0.02).

    Args:
        latent_dim: size of $z$.
        image_shape: the full-size images, e.g. (28, 28, 1).
        filters: filters per resolution, one entry per stage, e.g.
            (64, 32, 16) for 7, 14 and 28 pixels.
        start_size: the first resolution (7 for 28x28 images).
        stage: how many blocks the forward pass uses beyond the first (0 at the start).

    Call: `generator(z)` returns (batch, *image_shape) at every stage (the
    current resolution with repeated pixels); `generator.native(z)` returns
    (batch, resolution, resolution, channels).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_shape=(28, 28, 1),
        filters=(64, 32, 16),
        start_size: int = 7,
        stage: int = 0,
        **kwargs,
    ):
        kwargs.setdefault("name", "progressive_generator")
        super().__init__(image_shape, filters, start_size, stage, **kwargs)
        self.latent_dim = int(latent_dim)
        channels = self.image_shape[-1]
        f0, start = self.filters[0], self.start_size
        self.latent_norm = PixelNormalization(name="latent_norm")
        self.latent_norm.build((None, self.latent_dim))
        self.stem = keras.Sequential(
            [
                layers.Dense(start * start * f0, kernel_initializer=_init()),
                layers.Reshape((start, start, f0)),  # (batch, start, start, filters[0])
                layers.LeakyReLU(0.2),
                PixelNormalization(),
            ],
            name=f"block_{start}",
        )
        self.stem.build((None, self.latent_dim))
        self.blocks = []  # blocks[i] doubles resolutions[i] to resolutions[i + 1]
        for i, resolution in enumerate(self.resolutions[1:]):
            block = keras.Sequential(
                [
                    layers.Conv2DTranspose(
                        self.filters[i + 1],
                        4,
                        strides=2,
                        padding="same",
                        kernel_initializer=_init(),
                    ),
                    layers.LeakyReLU(0.2),
                    PixelNormalization(),
                ],
                name=f"block_{resolution}",
            )
            block.build((None, resolution // 2, resolution // 2, self.filters[i]))
            self.blocks.append(block)
        self.to_image = []  # to_image[s]: features at resolutions[s] -> image
        for s, resolution in enumerate(self.resolutions):
            layer = layers.Conv2D(
                channels,
                1,
                activation="tanh",
                kernel_initializer=_init(),
                name=f"to_image_{resolution}",
            )
            layer.build((None, resolution, resolution, self.filters[s]))
            self.to_image.append(layer)
        self._freeze_unused()
        self.built = True

    def _layer_stages(self):
        n = self.num_stages
        yield self.stem, range(n)
        for i, block in enumerate(self.blocks):
            yield block, range(i + 1, n)
        for s, layer in enumerate(self.to_image):
            yield layer, (s, s + 1)  # its own stage, and the old path of the next one's fade

    def native(self, z, training=False):
        """Images at the current resolution: (batch, resolution, resolution, channels) in [-1, 1]."""
        x = self.stem(self.latent_norm(z), training=training)  # (batch, start, start, filters[0])
        previous = x
        for block in self.blocks[: self.stage]:
            previous = x
            x = block(x, training=training)
        image = self.to_image[self.stage](x)
        if self.stage > 0:
            # Fade-in: the previous stage's image, upsampled, blended with the new block's.
            old = upsample(self.to_image[self.stage - 1](previous), 2)
            image = old + self.alpha * (image - old)
        return image

    def call(self, z, training=False):
        return upsample(self.native(z, training=training), self.image_shape[0] // self.resolution)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.image_shape)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(package="gancore")
class ProgressiveDiscriminator(_Progressive):
    """A discriminator that grows with the generator, from `start_size` to the full image size.

    Stage 0: from-image (a 1x1 convolution) at `start_size` -> flatten -> one
    logit. Each later stage adds, in front, a from-image layer at the new
    resolution and a block that halves it (a 4x4 convolution with stride 2,
    BatchNorm, as in DCGAN). LeakyReLU(0.2) everywhere. BatchNorm matters
    here: with the chapter-4 loss and no normalisation, this discriminator
    won outright within a few hundred steps in our runs.

    Args:
        image_shape: the full-size images, e.g. (28, 28, 1).
        filters: filters per resolution, one entry per stage (the generator's).
        start_size: the first resolution.
        stage: how many blocks the forward pass uses beyond the first.

    Call: `discriminator(images)` takes (batch, *image_shape) and averages it
    down to the current resolution; `discriminator.native(images)` takes
    (batch, resolution, resolution, channels). Both return logits (batch, 1).
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        filters=(64, 32, 16),
        start_size: int = 7,
        stage: int = 0,
        **kwargs,
    ):
        kwargs.setdefault("name", "progressive_discriminator")
        super().__init__(image_shape, filters, start_size, stage, **kwargs)
        channels, f0, start = self.image_shape[-1], self.filters[0], self.start_size
        self.from_image = []  # from_image[s]: image at resolutions[s] -> features
        for s, resolution in enumerate(self.resolutions):
            block = keras.Sequential(
                [_conv(self.filters[s], 1), layers.LeakyReLU(0.2)], name=f"from_image_{resolution}"
            )
            block.build((None, resolution, resolution, channels))
            self.from_image.append(block)
        self.blocks = []  # blocks[i] halves resolutions[i + 1] to resolutions[i]
        for i, resolution in enumerate(self.resolutions[1:]):
            block = keras.Sequential(
                [
                    _conv(self.filters[i], 4, strides=2),
                    layers.BatchNormalization(),
                    layers.LeakyReLU(0.2),
                ],
                name=f"block_{resolution}",
            )
            block.build((None, resolution, resolution, self.filters[i + 1]))
            self.blocks.append(block)
        self.head = keras.Sequential(
            [layers.Flatten(), layers.Dense(1, name="logit")],
            name=f"block_{start}",
        )
        self.head.build((None, start, start, f0))
        self._freeze_unused()
        self.built = True

    def _layer_stages(self):
        n = self.num_stages
        yield self.head, range(n)
        for i, block in enumerate(self.blocks):
            yield block, range(i + 1, n)
        for s, layer in enumerate(self.from_image):
            yield layer, (s, s + 1)

    def native(self, images, training=False):
        """Logits (batch, 1) for images at the current resolution."""
        x = self.from_image[self.stage](images, training=training)
        if self.stage > 0:
            x = self.blocks[self.stage - 1](x, training=training)  # halve the resolution
            # Fade-in: the previous stage's input path on the half-size image, blended in.
            old = self.from_image[self.stage - 1](downsample(images, 2), training=training)
            x = old + self.alpha * (x - old)
            for block in reversed(self.blocks[: self.stage - 1]):
                x = block(x, training=training)
        return self.head(x, training=training)  # (batch, 1)

    def call(self, images, training=False):
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(
                f"Expected images of shape (batch, {', '.join(map(str, self.image_shape))}) "
                f"(full size at every stage). Received: shape={tuple(images.shape)}."
            )
        return self.native(
            downsample(images, self.image_shape[0] // self.resolution), training=training
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)


@keras.saving.register_keras_serializable(package="gancore")
class ProgressiveGAN(GAN):
    """The GAN of chapter 4 with networks that grow: same `train_step`, same losses.

    `fit` takes full-size real images in [-1, 1] at every stage;
    `unpack_batch` turns them into what the discriminator sees at the current
    resolution (`real_images_at`). After `grow()`, every training step moves
    the fade one batch further: $\\alpha$ = `fade_in_alpha(steps since
    growing, fade_steps)`. Call `grow()` between `fit` calls, or let the
    `ProgressiveGrowing` callback do it when a `fit` ends.

    Args:
        generator: a `ProgressiveGenerator`.
        discriminator: a `ProgressiveDiscriminator` with the same resolutions and stage.
        fade_steps: training steps (batches) over which a new resolution fades in.
        latent_dim: size of $z$; read from the generator if `None`.
        seed: seed of the noise drawn inside `train_step`.

    Example:
        ```python
        gan = ProgressiveGAN(ProgressiveGenerator(), ProgressiveDiscriminator(), fade_steps=500)
        gan.compile()
        for _ in gan.resolutions:  # one fit per resolution: 7, 14, 28
            gan.fit(dataset, epochs=1, steps_per_epoch=1000, callbacks=[ProgressiveGrowing()])
        ```
    """

    def __init__(
        self,
        generator,
        discriminator,
        fade_steps: int = 1000,
        latent_dim: int | None = None,
        seed: int = 1337,
        **kwargs,
    ):
        if not isinstance(generator, ProgressiveGenerator) or not isinstance(
            discriminator, ProgressiveDiscriminator
        ):
            raise ValueError(
                "Expected a ProgressiveGenerator and a ProgressiveDiscriminator. "
                f"Received: {type(generator).__name__} and {type(discriminator).__name__}."
            )
        g = (generator.image_shape, generator.resolutions, generator.stage)
        d = (discriminator.image_shape, discriminator.resolutions, discriminator.stage)
        if g != d:
            raise ValueError(
                "Expected a generator and a discriminator with the same (image_shape, resolutions, stage). "
                f"Received: generator {g}, discriminator {d}."
            )
        if latent_dim is not None and int(latent_dim) != generator.latent_dim:
            raise ValueError(
                f"Expected latent_dim={generator.latent_dim} (the generator's). Received: latent_dim={latent_dim}."
            )
        if int(fade_steps) < 0:
            raise ValueError(f"Expected fade_steps >= 0. Received: fade_steps={fade_steps}.")
        super().__init__(
            generator, discriminator, latent_dim=generator.latent_dim, seed=seed, **kwargs
        )
        self.fade_steps = int(fade_steps)
        # Steps trained since the last growth: the model's own clock for the fade.
        self.fade_step = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="fade_step", dtype="float32"
        )

    @property
    def sample_shape(self) -> tuple:
        """Full-size image shape: what `fit` takes and `generate` returns at every stage."""
        return self.generator.image_shape

    @property
    def stage(self) -> int:
        return self.generator.stage

    @property
    def resolutions(self) -> tuple:
        return self.generator.resolutions

    @property
    def resolution(self) -> int:
        return self.generator.resolution

    @property
    def alpha(self) -> float:
        """The current fade, in [0, 1] (1 at the first stage and once a fade is over)."""
        return float(ops.convert_to_numpy(self.generator.alpha))

    def _set_alpha(self, alpha):
        self.generator.alpha.assign(alpha)
        self.discriminator.alpha.assign(alpha)

    def grow(self):
        """Adds the next resolution to both networks and starts its fade ($\\alpha = 0$).

        If the model is compiled, recompiles it with fresh optimizers of the
        same settings: a Keras optimizer only updates the variables it was
        built for, the next `fit` must trace a new train step, and the new
        layers start with fresh Adam moments, as in the authors' code.
        """
        if self.stage + 1 >= len(self.resolutions):
            raise ValueError(
                f"Cannot grow: already at the full resolution {self.resolution}x{self.resolution}."
            )
        self.generator.grow()
        self.discriminator.grow()
        self.fade_step.assign(0.0)
        self._set_alpha(fade_in_alpha(0, self.fade_steps))
        if getattr(self, "d_optimizer", None) is not None:
            self.compile_from_config(self.get_compile_config())

    def unpack_batch(self, data):
        real, labels = super().unpack_batch(data)
        alpha = self.generator.alpha if self.stage > 0 else None
        return real_images_at(real, self.resolution, alpha), labels

    def train_step(self, data):
        logs = super().train_step(data)  # chapter 4's step, at the current alpha
        if self.stage > 0:
            # One batch further into the fade. Done inside the step, not by a
            # callback between steps: on JAX the compiled step carries the
            # variables' values itself and would not see such an assignment.
            self.fade_step.assign_add(1.0)
            fade_steps = max(self.fade_steps, 1)  # fade_steps=0: alpha is 1 from the start
            self._set_alpha(ops.minimum(self.fade_step / fade_steps, 1.0))
        return logs

    def get_config(self):
        return {**super().get_config(), "fade_steps": self.fade_steps}


class ProgressiveGrowing(keras.callbacks.Callback):
    """Adds the next resolution to a `ProgressiveGAN` when a `fit` ends (none after full size).

    Train one `fit` per resolution with this callback: the model fades the new
    resolution in during the next `fit` by itself. Growing happens between
    `fit` calls because a `fit` traces its train step once, at its start.

    """

    def on_train_begin(self, logs=None):
        if not isinstance(self.model, ProgressiveGAN):
            raise ValueError(
                f"ProgressiveGrowing needs a ProgressiveGAN. Received: {type(self.model).__name__}."
            )

    def on_train_end(self, logs=None):
        if self.model.stage + 1 < len(self.model.resolutions):
            self.model.grow()
