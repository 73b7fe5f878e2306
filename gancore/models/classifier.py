"""Image classifiers for chapter 2 and the book's evaluator: functional `keras.Model`s.

- `lenet`: the LeNet-style network of {cite}`lecun1998gradient` (conv -> pool
  -> conv -> pool -> dense), the classic baseline.
- `conv_classifier`: a slightly stronger network, each block a convolution,
  BatchNorm, ReLU and max-pooling, with Dropout before the dense layers. It
  reaches over 99.3 % MNIST test accuracy in a few CPU minutes and is the
  architecture of the evaluator (`gancore.evaluator`).

Both take images in [0, 1] (the classifier convention of `gancore.images`) of
shape 28x28x1 (MNIST, Fashion-MNIST) or 32x32x3 (CIFAR-10) and output class
probabilities, shape (batch, num_classes). The layers carry names so a chapter
can pick them out: `conv1` (the first-layer filters), `features` (the
penultimate activations), `logits` and `probabilities`.
"""

from __future__ import annotations

import keras
from keras import layers


def _check_input_shape(input_shape) -> tuple:
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1 or input_shape[0] < 8 or input_shape[1] < 8:
        raise ValueError(
            "Expected input_shape=(height, width, channels) with height and width of at least 8, "
            f"e.g. (28, 28, 1) or (32, 32, 3). Received: input_shape={input_shape}."
        )
    return input_shape


def _head(x, num_classes: int):
    """logits -> softmax, as two named layers so both can be read out."""
    logits = layers.Dense(num_classes, name="logits")(x)  # (batch, num_classes)
    return layers.Softmax(name="probabilities")(logits)


def lenet(input_shape=(28, 28, 1), num_classes: int = 10, name: str = "lenet") -> keras.Model:
    """A LeNet-style CNN: two convolution + max-pooling stages, then two dense layers.

    Args:
        input_shape: (height, width, channels) of the images, in [0, 1].
        num_classes: the number of classes.
        name: the model's name.

    Returns:
        A functional `keras.Model` from images to class probabilities.
    """
    input_shape = _check_input_shape(input_shape)
    images = keras.Input(shape=input_shape, name="images")
    # 'same' padding keeps 28x28 inputs at 28 -> 14 -> 7 (32 -> 16 -> 8).
    x = layers.Conv2D(6, 5, padding="same", activation="relu", name="conv1")(images)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(16, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)  # (batch, 7 * 7 * 16) for MNIST
    x = layers.Dense(120, activation="relu", name="dense1")(x)
    x = layers.Dense(84, activation="relu", name="features")(x)
    return keras.Model(images, _head(x, num_classes), name=name)


def conv_classifier(
    input_shape=(28, 28, 1),
    num_classes: int = 10,
    filters=(32, 64, 128),
    feature_dim: int = 128,
    dropout: float = 0.3,
    bn_momentum: float = 0.9,
    name: str = "conv_classifier",
) -> keras.Model:
    """A CNN with BatchNorm and Dropout: [conv 3x3 -> BN -> ReLU -> max-pool] per entry of `filters`.

    Args:
        input_shape: (height, width, channels) of the images, in [0, 1].
        num_classes: the number of classes.
        filters: the number of filters of each block; every block halves the
            height and width (28 -> 14 -> 7 -> 3 with three blocks).
        feature_dim: width of the penultimate dense layer, `features`.
        dropout: the Dropout rate before each dense layer.
        bn_momentum: BatchNorm's moving-average momentum. 0.9 (Keras's default
            is 0.99) lets the inference statistics settle within a hundred
            steps, which matters for short runs.
        name: the model's name.

    Returns:
        A functional `keras.Model` from images to class probabilities.
    """
    input_shape = _check_input_shape(input_shape)
    images = keras.Input(shape=input_shape, name="images")
    x = images
    for i, width in enumerate(filters, start=1):
        # No bias: BatchNorm's shift plays its role.
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)  # (batch, 3 * 3 * 128) for MNIST
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = layers.Dense(feature_dim, use_bias=False, name="dense")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="bn_dense")(x)
    x = layers.ReLU(name="features")(x)  # (batch, feature_dim)
    x = layers.Dropout(dropout, name="dropout2")(x)
    return keras.Model(images, _head(x, num_classes), name=name)


def compile_classifier(
    model: keras.Model,
    learning_rate: float = 1e-3,
    decay_steps: int | None = None,
    **kwargs,
) -> keras.Model:
    """Compiles a classifier with Adam, sparse cross-entropy and accuracy.

    Args:
        model: a model that outputs class probabilities.
        learning_rate: Adam's initial learning rate.
        decay_steps: when given, the learning rate follows a cosine from
            `learning_rate` down to 1 % of it over this many steps (set it to
            epochs * steps_per_epoch); a decaying rate buys the last tenths of
            a percent of accuracy.
        **kwargs: passed on to `model.compile` (`jit_compile`,
            `steps_per_execution`, ...).

    Returns:
        The model, compiled.
    """
    if decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=decay_steps, alpha=0.01
        )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        **kwargs,
    )
    return model


def feature_model(model: keras.Model, layer: str = "features") -> keras.Model:
    """A model from the same inputs to the output of the named layer (shares weights)."""
    return keras.Model(model.inputs, model.get_layer(layer).output, name=f"{model.name}_{layer}")
