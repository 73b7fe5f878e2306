"""Spectral normalisation {cite}`miyato2018spectral` that trains on every Keras backend.

A wrapped `Conv2D` or `Dense` computes with $W / \\sigma(W)$, where the
largest singular value $\\sigma(W)$ of the kernel (reshaped to a matrix of
shape (fan_in, filters)) is estimated by power iteration: a vector $u$ kept
between steps, refined by one iteration per training call. Gradients flow
through the division, as in the paper.

Why not `keras.layers.SpectralNormalization`: in training it *assigns* the
normalised kernel to the wrapped layer's own (trainable) kernel before the
forward pass. Gradients then treat $W/\\sigma$ as a fresh variable, and on
PyTorch that in-place write breaks autograd as soon as the discriminator runs
twice in one step (real and fake). Here the stored kernel is never
overwritten: only $u$, a non-trainable variable, is updated.
"""

from __future__ import annotations

import keras
from keras import layers, ops


def _l2_normalize(x, eps=1e-12):
    return x / ops.sqrt(ops.sum(ops.square(x)) + eps)


@keras.saving.register_keras_serializable(package="gancore")
class SpectralNormalization(layers.Wrapper):
    """Wraps a layer with a `kernel` so that it computes with kernel / sigma(kernel).

    Args:
        layer: a `Conv2D`, `Conv2DTranspose`, `Dense`, ... with a `kernel`
            whose last axis is the output axis.
        power_iterations: power-iteration steps per training call (1 is the
            paper's choice: $u$ carries over, so the estimate keeps improving).
    """

    def __init__(self, layer, power_iterations: int = 1, **kwargs):
        super().__init__(layer, **kwargs)
        if int(power_iterations) < 1:
            raise ValueError(
                f"Expected power_iterations >= 1. Received: power_iterations={power_iterations}."
            )
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        if not hasattr(self.layer, "kernel"):
            raise ValueError(
                "SpectralNormalization wraps layers with a `kernel` (Dense, Conv2D, ...). "
                f"Received: {type(self.layer).__name__}, which has none."
            )
        self.vector_u = self.add_weight(
            shape=(1, self.layer.kernel.shape[-1]),
            initializer=keras.initializers.RandomNormal(seed=0),
            trainable=False,
            name="vector_u",
        )

    def normalized_kernel(self, training=False):
        """kernel / sigma, refining $u$ by power iteration first when `training`."""
        kernel = self.layer.kernel
        matrix = ops.reshape(kernel, (-1, kernel.shape[-1]))  # (fan_in, filters)
        u = self.vector_u.value  # (1, filters)
        fixed = ops.stop_gradient(matrix)  # the power iteration is not differentiated
        for _ in range(self.power_iterations if training else 0):
            v = _l2_normalize(ops.matmul(u, ops.transpose(fixed)))  # (1, fan_in)
            u = _l2_normalize(ops.matmul(v, fixed))
        if training:
            self.vector_u.assign(u)
        v = ops.stop_gradient(_l2_normalize(ops.matmul(u, ops.transpose(fixed))))
        sigma = ops.sum(ops.matmul(v, matrix) * ops.stop_gradient(u))  # u^T W^T v, a scalar
        return kernel / sigma

    def call(self, inputs, training=False):
        kernel = self.normalized_kernel(training=training)

        # Run the wrapped layer with the normalised kernel in place of its own.
        def values(variables):
            return [kernel if v is self.layer.kernel else v.value for v in variables]

        outputs, _ = self.layer.stateless_call(
            values(self.layer.trainable_variables),
            values(self.layer.non_trainable_variables),
            inputs,
        )
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
