"""Self-attention for convolutional GANs, as in SAGAN (Zhang et al., 2019).

A convolution sees a small neighbourhood; self-attention lets every position
of a feature map look at every other one. For a feature map $x$ with $N = HW$
positions, 1x1 convolutions give queries $f(x)$, keys $g(x)$ and values
$h(x)$; the attention map $\\beta = \\mathrm{softmax}(f(x)^\\top g(x))$ is
$N \\times N$, and the block returns

$$ y = x + \\gamma \\, v(h(x)\\,\\beta^\\top), $$

with a learnable gate $\\gamma$ that starts at 0, so that at initialisation
the block is the identity and the network learns to use attention gradually.

In a SAGAN discriminator the four 1x1 convolutions are spectrally normalised
like every other layer (`spectral_norm=True`).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from gancore.models.spectral import SpectralNormalization


@keras.saving.register_keras_serializable(package="gancore")
class SelfAttention(layers.Layer):
    """SAGAN self-attention over the positions of a feature map.

    Args:
        reduction: the queries and keys have `channels // reduction` channels
            (8 in SAGAN), which keeps the $N \\times N$ product cheap.
        spectral_norm: wrap the four 1x1 convolutions (query, key, value,
            output) in `SpectralNormalization`, as SAGAN does in both networks.
        **kwargs: standard layer arguments (`name`, ...).

    Call arguments:
        x: feature map of shape (batch, height, width, channels).

    After a call, `last_attention` holds the attention map of shape
    (batch, N, N), row $i$ being where position $i$ looked.
    """

    def __init__(self, reduction: int = 8, spectral_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        if reduction < 1:
            raise ValueError(f"Expected reduction >= 1. Received: reduction={reduction}.")
        self.reduction = int(reduction)
        self.spectral_norm = bool(spectral_norm)
        self.last_attention = None

    def _conv(self, filters: int, name: str):
        """A bias-free 1x1 convolution, spectrally normalised if asked."""
        conv = layers.Conv2D(filters, 1, use_bias=False, name=name)
        return SpectralNormalization(conv, name=f"{name}_sn") if self.spectral_norm else conv

    def build(self, input_shape):
        channels = int(input_shape[-1])
        inner = max(1, channels // self.reduction)
        self.query = self._conv(inner, "query")
        self.key = self._conv(inner, "key")
        self.value = self._conv(max(1, channels // 2), "value")
        self.out = self._conv(channels, "out")
        self.query.build(input_shape)
        self.key.build(input_shape)
        self.value.build(input_shape)
        self.out.build(tuple(input_shape[:-1]) + (max(1, channels // 2),))
        # The gate: 0 at initialisation, so the block starts as the identity.
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def call(self, x):
        batch, height, width = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        n = height * width

        def flat(t):  # (batch, h, w, c) -> (batch, N, c)
            return ops.reshape(t, (batch, n, ops.shape(t)[-1]))

        q, k, v = flat(self.query(x)), flat(self.key(x)), flat(self.value(x))
        attention = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 2, 1))), axis=-1)  # (b, N, N)
        self.last_attention = attention
        attended = ops.reshape(ops.matmul(attention, v), (batch, height, width, ops.shape(v)[-1]))
        return x + self.gamma * self.out(attended)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "reduction": self.reduction,
            "spectral_norm": self.spectral_norm,
        }
