"""NumPy reference implementations of convolution, pooling and dense layers.

Slow, loop-light and written to read like the formulas of chapter 1, with the
same conventions as Keras (`keras.layers.Conv2D`, `MaxPooling2D`,
`AveragePooling2D`, `Dense`): channels-last (NHWC) batches, kernels of shape
(kh, kw, c_in, c_out), and TensorFlow's 'same' padding, which puts the extra
row or column at the bottom/right when the total padding is odd. The tests
check every function against the Keras layer on the same weights, and the
formula helpers against `model.summary()`.

Computation is in float64, so the result is a reference for float32 layers.
"""

from __future__ import annotations

import math

import numpy as np

PADDINGS = ("valid", "same")


def _pair(value, name: str) -> tuple[int, int]:
    """An int or an (int, int) -> (int, int), each >= 1."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in pair):
        raise ValueError(
            f"Expected {name} to be a positive int or a pair of them. Received: {value!r}."
        )
    return int(pair[0]), int(pair[1])


def _check_padding(padding, allow_int: bool = False):
    if isinstance(padding, str) and padding.lower() in PADDINGS:
        return padding.lower()
    if allow_int and isinstance(padding, (int, np.integer)) and padding >= 0:
        return int(padding)
    allowed = "'valid', 'same' or a non-negative int" if allow_int else "'valid' or 'same'"
    raise ValueError(f"Expected padding {allowed}. Received: {padding!r}.")


def _check_batch(x, name: str = "x") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(
            f"Expected {name} of shape (batch, height, width, channels). Received: shape={x.shape}."
        )
    return x.astype("float64")


def pad_amounts(n: int, k: int, stride: int = 1, padding="valid") -> tuple[int, int]:
    """Zero rows (or columns) added (before, after) an axis of size `n`.

    'same' follows TensorFlow: the output has ceil(n / stride) positions and the
    odd one of an odd total padding goes after (bottom/right).

    Args:
        n: input size along the axis.
        k: kernel (or pool) size along the axis.
        stride: step between windows.
        padding: 'valid' (none), 'same', or an int p for p zeros on both sides.
    """
    padding = _check_padding(padding, allow_int=True)
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
        return total // 2, total - total // 2
    return padding, padding


def conv_output_size(n: int, k: int, stride: int = 1, padding="valid") -> int:
    """Output size along one axis: floor((n + p_before + p_after - k) / stride) + 1.

    Args:
        n: input size; k: kernel size; stride: step.
        padding: 'valid', 'same' (gives ceil(n / stride)) or an int p per side.

    Raises:
        ValueError: when the (padded) input is smaller than the kernel.
    """
    before, after = pad_amounts(n, k, stride, padding)
    if n + before + after < k:
        raise ValueError(
            f"Expected a padded input of at least the kernel size {k}. "
            f"Received: n={n} with padding {padding!r} ({before} + {after})."
        )
    return (n + before + after - k) // stride + 1


def conv_params(k_h: int, k_w: int, c_in: int, c_out: int, bias: bool = True) -> int:
    """Trainable weights of a Conv2D layer: k_h * k_w * c_in * c_out (+ c_out biases)."""
    return k_h * k_w * c_in * c_out + (c_out if bias else 0)


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Trainable weights of a Dense layer: n_in * n_out (+ n_out biases)."""
    return n_in * n_out + (n_out if bias else 0)


def _pad(x: np.ndarray, window, strides, padding, value: float = 0.0):
    """Pads the height and width of an NHWC batch; returns it and the output size."""
    (kh, kw), (sh, sw) = window, strides
    top, bottom = pad_amounts(x.shape[1], kh, sh, padding)
    left, right = pad_amounts(x.shape[2], kw, sw, padding)
    out_h = conv_output_size(x.shape[1], kh, sh, padding)
    out_w = conv_output_size(x.shape[2], kw, sw, padding)
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)
    return x, (out_h, out_w)


def _windows(x: np.ndarray, u: int, v: int, out_hw, strides) -> np.ndarray:
    """x[:, s_h*i + u, s_w*j + v, :] for every output position (i, j)."""
    (out_h, out_w), (sh, sw) = out_hw, strides
    return x[:, u : u + sh * (out_h - 1) + 1 : sh, v : v + sw * (out_w - 1) + 1 : sw, :]


def _check_conv(x, kernel, bias):
    x = _check_batch(x)
    kernel = np.asarray(kernel, dtype="float64")
    if kernel.ndim != 4 or kernel.shape[2] != x.shape[3]:
        raise ValueError(
            f"Expected a kernel of shape (kh, kw, c_in={x.shape[3]}, c_out) for x with "
            f"{x.shape[3]} channels. Received: kernel shape={kernel.shape}."
        )
    if bias is not None:
        bias = np.asarray(bias, dtype="float64")
        if bias.shape != (kernel.shape[3],):
            raise ValueError(
                f"Expected a bias of shape ({kernel.shape[3]},) (one per output channel). "
                f"Received: shape={bias.shape}."
            )
    return x, kernel, bias


def conv2d(x, kernel, bias=None, stride=1, padding="valid") -> np.ndarray:
    """2-D convolution as deep learning defines it (cross-correlation, kernel not flipped).

    y[n, i, j, d] = b[d] + sum over u, v, c of x_pad[n, s*i + u, s*j + v, c] * kernel[u, v, c, d]

    Args:
        x: (batch, height, width, c_in) inputs.
        kernel: (kh, kw, c_in, c_out) weights, as in `Conv2D.kernel`.
        bias: (c_out,) or None.
        stride: int or (s_h, s_w).
        padding: 'valid', 'same' (TensorFlow's), or an int p of zeros per side.

    Returns:
        (batch, out_h, out_w, c_out) float64 array.
    """
    x, kernel, bias = _check_conv(x, kernel, bias)
    kh, kw, _, c_out = kernel.shape
    strides = _pair(stride, "stride")
    x, out_hw = _pad(x, (kh, kw), strides, _check_padding(padding, allow_int=True))
    y = np.zeros((x.shape[0], *out_hw, c_out))
    for u in range(kh):  # one kernel tap at a time: a (c_in, c_out) matrix product
        for v in range(kw):
            y += _windows(x, u, v, out_hw, strides) @ kernel[u, v]
    return y if bias is None else y + bias


def _pool_args(x, pool_size, stride, padding):
    """Checked inputs of a pooling layer: x, window, strides, padding."""
    x = _check_batch(x)
    window = _pair(pool_size, "pool_size")
    strides = window if stride is None else _pair(stride, "stride")
    padding = _check_padding(padding)
    return x, window, strides, padding


def max_pool2d(x, pool_size=2, stride=None, padding="valid") -> np.ndarray:
    """Max pooling: y[n, i, j, c] = max over u, v of x[n, s*i + u, s*j + v, c].

    Args:
        x: (batch, height, width, channels).
        pool_size: int or (ph, pw).
        stride: int, pair, or None for `pool_size` (non-overlapping windows).
        padding: 'valid' or 'same' (padded cells never win: they hold -inf).
    """
    x, window, strides, padding = _pool_args(x, pool_size, stride, padding)
    x, out_hw = _pad(x, window, strides, padding, value=-np.inf)
    y = np.full((x.shape[0], *out_hw, x.shape[3]), -np.inf)
    for u in range(window[0]):
        for v in range(window[1]):
            y = np.maximum(y, _windows(x, u, v, out_hw, strides))
    return y


def avg_pool2d(x, pool_size=2, stride=None, padding="valid") -> np.ndarray:
    """Average pooling: the mean of each window, y[n, i, j, c] = mean over u, v of x[n, s*i + u, s*j + v, c].

    With 'same' padding the padded cells are left out of the mean (as TensorFlow does).
    Arguments as in `max_pool2d`.
    """
    x, window, strides, padding = _pool_args(x, pool_size, stride, padding)
    inside = np.ones((1, *x.shape[1:3], 1))  # 1 where a real pixel is, 0 in the padding
    x, out_hw = _pad(x, window, strides, padding)
    inside, _ = _pad(inside, window, strides, padding)
    total = np.zeros((x.shape[0], *out_hw, x.shape[3]))
    count = np.zeros((1, *out_hw, 1))
    for u in range(window[0]):
        for v in range(window[1]):
            total += _windows(x, u, v, out_hw, strides)
            count += _windows(inside, u, v, out_hw, strides)
    return total / count


def dense(x, kernel, bias=None) -> np.ndarray:
    """A dense (fully connected) layer without activation: y = x @ kernel + bias.

    Args:
        x: (..., n_in) inputs, e.g. (batch, n_in).
        kernel: (n_in, n_out) weights, as in `Dense.kernel`.
        bias: (n_out,) or None.
    """
    x = np.asarray(x, dtype="float64")
    kernel = np.asarray(kernel, dtype="float64")
    if kernel.ndim != 2 or x.ndim < 1 or x.shape[-1] != kernel.shape[0]:
        n_in = x.shape[-1] if x.ndim else "?"
        raise ValueError(
            f"Expected a kernel of shape (n_in={n_in}, n_out) for x of shape {x.shape}. "
            f"Received: kernel shape={kernel.shape}."
        )
    y = x @ kernel
    if bias is not None:
        bias = np.asarray(bias, dtype="float64")
        if bias.shape != (kernel.shape[1],):
            raise ValueError(
                f"Expected a bias of shape ({kernel.shape[1]},). Received: shape={bias.shape}."
            )
        y = y + bias
    return y
