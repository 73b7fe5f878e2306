"""Every gancore model trains the same on the TensorFlow, JAX and PyTorch backends.

Keras fixes its backend at import, so each backend runs in its own process:
`tests/backend_parity.py` trains every model for a few steps from the same
weights on the same batches (with fixed "random" draws, since each backend
has its own random generator) and saves it; the next backend loads those
files. JAX runs them data-parallel on two simulated CPU devices, so its losses are also
a check of `keras.distribution.DataParallel` (tests/test_distribution.py has TensorFlow's).
The unit tests of the backend-specific code paths (listed in
`BACKEND_TESTS`, with why) and one GAN chapter are also re-run under JAX and
PyTorch.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT

BACKENDS = ("tensorflow", "jax", "torch")
OTHER_BACKENDS = BACKENDS[1:]
# Float32 kernels differ by backend in summation order. After three Adam steps
# the losses agree to ~2e-4 relative (Adam rescales tiny gradient differences
# to step-sized ones), samples from the trained generators to ~5e-4, and the
# same weights loaded on another backend to ~4e-7.
LOSS_RTOL, LOSS_ATOL = 1e-3, 1e-4
TRAINED_SAMPLES_ATOL = 2e-3
LOADED_SAMPLES_ATOL = 1e-5
# Keras's bicubic resize on PyTorch is PyTorch's (kernel a = -0.75); on TensorFlow and JAX
# it is Keys' (a = -0.5): the same 14x14 image upsampled differs by up to 0.07. The
# super-resolution network's skip path is that resize, so on PyTorch it computes another
# function from the same weights. Its losses and samples there are compared with nothing;
# `test_bicubic_resize_is_what_differs_on_pytorch` pins the cause.
DIFFERS_BY_BACKEND = {("torch", "srgan")}
MODELS = {
    "gan", "conditional_gan", "wgan_clip", "wgan_gp", "stylegan", "progressive", "srgan",
    "vae", "conditional_vae",
}  # fmt: skip
# The unit tests re-run under JAX and PyTorch: those that exercise code that differs by
# backend and that the parity run above does not already cover. That code is
# `gancore.gradients` (tape / torch.autograd / jax.grad in a StatelessScope, and
# `OptimizerPair` carrying two optimizers through JAX's compiled step) and what trains
# through it. The parity run trains the GAN, conditional GAN, WGAN (clip and GP), StyleGAN,
# progressive GAN (mid-fade), super-resolution GAN, VAE and conditional VAE step by step on
# every backend against TensorFlow, where their unit tests (tests/models/, and for the losses
# test_losses.py and test_vae_losses.py) pin the maths; a backend that froze the wrong
# network, sliced the critic's batch wrongly or clipped too little would drift from
# TensorFlow's losses there, and the `.keras` files are loaded across backends there too.
# So only the train steps and gradient code outside the parity run are re-run: the
# progressive GAN's steps across a growth (the fade schedule, alpha zero after growing, and
# which blocks train), the super-resolution network's L1 fit (`compile(loss=...)`, not the
# GAN's step), spectral normalisation's power iteration, the self-attention GAN, latent
# optimisation (`minimize` outside a train step, for inpainting) and a checkpoint resumed
# with both optimizers' state. Their shape, argument and NumPy tests would run Keras's or
# NumPy's code again, not ours.
BACKEND_TESTS = [
    "tests/models/test_progressive.py::test_training_steps_advance_the_fade_on_the_schedule",
    "tests/models/test_progressive.py::test_first_step_after_growing_trains_at_alpha_zero_so_new_blocks_get_no_gradient",
    "tests/models/test_progressive.py::test_train_steps_move_only_the_active_blocks_and_keep_losses_finite",
    "tests/models/test_super_resolution.py::test_a_few_l1_fit_steps_move_every_layer_and_lower_the_loss",
    "tests/models/test_spectral.py",
    "tests/models/test_attention.py::test_spectral_norm_makes_every_convolution_of_the_block_compute_with_sigma_one",
    "tests/models/test_attention.py::test_gan_with_attention_and_spectral_norm_trains_and_reloads",
    "tests/test_applications.py::test_latent_optimisation_recovers_the_code_of_an_image_the_decoder_can_draw",
    "tests/test_applications.py::test_hidden_pixels_do_not_influence_the_fit",
    "tests/test_applications.py::test_restarts_keep_the_code_with_the_lowest_objective",
    "tests/test_callbacks.py::test_resume_continues_from_the_saved_epoch",
]  # fmt: skip


# JAX runs the parity models data-parallel on two simulated CPU devices (issue 21).
TWO_JAX_DEVICES = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
# JAX compiles every new shape of every operation, and most of a JAX test's time here was
# XLA optimising machine code that then ran a few times. The tests' JAX processes skip
# XLA's expensive CPU passes: the same operations in the same order, compiled faster (the
# parity run took 171 s at the default and 85 s so, chapter 4 79 s and 60 s).
FAST_XLA_COMPILE = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"


def run_under(backend, args, timeout=1500, env=None):
    """Runs `python args...` with KERAS_BACKEND=backend; fails with its output if it fails."""
    try:
        __import__(backend)
    except ImportError:
        pytest.fail(
            f"The {backend} backend is not installed: pip install -r requirements-test.txt",
            pytrace=False,
        )
    env = {**os.environ, **(env or {}), "KERAS_BACKEND": backend}
    if backend == "jax":
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {FAST_XLA_COMPILE}".strip()
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"KERAS_BACKEND={backend} python {' '.join(args)}:\n"
        + (result.stdout + result.stderr)[-6000:]
    )
    return result


@pytest.fixture(scope="module")
def parity_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("parity")
    for backend in BACKENDS:  # in order: each loads the files the earlier ones saved
        env = TWO_JAX_DEVICES if backend == "jax" else None
        run_under(backend, ["-m", "tests.backend_parity", str(out)], env=env)
    losses = {b: json.loads((out / f"{b}.json").read_text()) for b in BACKENDS}
    arrays = {b: dict(np.load(out / f"{b}.npz")) for b in BACKENDS}
    devices = {b: int((out / f"{b}.devices").read_text()) for b in BACKENDS}
    return losses, arrays, devices


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_losses_match_tensorflow_step_by_step(parity_runs, backend):
    losses, _, _ = parity_runs
    reference = losses["tensorflow"]
    assert set(losses[backend]) == set(reference) == MODELS
    for model, trackers in reference.items():
        assert set(losses[backend][model]) == set(trackers), model
        if (backend, model) in DIFFERS_BY_BACKEND:
            continue
        for name, values in trackers.items():
            np.testing.assert_allclose(
                losses[backend][model][name],
                values,
                rtol=LOSS_RTOL,
                atol=LOSS_ATOL,
                err_msg=f"{model} {name} on {backend}",
            )


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_trained_models_sample_the_same_images(parity_runs, backend):
    _, arrays, _ = parity_runs
    for key, samples in arrays["tensorflow"].items():
        if "/" not in key or (backend, key.split("/")[0]) in DIFFERS_BY_BACKEND:
            continue  # the resize probe has a test of its own
        np.testing.assert_allclose(
            arrays[backend][key], samples, atol=TRAINED_SAMPLES_ATOL, err_msg=f"{key} on {backend}"
        )


def test_jax_trained_every_model_data_parallel_on_two_devices(parity_runs):
    *_, devices = parity_runs
    assert devices == {"tensorflow": 1, "jax": 2, "torch": 1}


def test_keras_files_load_and_sample_on_every_other_backend(parity_runs):
    _, arrays, _ = parity_runs
    checked = 0
    for backend in BACKENDS:
        for key, loaded in arrays[backend].items():
            model, _, kind = key.partition("/")
            if kind.startswith("loaded_from_") and (backend, model) not in DIFFERS_BY_BACKEND:
                origin = kind.removeprefix("loaded_from_")
                saved = arrays[origin][f"{model}/samples"]
                np.testing.assert_allclose(
                    loaded, saved, atol=LOADED_SAMPLES_ATOL, err_msg=f"{origin} -> {backend}"
                )
                checked += 1
    # tensorflow -> jax, tensorflow -> torch, jax -> torch, for every model (but srgan on torch).
    assert checked == 3 * len(MODELS) - 2


def test_bicubic_resize_is_what_differs_on_pytorch(parity_runs):
    _, arrays, _ = parity_runs
    resized = {backend: arrays[backend]["bicubic_resize"] for backend in BACKENDS}
    np.testing.assert_allclose(resized["jax"], resized["tensorflow"], atol=1e-6)
    assert np.abs(resized["torch"] - resized["tensorflow"]).max() > 0.01


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_backend_specific_unit_tests_pass(backend):
    run_under(
        backend,
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval", "-o", "addopts=",
         *BACKEND_TESTS],
    )  # fmt: skip


def test_dcgan_chapter_runs_under_jax():
    run_under(
        "jax",
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", "chapters/04_dcgan.ipynb"],
    )
