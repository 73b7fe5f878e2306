"""Trains a model with a gancore-style `train_step` on one device, then on two; prints JSON.

    python -m tests.distribution_check jax          # keras.distribution.DataParallel
    python -m tests.distribution_check tensorflow   # tf.distribute.MirroredStrategy

Devices are fixed when a backend starts, so `tests/test_distribution.py` runs
this in a fresh process with two simulated CPU devices. The model is a linear
regression trained by `gradients.minimize` with SGD: a step's size shows whether
the replicas' gradients were averaged (Adam would hide a factor of two), and
there is no BatchNorm or random draw whose per-replica behaviour could differ.
"""

import json
import os
import sys

backend = sys.argv[1]
os.environ["KERAS_BACKEND"] = backend
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
if backend == "jax":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"

import contextlib  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

from gancore import gradients  # noqa: E402


def two_devices():
    """A context in which new models train data-parallel on two devices."""
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope()
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=keras.distribution.list_devices()[:2])
    )
    return contextlib.nullcontext()


if backend == "tensorflow":  # two logical CPUs, before TensorFlow starts
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


class Regression(keras.Model):
    """One dense layer trained by `gradients.minimize` in a custom `train_step`."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, kernel_initializer="ones")

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data

        def loss():
            return keras.ops.mean((self(x, training=True) - y) ** 2)

        return {"mse": gradients.minimize(self.optimizer, loss, self.trainable_variables)}


class StatelessRegression(gradients.StatelessTrainStep, Regression):
    pass


def train():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    model = StatelessRegression()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    kernel = model.dense.kernel
    if backend == "tensorflow":  # a MirroredVariable holds one copy per replica
        copies = len(getattr(kernel.value, "values", [kernel.value]))
    else:
        copies = len(kernel.value.sharding.device_set)
    return {
        "devices": copies,
        "mse": [float(v) for v in history["mse"]],
        "kernel": np.asarray(model.dense.kernel.numpy()).ravel().tolist(),
    }


def replicas_draw_the_same_noise():
    """Whether both replicas get the same numbers from one SeedGenerator in a step (TensorFlow)."""
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    seed = keras.random.SeedGenerator(1337)
    draws = strategy.experimental_local_results(
        strategy.run(tf.function(lambda: keras.random.normal((8,), seed=seed)))
    )
    return bool(np.allclose(draws[0].numpy(), draws[1].numpy()))


results = {"one device": train()}
with two_devices():
    results["two devices"] = train()
    if backend == "tensorflow":
        results["replicas draw the same noise"] = replicas_draw_the_same_noise()
print("RESULT", json.dumps(results))
