"""The NumPy reference layers equal Keras's on the same weights, and the formulas equal Keras's counts."""

import keras
import numpy as np
import pytest

from gancore import reference

TOL = 1e-5  # float32 Keras vs float64 NumPy


def _random(rng, *shape):
    return rng.standard_normal(shape).astype("float32")


def _keras_conv(x, kernel, bias, stride, padding):
    layer = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], strides=stride, padding=padding)
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    return keras.ops.convert_to_numpy(layer(x))


@pytest.mark.parametrize(
    "hw, kernel_hw, c_in, c_out, stride, padding",
    [
        ((7, 7), (3, 3), 1, 2, 1, "valid"),
        ((7, 7), (3, 3), 3, 4, 1, "same"),
        ((8, 8), (4, 4), 2, 3, 1, "same"),  # even kernel: padding 1 before, 2 after
        ((8, 9), (3, 3), 2, 3, 2, "same"),  # stride 2 'same': odd total padding on one axis
        ((9, 8), (2, 2), 2, 2, 2, "same"),
        ((9, 10), (5, 3), 3, 2, (2, 3), "valid"),
        ((6, 6), (4, 4), 1, 1, 2, "valid"),
    ],
)
def test_conv2d_equals_keras_conv2d_on_the_same_weights(
    hw, kernel_hw, c_in, c_out, stride, padding
):
    rng = np.random.default_rng(0)
    x = _random(rng, 2, *hw, c_in)
    kernel, bias = _random(rng, *kernel_hw, c_in, c_out), _random(rng, c_out)
    expected = _keras_conv(x, kernel, bias, stride, padding)
    got = reference.conv2d(x, kernel, bias, stride=stride, padding=padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=TOL, rtol=0)


def test_conv2d_int_padding_equals_zero_padding_then_valid():
    rng = np.random.default_rng(1)
    x, kernel = _random(rng, 1, 5, 5, 2), _random(rng, 3, 3, 2, 1)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    np.testing.assert_allclose(
        reference.conv2d(x, kernel, padding=2), reference.conv2d(padded, kernel), atol=1e-12
    )


def test_conv2d_of_delta_kernel_is_the_input():
    x = _random(np.random.default_rng(2), 1, 6, 6, 1)
    delta = np.zeros((3, 3, 1, 1), "float32")
    delta[1, 1] = 1.0
    np.testing.assert_allclose(reference.conv2d(x, delta, padding="same"), x, atol=1e-7)


# Keras 3.15's torch backend places the padding of these two "same" poolings
# differently from TensorFlow and JAX (the reference follows TensorFlow).
TORCH_SAME_PADDING = pytest.mark.xfail(
    keras.backend.backend() == "torch",
    reason="torch backend pads 'same' pooling differently",
    strict=True,
)


@pytest.mark.parametrize(
    "pool_size, stride, padding, hw",
    [(2, None, "valid", (8, 8)), (3, 2, "valid", (9, 8)), (2, None, "same", (7, 9)),
     pytest.param(3, 2, "same", (8, 7), marks=TORCH_SAME_PADDING),
     pytest.param((2, 3), (1, 2), "same", (6, 7), marks=TORCH_SAME_PADDING)],
)  # fmt: skip
def test_pooling_equals_keras_pooling(pool_size, stride, padding, hw):
    x = _random(np.random.default_rng(3), 2, *hw, 3)
    for layer_class, function in [
        (keras.layers.MaxPooling2D, reference.max_pool2d),
        (keras.layers.AveragePooling2D, reference.avg_pool2d),
    ]:
        layer = layer_class(pool_size, strides=stride, padding=padding)
        expected = keras.ops.convert_to_numpy(layer(x))
        got = function(x, pool_size, stride=stride, padding=padding)
        assert got.shape == expected.shape, layer_class.__name__
        np.testing.assert_allclose(got, expected, atol=TOL, rtol=0, err_msg=layer_class.__name__)


def test_dense_equals_keras_dense():
    rng = np.random.default_rng(4)
    x, kernel, bias = _random(rng, 5, 7), _random(rng, 7, 3), _random(rng, 3)
    layer = keras.layers.Dense(3)
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    expected = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(reference.dense(x, kernel, bias), expected, atol=TOL, rtol=0)


@pytest.mark.parametrize("n", [5, 6, 7, 28])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_gives_ceil_n_over_stride_and_puts_the_odd_pixel_after(n, k, stride):
    before, after = reference.pad_amounts(n, k, stride, "same")
    assert reference.conv_output_size(n, k, stride, "same") == -(-n // stride)
    assert after - before in (0, 1)


def _lenet():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(6, 5, padding="same", activation="tanh"),
            keras.layers.AveragePooling2D(2),
            keras.layers.Conv2D(16, 5, activation="tanh"),
            keras.layers.AveragePooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(120, activation="tanh"),
            keras.layers.Dense(84, activation="tanh"),
            keras.layers.Dense(10),
        ]
    )


def test_formulas_give_lenet_output_shapes_and_parameter_counts():
    model = _lenet()
    h = w = 28
    c = 1
    n = None
    expected = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
            params = reference.conv_params(kh, kw, c, layer.filters)
            h = reference.conv_output_size(h, kh, sh, layer.padding)
            w = reference.conv_output_size(w, kw, sw, layer.padding)
            c = layer.filters
            shape = (None, h, w, c)
        elif isinstance(layer, keras.layers.AveragePooling2D):
            (ph, pw), (sh, sw) = layer.pool_size, layer.strides
            h = reference.conv_output_size(h, ph, sh, layer.padding)
            w = reference.conv_output_size(w, pw, sw, layer.padding)
            params, shape = 0, (None, h, w, c)
        elif isinstance(layer, keras.layers.Flatten):
            n = h * w * c
            params, shape = 0, (None, n)
        else:
            params = reference.dense_params(n, layer.units)
            n = layer.units
            shape = (None, n)
        expected.append((shape, params))
    got = [(tuple(layer.output.shape), layer.count_params()) for layer in model.layers]
    assert got == expected
    assert sum(p for _, p in expected) == model.count_params() == 61_706


def test_conv_params_counts_weights_and_biases():
    assert reference.conv_params(3, 3, 3, 64) == 1_792
    assert reference.conv_params(3, 3, 3, 64, bias=False) == 1_728
    assert reference.dense_params(400, 120) == 48_120


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: reference.conv2d(np.zeros((28, 28, 1)), np.zeros((3, 3, 1, 1))), "(batch, height"),
        (lambda: reference.conv2d(np.zeros((1, 8, 8, 3)), np.zeros((3, 3, 1, 4))), "c_in=3"),
        (lambda: reference.conv2d(np.zeros((1, 8, 8, 1)), np.zeros((3, 3, 1, 4)), np.zeros(3)), "(4,)"),
        (lambda: reference.conv2d(np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 1, 1))), "at least the kernel size"),
        (lambda: reference.conv2d(np.zeros((1, 8, 8, 1)), np.zeros((3, 3, 1, 1)), padding="full"), "'valid'"),
        (lambda: reference.conv2d(np.zeros((1, 8, 8, 1)), np.zeros((3, 3, 1, 1)), stride=0), "stride"),
        (lambda: reference.max_pool2d(np.zeros((1, 8, 8, 1)), padding=1), "'valid' or 'same'"),
        (lambda: reference.avg_pool2d(np.zeros((8, 8)), 2), "(batch, height"),
        (lambda: reference.dense(np.zeros((2, 5)), np.zeros((4, 3))), "n_in=5"),
        (lambda: reference.dense(np.zeros((2, 4)), np.zeros((4, 3)), np.zeros(4)), "(3,)"),
    ],
)  # fmt: skip
def test_bad_inputs_raise_errors_saying_what_was_expected(call, message):
    with pytest.raises(ValueError, match="Received") as error:
        call()
    assert message in str(error.value)
