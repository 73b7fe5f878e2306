"""gancore's models under Keras's own data-parallel engines, on two simulated CPU devices.

Issue 21 asks that every model train unchanged under `keras.distribution.DataParallel`
(JAX) and `tf.distribute.MirroredStrategy` (TensorFlow). Two devices at the same global
batch must take the same steps as one, or the difference must be a known statistic of the
replica's share of the batch:

- `gradients.minimize` trains a linear model with SGD (`tests/distribution_check.py`): under
  MirroredStrategy each replica's mean loss counts 1/n, because the optimizer sums the
  replicas' gradients; before `minimize` did this, two devices moved the weights twice as far.
- Random draws: under MirroredStrategy every replica draws the same numbers from one
  `keras.random.SeedGenerator`; `gradients.per_replica_draw` gives each replica its own
  slice of the global batch's draw, the numbers one device draws.
- The models on TensorFlow: a GAN (BatchNorm) and a conditional GAN (labels split with
  their images), the WGAN with clipping (weights assigned after each critic update) and
  WGAN-GP (the critic's slices, the penalty per replica), a VAE and a conditional VAE (a
  draw per sample), and the StyleGAN (its discriminator's batch spread, `MinibatchStdDev`,
  is the global batch's through `gradients.batch_mean`, R1 included). On JAX
  every model of the backend parity run trains on two devices there (tests/test_backends.py)
  and matches TensorFlow's losses.
- Checkpoints: `.keras` files written on two TensorFlow replicas load and sample the same
  on one device, and one device's files load and train on under the strategy. (On JAX the
  parity run's two-device files load on PyTorch's one device, and TensorFlow's load there.)
"""

import functools
import json

import numpy as np
import pytest

from tests.test_backends import run_under

# Summation order differs between one device and two: float32 rounding only.
RTOL, ATOL = 1e-5, 1e-6


@functools.cache
def check(backend):
    result = run_under(backend, ["-m", "tests.distribution_check", backend])
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    return json.loads(line.removeprefix("RESULT"))


def assert_same_losses(one, two, name):
    assert set(one) == set(two), name
    for tracker, values in one.items():
        np.testing.assert_allclose(two[tracker], values, rtol=RTOL, atol=ATOL, err_msg=tracker)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_devices_take_the_same_steps_as_one_at_the_same_global_batch(backend):
    runs = check(backend)
    one, two = runs["one device"], runs["two devices"]
    assert (one["devices"], two["devices"]) == (1, 2)  # the weights really live on two devices
    np.testing.assert_allclose(two["kernel"], one["kernel"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(two["mse"], one["mse"], rtol=RTOL)
    assert not np.allclose(one["kernel"], 1.0)  # it trained: the kernel started at ones


def test_tensorflow_replicas_draw_their_own_share_of_the_global_batch():
    noise = check("tensorflow")["noise"]
    assert noise["plain draws repeat"]  # why per_replica_draw exists
    assert noise["per-replica draws differ"]
    assert noise["per-replica draws are the one-device global draw"]


@pytest.mark.parametrize(
    "model",
    ["gan", "conditional_gan", "wgan_clip", "wgan_gp", "vae", "conditional_vae", "stylegan"],
)
def test_tensorflow_models_train_on_two_replicas_as_on_one_device(model):
    runs = check("tensorflow")
    one, two = runs["models on one device"][model], runs["models on two devices"][model]
    # (The GAN's and WGAN-GP generator's BatchNorm layers are synchronized here.)
    assert_same_losses(one["losses"], two["losses"], model)
    # The clipped critic hands the generator gradients of ~1e-4, and Adam rescales their
    # rounding differences to step-sized ones: its samples agree to ~1e-5, the others' to 1e-7.
    atol = 5e-5 if model == "wgan_clip" else 1e-5
    np.testing.assert_allclose(two["samples"], one["samples"], atol=atol)


def test_per_replica_batch_norm_statistics_are_what_two_replicas_change_in_a_gan():
    runs = check("tensorflow")
    one = runs["models on one device"]["gan"]["losses"]["d_loss"]
    synchronized = runs["models on two devices"]["gan"]["losses"]["d_loss"]
    per_replica = runs["gan on two devices, per-replica BatchNorm"]["gan"]["losses"]["d_loss"]
    np.testing.assert_allclose(synchronized, one, rtol=RTOL)
    # Keras's default: each replica normalises by its own half of the batch.
    assert not np.allclose(per_replica, one, rtol=1e-4)
    np.testing.assert_allclose(per_replica, one, rtol=0.02)  # a different batch, same model


def test_tensorflow_checkpoints_move_between_one_device_and_two():
    runs = check("tensorflow")
    for name, loaded in runs["two-device files on one device"].items():
        trained = runs["models on two devices"][name]["samples"]
        np.testing.assert_allclose(loaded["samples"], trained, atol=1e-6, err_msg=name)
    for name, loaded in runs["one-device files on two devices"].items():
        losses = np.array([v for values in loaded["losses"].values() for v in values])
        assert losses.size and np.isfinite(losses).all(), name  # it trained on, finite
        before = np.array(runs["models on one device"][name]["samples"])
        assert not np.allclose(loaded["samples"], before), name  # the step moved the generator
