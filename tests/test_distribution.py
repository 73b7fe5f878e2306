"""gancore's train steps under Keras's own data-parallel engines, on two simulated CPU devices.

Issue 21 asks that every model train unchanged under `keras.distribution.DataParallel`
(JAX) and `tf.distribute.MirroredStrategy` (TensorFlow). This file checks the
piece all models share, `gradients.minimize` inside a custom `train_step`
(`tests/distribution_check.py`): two devices at the same global batch must
take the same SGD steps as one. Under MirroredStrategy each replica's mean loss
has to count 1/n, because the optimizer sums the replicas' gradients; before
`minimize` did this, the two-device run moved the weights twice as far.
The models themselves under both engines are not covered yet.
"""

import json

import numpy as np
import pytest

from tests.test_backends import run_under


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_devices_take_the_same_steps_as_one_at_the_same_global_batch(backend):
    result = run_under(backend, ["-m", "tests.distribution_check", backend])
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    runs = json.loads(line.removeprefix("RESULT"))
    one, two = runs["one device"], runs["two devices"]
    assert (one["devices"], two["devices"]) == (1, 2)  # the weights really live on two devices
    np.testing.assert_allclose(two["kernel"], one["kernel"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two["mse"], one["mse"], rtol=1e-5)
    assert not np.allclose(one["kernel"], 1.0)  # it trained: the kernel started at ones
