"""Taking gradients: the one backend-specific piece of gancore.

Every model's `train_step` is written in `keras.ops`; only "differentiate this
loss with respect to these variables and take an optimizer step", and the
gradient of a network with respect to its input (the WGAN-GP penalty), need
the backend. Supported for now: the TensorFlow backend (`tf.GradientTape`). JAX
and PyTorch need a stateless/`backward()` variant of this helper (a later
issue); calling it under those backends raises a clear error.
"""

from __future__ import annotations

import keras


def minimize(optimizer, loss_fn, variables):
    """Runs `loss_fn()`, then one `optimizer` step on `variables` against its gradient.

    Args:
        optimizer: a `keras.optimizers.Optimizer`.
        loss_fn: a closure with no arguments returning a scalar loss, or a
            tuple `(loss, aux)` whose `aux` is passed through untouched
            (e.g. logits for an accuracy metric).
        variables: the variables to update; only these move (e.g. the
            generator's, so the discriminator stays frozen in the G step).

    Returns:
        Whatever `loss_fn()` returned.
    """
    if keras.backend.backend() != "tensorflow":
        raise NotImplementedError(
            "gancore.gradients.minimize supports the TensorFlow backend only. "
            f"Received: KERAS_BACKEND={keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow."
        )
    import tensorflow as tf

    with tf.GradientTape() as tape:
        result = loss_fn()
    loss = result[0] if isinstance(result, tuple) else result
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables, strict=True))
    return result


def input_gradient(fn, x):
    """The gradient of `sum(fn(x))` with respect to the input `x` itself.

    For a network that scores each sample on its own (no BatchNorm mixing the
    batch), the gradient of the summed scores is each sample's own gradient
    $\\nabla_x f(x_i)$. Called inside `minimize`'s `loss_fn`, the result stays
    differentiable with respect to `fn`'s weights (a nested tape), which is
    what the WGAN-GP gradient penalty needs.

    Args:
        fn: a callable mapping a batch (batch, ...) to scores (batch, ...).
        x: the batch to differentiate at.

    Returns:
        A tensor shaped like `x`.
    """
    if keras.backend.backend() != "tensorflow":
        raise NotImplementedError(
            "gancore.gradients.input_gradient supports the TensorFlow backend only. "
            f"Received: KERAS_BACKEND={keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow."
        )
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(fn(x))  # inside the tape, so the sum is recorded too
    return tape.gradient(total, x)
