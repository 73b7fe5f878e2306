"""Transfer learning with few labels: class subsets, a new head, freezing.

The pieces the transfer-learning chapter uses, each small enough to read:

- `select_classes` keeps some classes of a labelled set, optionally only
  `per_class` randomly drawn examples of each, and renumbers the labels 0, 1, ...
- `replace_head` copies a trained classifier up to a named layer (its weights
  too, so the original stays untouched) and puts a new softmax layer on top;
  with `freeze=True` the copied layers become one `FrozenFeatures` layer, a
  feature extractor that is frozen and runs in inference mode.
- `freeze_up_to` and `freeze_batchnorm` set `layer.trainable = False`; the
  model must be compiled afterwards for the change to take effect.
- `count_params` splits the parameters into trainable and frozen;
  `find_layer` finds a layer by name, inside nested models too.

Keras 3 semantics worth knowing: a `BatchNormalization` layer with
`trainable = False` runs in inference mode (it normalises with its moving mean
and variance and stops updating them), whatever `training` says. `Dropout`
ignores `trainable`: it drops units whenever `fit` trains, frozen or not.
And in a functional model `fit`'s `training=True` reaches every layer, even
one that was called with `training=False` when the model was built
(keras-team/keras#20285). `FrozenFeatures` is the way around both.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers

from gancore.models.serialization import with_submodels


def select_classes(
    x, y, classes: Sequence[int], per_class: int | None = None, seed: int = 0, relabel: bool = True
):
    """Keeps the examples of `classes`, optionally `per_class` random ones of each.

    Args:
        x: inputs, shape (n, ...).
        y: integer labels, shape (n,).
        classes: the labels to keep, distinct, e.g. `(5, 6, 7, 8, 9)`.
        per_class: how many examples of each class to draw (without
            replacement); `None` keeps all of them.
        seed: seeds the draw, so a seed names a subset.
        relabel: renumber `classes[i]` as `i`, so the labels run 0..len(classes)-1
            as a new softmax layer expects.

    Returns:
        `(x_subset, y_subset)`, in the order of the original arrays.

    Raises:
        ValueError: on mismatched lengths, non-integer labels, an empty or
            repeated class list, `per_class < 1`, or a class with fewer than
            `per_class` examples.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            "Expected x of shape (n, ...) and integer labels y of shape (n,). "
            f"Received: x.shape={x.shape}, y.shape={y.shape}."
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"Expected integer labels y. Received: dtype={y.dtype}.")
    classes = [int(c) for c in classes]
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"Expected a non-empty list of distinct classes. Received: {classes}.")
    if per_class is not None and int(per_class) < 1:
        raise ValueError(f"Expected per_class >= 1 (or None for all). Received: {per_class}.")
    rng = np.random.default_rng(seed)
    keep = []
    for c in classes:
        indices = np.flatnonzero(y == c)
        if per_class is not None:
            if len(indices) < per_class:
                raise ValueError(
                    f"Expected at least per_class={per_class} examples of class {c}. "
                    f"Received: {len(indices)}."
                )
            indices = rng.choice(indices, size=int(per_class), replace=False)
        keep.append(indices)
    keep = np.sort(np.concatenate(keep))
    y_subset = y[keep]
    if relabel:
        lookup = {c: i for i, c in enumerate(classes)}
        y_subset = np.array([lookup[int(label)] for label in y_subset], dtype=y.dtype)
    return x[keep], y_subset


@keras.saving.register_keras_serializable(package="gancore")
class FrozenFeatures(layers.Layer):
    """A feature extractor that runs in inference mode, also inside `fit`.

    A frozen network must compute the same features while the new head trains
    as when it is used: no Dropout, BatchNorm with its moving statistics. The
    wrapped network is called with `training=False` from this layer's own
    `call`, where `fit`'s `training=True` does not reach it.

    Args:
        extractor: a model from inputs to features.
        trainable: whether the extractor's weights train (default: frozen).
            Set `layer.trainable = True` later to fine-tune them; they then
            train in inference mode, as the Keras guide recommends for BatchNorm.
        **kwargs: standard layer arguments (`name`, ...).
    """

    def __init__(self, extractor, trainable: bool = False, **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        self.extractor = extractor
        self.extractor.trainable = trainable

    def call(self, inputs):
        return self.extractor(inputs, training=False)  # (batch, feature_dim), whatever fit says

    def compute_output_shape(self, input_shape):
        return self.extractor.compute_output_shape(input_shape)

    def get_config(self):
        extractor = keras.saving.serialize_keras_object(self.extractor)
        return {**super().get_config(), "extractor": extractor}

    @classmethod
    def from_config(cls, config):
        return cls(**with_submodels(config, "extractor"))


def replace_head(
    model: keras.Model,
    num_classes: int,
    feature_layer: str = "features",
    dropout: float = 0.0,
    freeze: bool = False,
    name: str | None = None,
) -> keras.Model:
    """A copy of `model` up to `feature_layer`, with a new softmax classifier on top.

    The copy has its own weights (equal to `model`'s at the time of the call),
    so training it leaves `model` as it was: several variants can start from
    the same pretrained network. The new head is named like the classifiers of
    `gancore.models.classifier` (`logits`, `probabilities`), freshly initialised.

    Args:
        model: a functional model with a layer named `feature_layer`.
        num_classes: outputs of the new head.
        feature_layer: the layer whose output the new head reads.
        dropout: the Dropout rate before the new dense layer (0: none).
        freeze: wrap the copied layers up to `feature_layer` in one
            `FrozenFeatures` layer named `frozen_features`: their weights do
            not train, and they run in inference mode (their own Dropout off,
            BatchNorm on its moving statistics) during `fit` too, so only the
            new head learns, on the features it will see at test time.
        name: the new model's name (default: `<model.name>_new_head`).

    Returns:
        A functional `keras.Model` from `model`'s inputs to `num_classes` probabilities.
    """
    if int(num_classes) < 2:
        raise ValueError(f"Expected num_classes >= 2. Received: {num_classes}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"Expected 0 <= dropout < 1. Received: {dropout}.")
    names = [layer.name for layer in model.layers]
    if feature_layer not in names:
        raise ValueError(
            f"Expected the name of a layer of {model.name!r} as feature_layer, one of {names}. "
            f"Received: {feature_layer!r}."
        )
    copy = keras.models.clone_model(model)  # same architecture, fresh variables
    copy.set_weights(model.get_weights())
    inputs, x = copy.input, copy.get_layer(feature_layer).output  # x: (batch, feature_dim)
    if freeze:
        extractor = keras.Model(inputs, x, name=f"{model.name}_features")
        inputs = keras.Input(tuple(copy.input.shape[1:]), name=copy.input.name)
        x = FrozenFeatures(extractor, name="frozen_features")(inputs)
    if dropout:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    logits = layers.Dense(int(num_classes), name="logits")(x)  # (batch, num_classes)
    outputs = layers.Softmax(name="probabilities")(logits)
    return keras.Model(inputs, outputs, name=name or f"{model.name}_new_head")


def freeze_up_to(model: keras.Model, layer_name: str) -> list[str]:
    """Sets `trainable = False` on every layer from the input up to and including `layer_name`.

    Layers after it (the head) are left as they are. Compile the model
    afterwards: Keras reads `trainable` when it builds the train step.
    Frozen weights do not move, but a frozen Dropout layer still drops units
    during `fit`; for a frozen feature extractor use `replace_head(...,
    freeze=True)`, which also runs the frozen layers in inference mode.

    Returns:
        The names of the frozen layers.
    """
    names = [layer.name for layer in model.layers]  # topological order for functional models
    if layer_name not in names:
        raise ValueError(
            f"Expected the name of a layer of {model.name!r}, one of {names}. "
            f"Received: {layer_name!r}."
        )
    frozen = []
    for layer in model.layers[: names.index(layer_name) + 1]:
        layer.trainable = False
        frozen.append(layer.name)
    return frozen


def _all_layers(model):
    """The layers of `model`, descending into nested models and `FrozenFeatures`."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, FrozenFeatures):
            layer = layer.extractor
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def find_layer(model: keras.Model, name: str) -> layers.Layer:
    """The layer called `name` in `model`, also inside nested models and `FrozenFeatures`."""
    found = [layer for layer in _all_layers(model) if layer.name == name]
    if not found:
        names = [layer.name for layer in _all_layers(model)]
        raise ValueError(
            f"Expected the name of a layer of {model.name!r}, one of {names}. Received: {name!r}."
        )
    return found[0]


def freeze_batchnorm(model: keras.Model) -> list[str]:
    """Sets `trainable = False` on every `BatchNormalization` layer of `model`.

    In Keras 3 that also puts them in inference mode: during `fit` they keep
    normalising with the moving statistics learned before, and do not update them.

    Returns:
        The names of the frozen layers.
    """
    frozen = []
    for layer in _all_layers(model):
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
            frozen.append(layer.name)
    if not frozen:
        raise ValueError(
            f"Expected a model with BatchNormalization layers. Received: {model.name!r}, "
            "which has none."
        )
    return frozen


def count_params(model: keras.Model) -> tuple[int, int]:
    """Returns `(trainable, frozen)` parameter counts (BatchNorm moving statistics count as frozen)."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return trainable, frozen
