"""Tests for gancore.transfer: class subsets, head replacement and freezing."""

import keras
import numpy as np
import pytest

from gancore.models.classifier import conv_classifier, lenet
from gancore.transfer import (
    FrozenFeatures,
    count_params,
    find_layer,
    freeze_batchnorm,
    freeze_up_to,
    replace_head,
    select_classes,
)


def _labelled(n_per_class=20, num_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(num_classes), n_per_class).astype("int32")
    rng.shuffle(y)
    x = rng.random((len(y), 28, 28, 1)).astype("float32")
    x[:, 0, 0, 0] = np.arange(len(y))  # tag each image with its index
    return x, y


def _small_classifier():
    """Chapter 2's BatchNorm classifier, narrow so the tests stay fast."""
    return conv_classifier(num_classes=10, filters=(4, 8, 8), feature_dim=16)


def _weights(model, name):
    return [np.array(w) for w in model.get_layer(name).weights]


def _features(model, x):
    return keras.ops.convert_to_numpy(
        keras.Model(model.input, model.get_layer("features").output)(x, training=False)
    )


def _fit(model, x, y, steps=3):
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(x[: 8 * steps], y[: 8 * steps], batch_size=8, epochs=1, verbose=0)


def test_select_classes_draws_exactly_per_class_of_each_class_and_relabels():
    x, y = _labelled()
    xs, ys = select_classes(x, y, classes=(5, 6, 7, 8, 9), per_class=7, seed=3)
    assert len(xs) == len(ys) == 35
    np.testing.assert_array_equal(np.bincount(ys, minlength=5), [7, 7, 7, 7, 7])
    # Images travel with their labels: the tag gives the original index.
    original = xs[:, 0, 0, 0].astype(int)
    np.testing.assert_array_equal(y[original], ys + 5)
    assert len(set(original)) == 35  # drawn without replacement


def test_select_classes_keeps_labels_when_not_relabelling_and_all_without_per_class():
    x, y = _labelled()
    xs, ys = select_classes(x, y, classes=(1, 3), relabel=False)
    assert set(ys) == {1, 3}
    assert len(xs) == 40


def test_select_classes_seed_names_the_subset():
    x, y = _labelled()
    a, _ = select_classes(x, y, range(5), per_class=4, seed=0)
    b, _ = select_classes(x, y, range(5), per_class=4, seed=0)
    c, _ = select_classes(x, y, range(5), per_class=4, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[:, 0, 0, 0], c[:, 0, 0, 0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"classes": (0, 1), "per_class": 21},
            r"Expected at least per_class=21 examples of class 0",
        ),
        ({"classes": (0, 0)}, r"Expected a non-empty list of distinct classes"),
        ({"classes": ()}, r"Expected a non-empty list of distinct classes"),
        ({"classes": (0,), "per_class": 0}, r"Expected per_class >= 1"),
    ],
)
def test_select_classes_bad_arguments_raise(kwargs, message):
    x, y = _labelled()
    with pytest.raises(ValueError, match=message):
        select_classes(x, y, **kwargs)


def test_select_classes_bad_arrays_raise():
    x, y = _labelled()
    with pytest.raises(ValueError, match=r"Expected x of shape \(n, ...\).*Received: x.shape"):
        select_classes(x[:-1], y, (0, 1))
    with pytest.raises(ValueError, match=r"Expected integer labels y. Received: dtype=float"):
        select_classes(x, y.astype("float32"), (0, 1))


def test_replace_head_copies_the_features_and_leaves_the_original_untouched():
    x, y = _labelled(n_per_class=4, num_classes=5)
    pretrained = _small_classifier()
    before = [np.array(w) for w in pretrained.weights]
    model = replace_head(pretrained, num_classes=5, dropout=0.3)
    assert model.output.shape[-1] == 5
    assert model.get_layer("logits").kernel.shape == (16, 5)
    # Same features as the pretrained network before any training.
    np.testing.assert_allclose(_features(model, x[:8]), _features(pretrained, x[:8]), atol=1e-5)
    _fit(model, x, y)
    for old, new in zip(before, pretrained.weights, strict=True):
        np.testing.assert_array_equal(old, np.array(new))  # the copy trained, not the original
    assert not np.allclose(_weights(model, "conv1")[0], before[0])


def test_replace_head_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"Expected the name of a layer .* Received: 'nope'"):
        replace_head(lenet(), 5, feature_layer="nope")
    with pytest.raises(ValueError, match=r"Expected num_classes >= 2. Received: 1"):
        replace_head(lenet(), 1)
    with pytest.raises(ValueError, match=r"Expected 0 <= dropout < 1. Received: 1.5"):
        replace_head(lenet(), 5, dropout=1.5)


def test_frozen_base_does_not_move_during_fit_while_the_head_does():
    x, y = _labelled(n_per_class=8, num_classes=5)
    model = replace_head(_small_classifier(), num_classes=5)
    frozen = freeze_up_to(model, "features")
    assert frozen[0] == "images" and frozen[-1] == "features"
    base = {name: _weights(model, name) for name in ("conv1", "bn1", "dense", "bn_dense")}
    head = _weights(model, "logits")
    _fit(model, x, y)
    for name, weights in base.items():  # kernels, BN scale/shift and moving statistics
        for old, new in zip(weights, _weights(model, name), strict=True):
            np.testing.assert_array_equal(old, new, err_msg=name)
    assert not np.allclose(head[0], _weights(model, "logits")[0])


def _all_weights(layer):
    return [np.array(w) for w in layer.weights]


def test_trainable_false_alone_leaves_dropout_active_during_fit():
    # Why FrozenFeatures exists: the flat frozen copy still drops units in `fit`,
    # so the loss of a train step differs from the inference loss on the same batch.
    x, y = _labelled(n_per_class=8, num_classes=5)
    model = replace_head(_small_classifier(), num_classes=5)
    freeze_up_to(model, "features")  # dropout1 sits below `features`
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    inference_loss = model.evaluate(x[:8], y[:8], verbose=0)
    assert not np.isclose(model.train_on_batch(x[:8], y[:8]), inference_loss, rtol=1e-4)


def test_frozen_features_run_in_inference_mode_during_fit():
    x, y = _labelled(n_per_class=8, num_classes=5)
    model = replace_head(_small_classifier(), num_classes=5, freeze=True)
    frozen = model.get_layer("frozen_features")
    assert isinstance(frozen, FrozenFeatures) and not frozen.trainable
    # The features are the inference features whatever `training` says, every call.
    probe = keras.Model(model.input, frozen.output)
    inference = keras.ops.convert_to_numpy(probe(x[:8], training=False))
    for _ in range(2):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(probe(x[:8], training=True)), inference
        )
    # Inside fit: the loss a train step computes (before its update) is the inference loss.
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    inference_loss = model.evaluate(x[:8], y[:8], verbose=0)
    np.testing.assert_allclose(model.train_on_batch(x[:8], y[:8]), inference_loss, rtol=1e-5)
    # And the frozen weights (kernels, BN scale, shift and statistics) do not move; the head does.
    before, head = _all_weights(frozen), _weights(model, "logits")
    _fit(model, x, y)
    for old, new in zip(before, _all_weights(frozen), strict=True):
        np.testing.assert_array_equal(old, new)
    assert not np.allclose(head[0], _weights(model, "logits")[0])


def test_frozen_features_train_only_the_head_and_find_layer_looks_inside():
    model = replace_head(_small_classifier(), num_classes=5, dropout=0.3, freeze=True)
    trainable, frozen = count_params(model)
    assert trainable == 16 * 5 + 5
    assert trainable + frozen == model.count_params()
    assert find_layer(model, "conv1").kernel.shape == (3, 3, 1, 4)
    assert freeze_batchnorm(model) == ["bn1", "bn2", "bn3", "bn_dense"]
    with pytest.raises(ValueError, match=r"Expected the name of a layer .* Received: 'nope'"):
        find_layer(model, "nope")


def test_frozen_features_round_trip_through_a_keras_file_and_train_on(tmp_path):
    x, y = _labelled(n_per_class=8, num_classes=5)
    model = replace_head(_small_classifier(), num_classes=5, dropout=0.3, freeze=True)
    _fit(model, x, y)
    model.save(tmp_path / "frozen.keras")
    loaded = keras.models.load_model(tmp_path / "frozen.keras", safe_mode=True)
    assert not loaded.get_layer("frozen_features").trainable
    np.testing.assert_allclose(
        loaded.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0), atol=1e-6
    )
    before = _all_weights(loaded.get_layer("frozen_features"))
    _fit(loaded, x, y)
    for old, new in zip(before, _all_weights(loaded.get_layer("frozen_features")), strict=True):
        np.testing.assert_array_equal(old, new)


def test_frozen_batchnorm_keeps_its_statistics_while_the_convolutions_train():
    x, y = _labelled(n_per_class=8, num_classes=5)
    model = replace_head(_small_classifier(), num_classes=5)
    assert freeze_batchnorm(model) == ["bn1", "bn2", "bn3", "bn_dense"]
    bn, conv = _weights(model, "bn2"), _weights(model, "conv2")
    _fit(model, x, y)
    for old, new in zip(bn, _weights(model, "bn2"), strict=True):  # gamma, beta, mean, variance
        np.testing.assert_array_equal(old, new)
    assert not np.allclose(conv[0], _weights(model, "conv2")[0])


def test_trainable_batchnorm_updates_its_moving_statistics_during_fit():
    # The contrast to the test above: without freezing, fit moves the statistics.
    x, y = _labelled(n_per_class=8, num_classes=5)
    model = replace_head(_small_classifier(), num_classes=5)
    mean = np.array(model.get_layer("bn2").moving_mean)
    _fit(model, x, y)
    assert not np.allclose(mean, np.array(model.get_layer("bn2").moving_mean))


def test_freeze_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"Expected the name of a layer .* Received: 'nope'"):
        freeze_up_to(lenet(), "nope")
    with pytest.raises(ValueError, match=r"Expected a model with BatchNormalization layers"):
        freeze_batchnorm(lenet())


def test_count_params_splits_trainable_and_frozen():
    model = lenet(num_classes=5)
    total = model.count_params()
    assert count_params(model) == (total, 0)
    freeze_up_to(model, "features")
    head = 84 * 5 + 5
    assert count_params(model) == (head, total - head)
