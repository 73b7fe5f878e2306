"""Taking gradients: the one backend-specific piece of gancore.

Every model's `train_step` is written in `keras.ops` and calls two helpers:
`minimize` ("differentiate this loss with respect to these variables and take
an optimizer step") and `input_gradient` (the gradient of a network with
respect to its input, for the WGAN-GP penalty); the random draws in a step go
through `per_replica_draw`, which keeps them distinct across the replicas of a
`tf.distribute` strategy. Only these differ by backend:

- TensorFlow: `tf.GradientTape`.
- PyTorch: `torch.autograd.grad` (with `create_graph` for the input gradient,
  so the penalty stays differentiable with respect to the critic's weights).
- JAX: `jax.grad` of a pure function. JAX has no mutable state inside a
  compiled step, so Keras hands `train_step` the values of every variable
  and expects the new values back. `StatelessTrainStep` does that plumbing
  once for every gancore model: it opens a `keras.StatelessScope` that maps
  each variable to its current value, runs the ordinary stateful
  `train_step(data)` inside it, and returns the values the scope recorded.
  Inside the scope, `minimize` differentiates a pure function of the chosen
  variables and lets the optimizer write its update into the scope, the way
  Keras's own `optimizer.stateless_apply` works.

Two-player models keep two optimizers; `OptimizerPair` shows them to Keras as
the model's one `optimizer`, so the JAX trainer carries both optimizers'
variables (step counts, moments) through the compiled step.
"""

from __future__ import annotations

import functools

import keras
from keras import ops

# The variables of the model whose JAX train step is running: `minimize`
# needs them to build the pure function it differentiates.
_JAX_STEP_VARIABLES: list = []


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
    variables = list(variables)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            result = loss_fn()
            # Under a tf.distribute strategy each replica sees its share of the batch, and the
            # optimizer sums the replicas' gradients: each replica's mean loss counts 1/n.
            loss = _loss_of(result) / tf.distribute.get_strategy().num_replicas_in_sync
        gradients = tape.gradient(loss, variables)
    elif backend == "torch":
        import torch

        result = loss_fn()
        gradients = torch.autograd.grad(
            _loss_of(result), [v.value for v in variables], materialize_grads=True
        )
        with torch.no_grad():  # the update itself is not part of any graph
            optimizer.apply(gradients, variables)
        return result
    elif backend == "jax":
        result, gradients = _jax_value_and_grad(loss_fn, variables)
    else:
        raise NotImplementedError(
            "gancore trains on the tensorflow, jax and torch backends. "
            f"Received: KERAS_BACKEND={backend!r}."
        )
    optimizer.apply(gradients, variables)
    return result


def input_gradient(fn, x):
    """The gradient of `sum(fn(x))` with respect to the input `x` itself.

    For a network that scores each sample on its own (no BatchNorm mixing the
    batch), the gradient of the summed scores is each sample's own gradient
    $\\nabla_x f(x_i)$. Called inside `minimize`'s `loss_fn`, the result stays
    differentiable with respect to `fn`'s weights, which is what the WGAN-GP
    gradient penalty needs.

    Args:
        fn: a callable mapping a batch (batch, ...) to scores (batch, ...).
        x: the batch to differentiate at.

    Returns:
        A tensor shaped like `x`.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(fn(x))  # inside the tape, so the sum is recorded too
        return tape.gradient(total, x)
    if backend == "torch":
        import torch

        x = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(torch.sum(fn(x)), x, create_graph=True)
        return gradient
    if backend == "jax":
        import jax

        return jax.grad(lambda x: keras.ops.sum(fn(x)))(x)
    raise NotImplementedError(f"Unsupported backend {backend!r}.")


def per_replica_draw(draw, batch_size):
    """`draw(batch_size)`, made different on every replica of a `tf.distribute` strategy.

    Under `tf.distribute.MirroredStrategy` every replica runs the train step
    from the same seed-generator state, so a plain `keras.random` draw gives
    every replica the same numbers: a GAN's noise (a VAE's epsilon) would
    repeat across the global batch. Here each replica draws the whole global
    batch's worth and keeps its own slice, so the global batch holds distinct
    draws. With one replica, and on JAX (where a draw is one global array split
    across the devices) or PyTorch, this is `draw(batch_size)`.

    Args:
        draw: a callable `n -> tensor` whose first axis has size n.
        batch_size: this replica's batch size.
    """
    context, replicas = _tensorflow_replicas()
    if replicas == 1:
        return draw(batch_size)
    start = context.replica_id_in_sync_group * batch_size
    return draw(replicas * batch_size)[start : start + batch_size]


def _tensorflow_replicas():
    """The `tf.distribute` replica context and its replica count (None, 1 outside one)."""
    if keras.backend.backend() != "tensorflow":
        return None, 1
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return context, 1 if context is None else context.num_replicas_in_sync


def batch_mean(x):
    """The mean of `x` over its first axis, over the global batch on every replica.

    Under `tf.distribute.MirroredStrategy` a replica holds its share of the
    batch, so a plain mean is the share's; here the replicas' means (of equal
    shares) are averaged with an all-reduce, which gradients flow through. On one
    device, on JAX (one program for the global batch) and on PyTorch it is
    `ops.mean(x, axis=0)`.
    """
    mean = ops.mean(x, axis=0)
    context, replicas = _tensorflow_replicas()
    if replicas == 1:
        return mean
    import tensorflow as tf

    return context.all_reduce(tf.distribute.ReduceOp.MEAN, mean)


def _loss_of(result):
    return result[0] if isinstance(result, tuple) else result


def _jax_value_and_grad(loss_fn, variables):
    """`loss_fn()` and its gradient with respect to `variables`, on JAX.

    The loss is rewritten as a pure function of the variables' values: a
    `StatelessScope` maps `variables` to the values being differentiated and,
    inside a model's train step, every other variable of the step to its
    current value. Updates that `loss_fn` makes to those other variables
    (BatchNorm statistics, the noise generator's state) come out of the pure
    function and are written back. Outside a train step (e.g. optimising a
    latent vector against a frozen decoder) other variables are read as they
    are, and an update to one of them is an error rather than lost silently.
    """
    import jax

    ids = {id(v) for v in variables}
    others = [v for v in _JAX_STEP_VARIABLES if id(v) not in ids]
    other_values = [v.value for v in others]  # current values from the step's scope
    known = ids | {id(v) for v in others}

    def pure_loss(values):
        mapping = [*zip(variables, values, strict=True), *zip(others, other_values, strict=True)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            result = loss_fn()
        if set(scope.state_mapping) - known:
            raise RuntimeError(
                "The loss updated variables that gancore.gradients.minimize cannot carry on JAX "
                "outside a gancore model's train step (e.g. BatchNorm statistics or a seed "
                "generator). Call the networks with training=False, or train through `fit`."
            )
        updated = [scope.get_current_value(v) for v in others]
        return _loss_of(result), (result, updated)

    gradients, (result, updated) = jax.grad(pure_loss, has_aux=True)([v.value for v in variables])
    for variable, value in zip(others, updated, strict=True):
        variable.assign(value)  # recorded by the step's scope
    return result, gradients


class OptimizerPair:
    """Two optimizers shown to Keras as a model's one `optimizer`.

    Keras builds `model.optimizer` before the first step and, on JAX, carries
    `model.optimizer.variables` through the compiled train step. Each
    optimizer is built on its own player's variables.

    Args:
        pairs: (optimizer, callable returning the variables it updates) pairs.
    """

    def __init__(self, *pairs):
        self.pairs = pairs

    @property
    def variables(self):
        return [v for optimizer, _ in self.pairs for v in optimizer.variables]

    @property
    def built(self):
        return all(optimizer.built for optimizer, _ in self.pairs)

    def build(self, variables=None):
        for optimizer, own_variables in self.pairs:
            if not optimizer.built:
                optimizer.build(own_variables())


class StatelessTrainStep:
    """Lets a stateful `train_step(data)` / `test_step(data)` run on every backend.

    TensorFlow and PyTorch call `train_step(data)` directly. On JAX, Keras
    calls `train_step(state, data)` with the values of all the model's
    variables and expects `(logs, new_state)`; this mixin wraps the stateful
    step into that form when Keras builds its train and test functions.
    """

    def make_train_function(self, force=False):
        if keras.backend.backend() != "jax":
            return super().make_train_function(force)
        return self._with_stateless_step("train_step", super().make_train_function, force)

    def make_test_function(self, force=False):
        if keras.backend.backend() != "jax":
            return super().make_test_function(force)
        return self._with_stateless_step("test_step", super().make_test_function, force)

    def _with_stateless_step(self, name, make_function, force):
        # The JAX trainer compiles `self.<name>`; an instance attribute of the
        # stateless form shadows the method while it does.
        stateful_step = getattr(self, name)
        object.__setattr__(self, name, functools.partial(_run_stateless, self, stateful_step, name))
        try:
            return make_function(force)
        finally:
            object.__delattr__(self, name)


def _state_variables(model, name):
    """The variable lists of the state Keras's JAX trainer passes to `name`."""
    lists = [model.trainable_variables, model.non_trainable_variables]
    if name == "train_step":
        optimizer = getattr(model, "optimizer", None)
        lists.append(optimizer.variables if optimizer is not None else [])
    lists.append(model.metrics_variables)
    return lists


def _run_stateless(model, stateful_step, name, state, data):
    variable_lists = _state_variables(model, name)
    mapping = [
        (variable, value)
        for variables, values in zip(variable_lists, state, strict=True)
        for variable, value in zip(variables, values, strict=True)
    ]
    _JAX_STEP_VARIABLES[:] = [variable for variable, _ in mapping]
    try:
        with keras.StatelessScope(state_mapping=mapping) as scope:
            logs = stateful_step(data)
            new_state = tuple(
                [scope.get_current_value(v) for v in variables] for variables in variable_lists
            )
    finally:
        _JAX_STEP_VARIABLES.clear()
    return logs, new_state
