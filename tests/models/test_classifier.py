"""Tests for gancore.models.classifier: the LeNet-style and BatchNorm classifiers."""

import keras
import numpy as np
import pytest

from gancore.models.classifier import compile_classifier, conv_classifier, feature_model, lenet


@pytest.mark.parametrize("builder", [lenet, conv_classifier])
@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_builders_map_images_to_probabilities(builder, shape):
    model = builder(shape, num_classes=10)
    probs = keras.ops.convert_to_numpy(
        model(np.random.default_rng(0).random((8,) + shape), training=False)
    )
    assert probs.shape == (8, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("builder", [lenet, conv_classifier])
def test_builders_name_the_layers_chapters_read(builder):
    model = builder()
    for name in ("conv1", "features", "logits", "probabilities"):
        model.get_layer(name)


def test_lenet_parameter_count_for_mnist():
    # conv 5x5x1x6 + conv 5x5x6x16 + dense 784x120 + 120x84 + 84x10, with biases.
    expected = (25 * 6 + 6) + (150 * 16 + 16) + (784 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert lenet().count_params() == expected


def test_conv_classifier_has_batchnorm_and_dropout_and_stays_small():
    model = conv_classifier()
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"BatchNormalization", "Dropout"} <= kinds
    assert model.count_params() < 300_000  # the evaluator file stays near 1 MB
    assert feature_model(model).output.shape[-1] == 128


def test_bad_input_shape_raises():
    with pytest.raises(ValueError, match=r"Expected input_shape=\(height, width, channels\)"):
        conv_classifier((28, 28))


def test_classifier_trains_and_round_trips_through_a_keras_file(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 16)
    model = compile_classifier(conv_classifier(), decay_steps=4)
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert {"loss", "accuracy"} <= set(history.history)
    path = tmp_path / "classifier.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)  # training goes on after loading
