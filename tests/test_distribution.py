"""gancore's train steps under Keras's own data-parallel engines, on two simulated CPU devices.

Issue 21 asks that every model train unchanged under `keras.distribution.DataParallel`
(JAX) and `tf.distribute.MirroredStrategy` (TensorFlow). This file checks the
piece all models share, `gradients.minimize` inside a custom `train_step`
(`tests/distribution_check.py`): two devices at the same global batch must
take the same SGD steps as one. Under MirroredStrategy each replica's mean loss
has to count 1/n, because the optimizer sums the replicas' gradients; before
`minimize` did this, the two-device run moved the weights twice as far.
The random draws are the next gap: under MirroredStrategy every replica draws
the same numbers from one `keras.random.SeedGenerator` (the strict xfail below).
Under JAX's DataParallel a draw is one global array split across the devices.
The models themselves under both engines are not covered yet.
"""

import functools
import json

import numpy as np
import pytest

from tests.test_backends import run_under


@functools.cache
def check(backend):
    result = run_under(backend, ["-m", "tests.distribution_check", backend])
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    return json.loads(line.removeprefix("RESULT"))


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_devices_take_the_same_steps_as_one_at_the_same_global_batch(backend):
    runs = check(backend)
    one, two = runs["one device"], runs["two devices"]
    assert (one["devices"], two["devices"]) == (1, 2)  # the weights really live on two devices
    np.testing.assert_allclose(two["kernel"], one["kernel"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two["mse"], one["mse"], rtol=1e-5)
    assert not np.allclose(one["kernel"], 1.0)  # it trained: the kernel started at ones


@pytest.mark.xfail(
    strict=True,
    reason="Known, not fixed yet: under MirroredStrategy every replica draws the same numbers "
    "from a keras.random.SeedGenerator, so each replica's share of a GAN's noise (and a VAE's "
    "epsilon) repeats the others'; the draws must differ by replica.",
)
def test_tensorflow_replicas_draw_different_noise():
    assert not check("tensorflow")["replicas draw the same noise"]
