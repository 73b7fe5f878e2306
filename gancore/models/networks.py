"""Network builders for the GAN chapters: functional `keras.Model`s.

- `mlp_generator` / `mlp_discriminator`: dense networks, for toy 2-D data and
  the first MNIST GAN.
- `conv_discriminator`: a plain strided-convolution discriminator.
- `dcgan_generator` / `dcgan_discriminator`: the DCGAN recipe of
  {cite}`radford2015unsupervised` for 28x28x1, 32x32x3 and 64x64x3 images:
  transposed convolutions with BatchNorm and ReLU up, strided convolutions with
  LeakyReLU(0.2) down, no pooling, no hidden dense layers, a `tanh` output and
  weights drawn from N(0, 0.02).

Every builder takes `num_classes` for the conditional GAN of
{cite}`mirza2014conditional`: the model then takes `[x, labels]` with integer
labels of shape (batch,) or (batch, 1). Discriminators output one logit per
image, shape (batch, 1).
"""

from __future__ import annotations

import math

import keras
from keras import layers

from gancore.models.attention import SelfAttention
from gancore.models.spectral import SpectralNormalization

# DCGAN starts from a 4x4 (or 7x7 for 28x28) feature map and doubles it per layer.
_START_SIZE = {28: 7, 32: 4, 64: 4}


def batch_norm_layers(model) -> list:
    """Every `BatchNormalization` layer inside `model`, through nested models.

    For example, to share the batch statistics across the replicas of a
    `tf.distribute` strategy (TensorFlow only; each replica uses its own share
    of the batch otherwise):

    ```python
    for layer in batch_norm_layers(gan):
        layer.synchronized = True
    ```
    """
    found, stack = [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        if isinstance(layer, layers.BatchNormalization):
            found.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return found


def _init():
    return keras.initializers.RandomNormal(stddev=0.02)


def _label_input():
    return keras.Input(shape=(1,), dtype="int32", name="label")


def _check_image_shape(image_shape) -> tuple:
    image_shape = tuple(int(s) for s in image_shape)
    if (
        len(image_shape) != 3
        or image_shape[0] != image_shape[1]
        or image_shape[0] not in _START_SIZE
    ):
        raise ValueError(
            "Expected image_shape (size, size, channels) with size 28, 32 or 64. "
            f"Received: image_shape={image_shape}."
        )
    return image_shape


def _with_label(noise, num_classes, embedding_dim):
    """Concatenates a learned label embedding to the noise; returns (inputs, tensor)."""
    if not num_classes:
        return noise, noise
    label = _label_input()
    embedded = layers.Flatten()(layers.Embedding(num_classes, embedding_dim)(label))
    return [noise, label], layers.Concatenate()([noise, embedded])


def _image_with_label(image, num_classes):
    """Appends the label as one extra image channel (a learned HxW map); returns (inputs, tensor)."""
    if not num_classes:
        return image, image
    height, width, _ = image.shape[1:]
    label = _label_input()
    plane = layers.Embedding(num_classes, height * width)(label)  # (batch, 1, h*w)
    plane = layers.Reshape((height, width, 1))(plane)
    return [image, label], layers.Concatenate()([image, plane])


def mlp_generator(
    latent_dim: int = 100,
    output_shape=(28, 28, 1),
    hidden_units=(256, 512, 1024),
    output_activation: str | None = "tanh",
    batch_norm: bool = False,
    num_classes: int | None = None,
    embedding_dim: int = 16,
    name: str = "mlp_generator",
) -> keras.Model:
    """A dense generator: z -> hidden layers ([BatchNorm,] LeakyReLU) -> `output_shape`.

    Args:
        latent_dim: size of the noise vector $z$.
        output_shape: shape of one sample, e.g. (28, 28, 1) or (2,).
        hidden_units: widths of the hidden layers.
        output_activation: `tanh` for images in [-1, 1], `None` for
            unbounded data such as 2-D toy points.
        batch_norm: BatchNorm before every hidden activation. It keeps a
            dense MNIST generator from collapsing onto one image early on.
        num_classes: if set, the generator also takes integer labels.
        embedding_dim: size of the label embedding.
        name: the model's name.
    """
    noise = keras.Input(shape=(latent_dim,), name="noise")
    inputs, x = _with_label(noise, num_classes, embedding_dim)
    for units in hidden_units:
        x = layers.Dense(units, use_bias=not batch_norm)(x)  # BatchNorm's beta is the bias
        if batch_norm:
            x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Dense(math.prod(output_shape), activation=output_activation)(x)
    outputs = layers.Reshape(tuple(output_shape))(x)
    return keras.Model(inputs, outputs, name=name)


def mlp_discriminator(
    input_shape=(2,),
    hidden_units=(256, 256),
    dropout: float = 0.0,
    num_classes: int | None = None,
    embedding_dim: int = 16,
    name: str = "mlp_discriminator",
) -> keras.Model:
    """A dense discriminator: x -> hidden layers (LeakyReLU) -> one logit, shape (batch, 1)."""
    sample = keras.Input(shape=tuple(input_shape), name="sample")
    x = layers.Flatten()(sample)
    inputs, x = _with_label(x, num_classes, embedding_dim)
    if num_classes:
        inputs = [sample, inputs[1]]
    for units in hidden_units:
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, outputs, name=name)


def conv_discriminator(
    image_shape=(28, 28, 1),
    filters=(64, 128),
    dropout: float = 0.3,
    num_classes: int | None = None,
    name: str = "conv_discriminator",
) -> keras.Model:
    """Strided 4x4 convolutions with LeakyReLU(0.2) and dropout, then one logit.

    Args:
        image_shape: (height, width, channels) of the images.
        filters: filters of each stride-2 convolution (each halves the size).
        dropout: dropout rate after every convolution.
        num_classes: if set, the label enters as an extra image channel.
        name: the model's name.
    """
    image = keras.Input(shape=tuple(image_shape), name="image")
    inputs, x = _image_with_label(image, num_classes)
    for n in filters:
        x = layers.Conv2D(n, 4, strides=2, padding="same", kernel_initializer=_init())(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, outputs, name=name)


def dcgan_generator(
    latent_dim: int = 100,
    image_shape=(28, 28, 1),
    width: int = 64,
    num_classes: int | None = None,
    embedding_dim: int = 50,
    attention: bool = False,
    extra_conv: bool = False,
    name: str = "dcgan_generator",
) -> keras.Model:
    """The DCGAN generator: project z, then transposed convolutions up to `image_shape`.

    For 64x64x3 and `width=128` this is the paper's network:
    4x4x1024 -> 8x8x512 -> 16x16x256 -> 32x32x128 -> 64x64x3. Filters halve
    each time the size doubles; 28x28 starts from 7x7.

    Args:
        latent_dim: size of the noise vector $z$.
        image_shape: (28, 28, 1), (32, 32, 3) or (64, 64, 3) (any channels).
        width: filters of the last hidden layer; the first has
            `width * 2**(n_up - 1)`. Smaller is faster.
        num_classes: if set, the generator takes `[noise, labels]`.
        embedding_dim: size of the label embedding.
        attention: add a SAGAN self-attention block after the first
            upsampling (at 14x14 for 28x28 images); its gate starts at 0.
        extra_conv: add a stride-1 3x3 convolution (BatchNorm, ReLU) after the
            first upsampling. At 28x28 the generator has only two upsampling
            layers; this third layer bought more quality per CPU-minute than
            more filters did (`scripts/recipe_sweep.py`).
        name: the model's name.
    """
    size, _, channels = _check_image_shape(image_shape)
    start = _START_SIZE[size]
    n_up = int(math.log2(size // start))  # 2 for 28, 3 for 32, 4 for 64
    noise = keras.Input(shape=(latent_dim,), name="noise")
    inputs, x = _with_label(noise, num_classes, embedding_dim)
    top = width * 2 ** (n_up - 1)
    x = layers.Dense(start * start * top, use_bias=False, kernel_initializer=_init())(x)
    x = layers.Reshape((start, start, top))(x)  # (batch, start, start, top)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for i in range(1, n_up):
        n = top // 2**i
        x = layers.Conv2DTranspose(
            n, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init()
        )(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if attention and i == 1:
            x = SelfAttention(name="self_attention")(x)
        if extra_conv and i == 1:
            x = layers.Conv2D(n, 3, padding="same", use_bias=False, kernel_initializer=_init())(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
    outputs = layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", activation="tanh", kernel_initializer=_init()
    )(x)  # (batch, size, size, channels) in [-1, 1]
    return keras.Model(inputs, outputs, name=name)


def dcgan_discriminator(
    image_shape=(28, 28, 1),
    width: int = 64,
    batch_norm: bool = True,
    num_classes: int | None = None,
    spectral_norm: bool = False,
    attention: bool = False,
    extra_conv: bool = False,
    name: str = "dcgan_discriminator",
) -> keras.Model:
    """The DCGAN discriminator: strided convolutions down to 7x7 or 4x4, then one logit.

    Filters double each time the size halves (`width`, `2*width`, ...);
    BatchNorm on every convolution but the first, as in the paper; LeakyReLU(0.2).

    Args:
        image_shape: (28, 28, 1), (32, 32, 3) or (64, 64, 3).
        width: filters of the first convolution.
        batch_norm: BatchNorm after the hidden convolutions. Turn it off
            for critics with a gradient penalty (WGAN-GP).
        num_classes: if set, the label enters as an extra image channel.
        spectral_norm: wrap every convolution and the output layer in
            `gancore.models.spectral.SpectralNormalization` (usually with
            `batch_norm=False`).
        attention: add a SAGAN self-attention block after the first
            convolution (at 14x14 for 28x28 images); its gate starts at 0.
        extra_conv: add a stride-1 3x3 convolution (BatchNorm if `batch_norm`,
            LeakyReLU) after the first convolution, mirroring the generator's.
        name: the model's name.
    """
    size, _, _ = _check_image_shape(image_shape)

    def normalized(layer):
        return SpectralNormalization(layer) if spectral_norm else layer

    n_down = int(math.log2(size // _START_SIZE[size]))
    image = keras.Input(shape=tuple(image_shape), name="image")
    inputs, x = _image_with_label(image, num_classes)
    for i in range(n_down):
        conv = layers.Conv2D(
            width * 2**i,
            4,
            strides=2,
            padding="same",
            use_bias=not (batch_norm and i),
            kernel_initializer=_init(),
        )
        x = normalized(conv)(x)
        if batch_norm and i:
            x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
        if attention and i == 0:
            x = SelfAttention(spectral_norm=spectral_norm, name="self_attention")(x)
        if extra_conv and i == 0:
            conv = layers.Conv2D(
                width, 3, padding="same", use_bias=not batch_norm, kernel_initializer=_init()
            )
            x = normalized(conv)(x)
            if batch_norm:
                x = layers.BatchNormalization()(x)
            x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    outputs = normalized(layers.Dense(1, name="logit"))(x)
    return keras.Model(inputs, outputs, name=name)
