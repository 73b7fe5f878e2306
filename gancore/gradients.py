"""Taking gradients: the one backend-specific piece of gancore.

Every model's `train_step` is written in `keras.ops`; only "differentiate this
loss with respect to these variables and take an optimizer step" needs the
backend. Supported for now: the TensorFlow backend (`tf.GradientTape`). JAX
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
