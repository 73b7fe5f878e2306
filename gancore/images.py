"""Image value ranges and the checks that turn a wrong input into a clear error.

Generators with a `tanh` output work in `[-1, 1]`; classifiers and VAEs with a
sigmoid output work in `[0, 1]`. Every array that enters a model or a metric
goes through `check_images`, and every `tf.data.Dataset` that enters a model's
`fit` through `check_dataset`, so a wrong shape, range or a NaN fails loudly
instead of training on garbage.
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

TANH_RANGE = (-1.0, 1.0)
UNIT_RANGE = (0.0, 1.0)


def scale_images(x, value_range=TANH_RANGE) -> np.ndarray:
    """uint8 images in [0, 255] -> float32 NHWC in `value_range`.

    A grayscale batch of shape (n, h, w) gains a channel axis: (n, h, w, 1).
    """
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise ValueError(f"Expected uint8 images in [0, 255]. Received: dtype={x.dtype}.")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(
            f"Expected images of shape (n, height, width) or (n, height, width, channels). "
            f"Received: shape={x.shape}."
        )
    low, high = value_range
    return (x.astype("float32") / 255.0 * (high - low) + low).astype("float32")


def to_unit_range(x, value_range=TANH_RANGE) -> np.ndarray:
    """Maps float images from `value_range` to [0, 1] (clipped), e.g. for plotting."""
    low, high = value_range
    return np.clip((np.asarray(x, dtype="float32") - low) / (high - low), 0.0, 1.0)


def _expected(value_range, shape, name, rank) -> str:
    """The "Expected ..." half of a message: what `name` should look like."""
    if shape is not None:
        want_shape = f"(batch, {', '.join(map(str, shape))})"
    else:
        want_shape = "(batch, height, width, channels)" if rank == 4 else f"rank {rank}"
    want_range = f" in [{value_range[0]:g}, {value_range[1]:g}]" if value_range else ""
    return f"Expected {name}{want_range} with shape {want_shape}."


def _shape_advice(received, shape) -> str:
    """What to do about a batch shape that is not (batch, *shape), or ""."""
    if received is None or shape is None or len(shape) < 2:
        return ""
    received, shape = tuple(received), tuple(shape)
    if received[1:] == shape[:-1] and shape[-1] == 1:
        return " Add the channel axis: x[..., None]."
    if received == shape:
        return " Batch the data: dataset.batch(batch_size)."
    return ""


def _range_advice(value_range) -> str:
    if not value_range:
        return ""
    low, high = value_range
    return f" Scale them into [{low:g}, {high:g}], e.g. with load_dataset(value_range=({low:g}, {high:g}))."


def check_images(x, value_range=TANH_RANGE, shape=None, name: str = "images", tol=1e-3):
    """Raises a `ValueError` that says what was expected unless `x` is a batch of images.

    Args:
        x: the array to check, shape (batch, height, width, channels), or
            (batch, *shape) when `shape` is given (e.g. (batch, 2) for points).
        value_range: the (low, high) that every value must lie in, or `None`
            to skip the range check (values must still be finite).
        shape: the expected shape of one sample, e.g. (28, 28, 1), or `None`
            for any image shape.
        name: what the array is, for the message.
        tol: slack for float round-off at the range's ends.

    Returns:
        `x` as a NumPy float32 array.
    """
    x = np.asarray(x)
    rank = 4 if shape is None else 1 + len(shape)
    expected = _expected(value_range, shape, name, rank)
    received = f"Received: shape={x.shape}, dtype={x.dtype}"
    numeric = np.issubdtype(x.dtype, np.number)
    n_bad = int(np.size(x) - np.isfinite(x).sum()) if numeric else 0
    if x.size and numeric:
        finite = x[np.isfinite(x)] if n_bad else x  # min and max of the finite values
        low, high = (finite.min(), finite.max()) if finite.size else (np.nan, np.nan)
        received += f", min={low:g}, max={high:g}"
    bad_shape = x.ndim != rank or (shape is not None and tuple(x.shape[1:]) != tuple(shape))
    if bad_shape or not numeric or x.size == 0:
        raise ValueError(f"{expected} {received}.{_shape_advice(x.shape, shape)}")
    if n_bad:
        raise ValueError(
            f"{expected} {received} (contains NaN or inf: {n_bad:,} of {x.size:,} values)."
        )
    if value_range and (low < value_range[0] - tol or high > value_range[1] + tol):
        raise ValueError(f"{expected} {received}.{_range_advice(value_range)}")
    return x.astype("float32")


# Brackets the message that `check_dataset` raises from inside tf.data, so that
# `dataset_errors` can find it in TensorFlow's error text.
_MARK = "<gancore>"


def check_dataset(dataset, value_range=TANH_RANGE, shape=None, name: str = "images", tol=1e-3):
    """`check_images` for a `tf.data.Dataset` of batches, as `fit` reads them.

    The batch shape is checked at once, from the dataset's `element_spec`
    (nothing is read). The values are checked batch by batch: a step appended
    to the input pipeline asserts that each batch is finite and in
    `value_range` (a min, a max and an `isfinite`: a fraction of a
    millisecond per batch, run by tf.data beside the training step). The data
    order and its shuffling are untouched. Run `fit` inside `dataset_errors()`
    to get a bad batch's error as the same `ValueError` that `check_images`
    raises.

    In an element `(x, y)` or `(x, y, sample_weight)` only `x` is checked;
    datasets of dicts are passed through unchecked.

    Returns:
        The dataset with the value check appended.
    """
    import tensorflow as tf

    spec = dataset.element_spec
    spec = spec[0] if isinstance(spec, tuple) else spec
    if not isinstance(spec, tf.TensorSpec):
        return dataset
    rank = 4 if shape is None else 1 + len(shape)
    expected = _expected(value_range, shape, name, rank)
    _check_spec(spec, shape, rank, expected)

    def check_element(*element):
        x = _checked_batch(element[0], expected, value_range, tol)
        return x if len(element) == 1 else (x, *element[1:])

    # Parallel and deterministic: the check runs ahead of the model, the order stays.
    return dataset.map(check_element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _check_spec(spec, shape, rank, expected):
    """Raises the `check_images` error for a dataset whose batches have the wrong shape or dtype."""
    received = tuple(spec.shape.as_list()) if spec.shape.rank is not None else None
    wrong_dims = (
        received is not None
        and shape is not None
        and len(received) == rank
        and any(r is not None and r != e for r, e in zip(received[1:], shape, strict=True))
    )
    if received is None or len(received) != rank or wrong_dims:
        raise ValueError(
            f"{expected} Received: a tf.data.Dataset of batches of shape={received}, "
            f"dtype={spec.dtype.name}.{_shape_advice(received, shape)}"
        )
    if not (spec.dtype.is_floating or spec.dtype.is_integer):
        raise ValueError(f"{expected} Received: a tf.data.Dataset of dtype={spec.dtype.name}.")


def _checked_batch(x, expected, value_range, tol):
    """`x` unchanged, after a graph assertion that it is finite and in `value_range`."""
    import tensorflow as tf

    values = tf.cast(x, "float32")
    ok = tf.reduce_all(tf.math.is_finite(values))
    if value_range:
        ok = ok & (tf.reduce_min(values) >= value_range[0] - tol)
        ok = ok & (tf.reduce_max(values) <= value_range[1] + tol)

    def fail():  # builds the message only for a bad batch
        message = _bad_batch_message(x, values, expected, value_range)
        with tf.control_dependencies([tf.debugging.Assert(False, [message])]):
            return tf.identity(ok)

    checked = tf.cond(ok, lambda: ok, fail)
    with tf.control_dependencies([checked]):
        return tf.identity(x)


def _bad_batch_message(x, values, expected, value_range):
    """The `check_images` message for a bad batch, as a string tensor between two `_MARK`s."""
    import tensorflow as tf

    is_finite = tf.math.is_finite(values)
    n_bad = tf.size(values) - tf.math.count_nonzero(is_finite, dtype="int32")
    # min and max of the finite values (NaN when there are none)
    nothing = tf.logical_not(tf.reduce_any(is_finite))
    low = tf.reduce_min(tf.where(is_finite, values, float("inf")))
    high = tf.reduce_max(tf.where(is_finite, values, float("-inf")))
    low, high = tf.where(nothing, float("nan"), low), tf.where(nothing, float("nan"), high)
    if_finite = "." + _range_advice(value_range)
    if_not = tf.strings.join(
        [" (contains NaN or inf: ", tf.strings.as_string(n_bad), " of ",
         tf.strings.as_string(tf.size(values)), " values)."]
    )  # fmt: skip
    return tf.strings.join(
        [
            f"{_MARK}{expected} Received: a batch of shape=(",
            tf.strings.reduce_join(tf.strings.as_string(tf.shape(x)), separator=", "),
            f"), dtype={x.dtype.name}, min=",
            tf.strings.as_string(low, shortest=True),
            ", max=",
            tf.strings.as_string(high, shortest=True),
            tf.where(n_bad == 0, if_finite, if_not),
            _MARK,
        ]
    )


@contextlib.contextmanager
def dataset_errors():
    """Re-raises the error of a `check_dataset` check as a plain `ValueError`.

    TensorFlow reports a failed check inside a dataset as an
    `InvalidArgumentError` wrapped in graph-execution text; this digs out the
    message `check_dataset` wrote. Other errors pass through unchanged.
    """
    try:
        yield
    except Exception as error:
        found = re.search(re.escape(_MARK) + "(.*?)" + re.escape(_MARK), str(error), re.DOTALL)
        if found is None:
            raise
        raise ValueError(found.group(1)) from None
