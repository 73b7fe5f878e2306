"""Trains a model with a gancore-style `train_step` on one device, then on two; prints JSON.

    python -m tests.distribution_check jax          # keras.distribution.DataParallel
    python -m tests.distribution_check tensorflow   # tf.distribute.MirroredStrategy
    python -m tests.distribution_check tensorflow gan wgan_clip   # these parity models

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
    # Kept beside the flags the caller set (test_backends.run_under's faster compile).
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=2".strip()

import contextlib  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

from gancore import gradients  # noqa: E402
from gancore.models.networks import batch_norm_layers  # noqa: E402
from tests import backend_parity  # noqa: E402


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


def noise_draws():
    """How one SeedGenerator's draws look on two TensorFlow replicas, plain and per replica."""
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()

    def on_replicas(draw):
        seed = keras.random.SeedGenerator(1337)
        step = tf.function(lambda: draw(lambda n: keras.random.normal((n,), seed=seed)))
        return [t.numpy() for t in strategy.experimental_local_results(strategy.run(step))]

    plain = on_replicas(lambda normal: normal(4))
    own = on_replicas(lambda normal: gradients.per_replica_draw(normal, 4))
    global_batch = keras.random.normal((8,), seed=keras.random.SeedGenerator(1337)).numpy()
    return {
        "plain draws repeat": bool(np.allclose(plain[0], plain[1])),
        "per-replica draws differ": not np.allclose(own[0], own[1]),
        "per-replica draws are the one-device global draw": bool(
            np.allclose(np.concatenate(own), global_batch)
        ),
    }


# One model per way a replica's share of the step can differ from the whole batch's:
# BatchNorm statistics (GAN), the critic's slices of the batch and the per-replica gradient
# penalty (WGAN-GP), a random draw per sample (VAE), the batch spread the discriminator
# sees (StyleGAN). On JAX the backend parity run trains every model on two devices.
# Also the clipped WGAN (weights assigned after each critic update) and the conditional
# models (labels split across replicas with their images).
MODELS = tuple(sys.argv[2:]) or (
    "gan", "conditional_gan", "wgan_clip", "wgan_gp", "vae", "conditional_vae", "stylegan"
)  # fmt: skip
# Checkpoints across device counts: one model per kind of saved state.
CHECKPOINT_MODELS = [m for m in MODELS if m in ("gan", "wgan_gp", "vae", "stylegan")] or MODELS


def train_models(names=MODELS, replicas=1, synchronized_batch_norm=False, save_dir=None):
    """The parity run's training of these models (same weights, same batch): losses and samples.

    With `save_dir`, each trained model is also saved there as `<name>.keras`.
    """
    results = {}
    for name, (model, inputs, batch_size, noise, labels) in backend_parity.models(names).items():
        for layer in batch_norm_layers(model):
            layer.synchronized = synchronized_batch_norm  # read at call time, on TensorFlow
        if hasattr(model, "n_critic"):
            inputs = critic_slices_across_replicas(inputs, batch_size, replicas, model.n_critic)
        results[name] = {
            "losses": backend_parity.train(model, inputs, batch_size),
            "samples": backend_parity.samples(model, noise, labels).ravel().tolist(),
        }
        if save_dir is not None:
            model.save(save_dir / f"{name}.keras")
    return results


def reload(path, steps=0):
    """A saved model loaded where this is called, trained `steps` more steps: its samples and losses."""
    model = keras.models.load_model(path, safe_mode=True)
    ((_, inputs, batch_size, noise, labels),) = backend_parity.models([path.stem]).values()
    history = {}
    if steps:
        batches = backend_parity.batches(inputs, batch_size)
        history = model.fit(batches, epochs=steps, steps_per_epoch=1, verbose=0).history
    return {
        "samples": backend_parity.samples(model, noise, labels).ravel().tolist(),
        "losses": {k: [float(x) for x in v] for k, v in history.items()},
    }


def critic_slices_across_replicas(inputs, batch_size, replicas, n_critic):
    """Reorders a batch so each critic update sees the same samples on `replicas` replicas as on one.

    The WGAN slices its batch into `n_critic` parts, one per critic update. On one device
    update k takes part k of the global batch; under MirroredStrategy each replica slices
    its own share. Putting part k's samples into every replica's k-th slice, in order, makes
    the two runs comparable.
    """
    if replicas == 1:
        return inputs
    share, part = batch_size // replicas, batch_size // n_critic
    step = part // replicas  # samples of one critic update on one replica
    order = [
        k * part + r * step + j
        for r in range(replicas)
        for k in range(n_critic)
        for j in range(step)
    ]
    assert len(order) == batch_size and share == n_critic * step
    return tuple(x[:batch_size][order] for x in inputs)


folder = Path(tempfile.mkdtemp())
for devices in ("one", "two"):
    (folder / devices).mkdir()
results = {"one device": train()}
if backend == "tensorflow":
    results["models on one device"] = train_models(save_dir=folder / "one")
with two_devices():
    results["two devices"] = train()
    if backend == "tensorflow":
        results["noise"] = noise_draws()
        results["models on two devices"] = train_models(
            replicas=2, synchronized_batch_norm=True, save_dir=folder / "two"
        )
        results["gan on two devices, per-replica BatchNorm"] = train_models(("gan",), replicas=2)
        # Checkpoints across device counts: one device's files load and train on two ...
        results["one-device files on two devices"] = {
            name: reload(folder / "one" / f"{name}.keras", steps=1) for name in CHECKPOINT_MODELS
        }
if backend == "tensorflow":  # ... and two devices' files load on one.
    results["two-device files on one device"] = {
        name: reload(folder / "two" / f"{name}.keras") for name in CHECKPOINT_MODELS
    }
print("RESULT", json.dumps(results))
