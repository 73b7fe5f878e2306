import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from gancore.callbacks import (
    GANCheckpoint,
    GANDiagnostics,
    SampleGrid,
    fixed_noise,
    sample_diversity,
)
from gancore.models import networks
from gancore.models.gan import GAN

LATENT = 8


def images(n=16, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


def small_gan():
    keras.utils.set_random_seed(0)
    model = GAN(
        networks.dcgan_generator(latent_dim=LATENT, width=8), networks.dcgan_discriminator(width=8)
    )
    model.compile()
    return model


class StubGenerator:
    """Just enough of a generative model for the diagnostics: latent_dim and generate."""

    latent_dim = LATENT

    def __init__(self, collapsed=False):
        self.collapsed = collapsed
        self.stop_training = False

    def generate(self, n_or_noise, labels=None, seed=0):
        n = n_or_noise if np.isscalar(n_or_noise) else len(n_or_noise)
        if self.collapsed:
            return np.zeros((n, 28, 28, 1), "float32")
        return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


def test_sample_grid_saves_one_png_per_epoch_from_fixed_noise_and_a_gif(tmp_path):
    grid = SampleGrid(tmp_path / "samples", n=4)
    model = small_gan()
    model.fit(images(), batch_size=8, epochs=2, verbose=0, callbacks=[grid])
    assert [p.name for p in grid.frames] == ["epoch_001.png", "epoch_002.png"]
    np.testing.assert_array_equal(grid.noise, fixed_noise(4, LATENT, seed=0))
    gif = grid.gif()
    assert gif.exists() and gif.read_bytes()[:3] == b"GIF"


def test_checkpoint_keeps_only_the_last_k_epochs(tmp_path):
    ckpt = GANCheckpoint(tmp_path, keep=2)
    small_gan().fit(images(), batch_size=8, epochs=3, verbose=0, callbacks=[ckpt])
    assert [p.name for p in ckpt.checkpoints] == ["epoch_002.keras", "epoch_003.keras"]
    assert not (tmp_path / "epoch_001.json").exists()
    assert json.loads((tmp_path / "epoch_003.json").read_text())["epoch"] == 3


def test_resume_continues_from_the_saved_epoch(tmp_path):
    grid = SampleGrid(tmp_path / "samples", n=4, seed=7)
    ckpt = GANCheckpoint(tmp_path / "ckpt", keep=3, sample_grid=grid)
    model = small_gan()
    model.fit(
        images(), batch_size=8, epochs=2, verbose=0, callbacks=[grid, ckpt]
    )  # "disconnect" after 2 of 4

    # A new session: fresh callbacks, a fresh (untrained) model, then resume.
    grid2 = SampleGrid(tmp_path / "samples", n=4, seed=99)
    ckpt2 = GANCheckpoint(tmp_path / "ckpt", keep=3, sample_grid=grid2)
    resumed, initial_epoch = ckpt2.resume(small_gan())
    assert initial_epoch == 2 == ckpt2.initial_epoch
    assert int(resumed.g_optimizer.iterations) == 4  # 2 epochs x 2 steps
    np.testing.assert_array_equal(grid2.noise, grid.noise)  # the same fixed noise as before
    np.testing.assert_array_equal(resumed.generate(3), model.generate(3))

    history = resumed.fit(
        images(),
        batch_size=8,
        epochs=4,
        initial_epoch=initial_epoch,
        verbose=0,
        callbacks=[grid2, ckpt2],
    )
    assert len(history.history["d_loss"]) == 2  # epochs 3 and 4 only
    assert history.epoch == [2, 3]
    assert int(resumed.g_optimizer.iterations) == 8
    assert ckpt2.latest.name == "epoch_004.keras"
    assert [p.name for p in grid2.frames][-1] == "epoch_004.png"


def test_resume_without_checkpoints_starts_at_epoch_zero(tmp_path):
    model = small_gan()
    same, initial_epoch = GANCheckpoint(tmp_path).resume(model)
    assert same is model and initial_epoch == 0


def test_nan_loss_stops_training_with_a_message_and_keeps_the_last_good_checkpoint(
    tmp_path, capsys
):
    ckpt = GANCheckpoint(tmp_path, keep=3)
    diagnostics = GANDiagnostics(n_samples=4)
    model = small_gan()
    model.fit(images(), batch_size=8, epochs=1, verbose=0, callbacks=[ckpt, diagnostics])
    # A NaN weight makes every loss NaN from the next step on (`fit` refuses NaN data).
    kernel = model.discriminator.trainable_variables[0]
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    good = tf.data.Dataset.from_tensor_slices(images(32)).batch(8)
    history = model.fit(
        good, epochs=3, initial_epoch=1, shuffle=False, verbose=0, callbacks=[ckpt, diagnostics]
    )
    assert diagnostics.stopped_at == (2, 1)
    assert len(history.epoch) == 1  # stopped inside epoch 2, no epoch 3
    out = capsys.readouterr().out
    assert "d_loss=nan" in out and "at epoch 2, step 1: stopping training" in out
    assert [p.name for p in ckpt.checkpoints] == ["epoch_001.keras"]


def test_saturated_discriminator_is_flagged():
    diagnostics = GANDiagnostics(n_samples=4)
    diagnostics.set_model(StubGenerator())
    diagnostics.on_train_begin()
    diagnostics.on_epoch_end(0, {"d_acc_real": 1.0, "d_acc_fake": 0.995, "d_loss": 0.01})
    assert len(diagnostics.events) == 1 and "discriminator is saturated" in diagnostics.events[0]
    diagnostics.on_epoch_end(1, {"d_acc_real": 0.8, "d_acc_fake": 0.7})
    assert len(diagnostics.events) == 1


def test_collapsed_samples_are_flagged_against_real_data():
    diagnostics = GANDiagnostics(reference=images(8), n_samples=8)
    diagnostics.set_model(StubGenerator(collapsed=False))
    diagnostics.on_train_begin()
    diagnostics.on_epoch_end(0, {})
    assert diagnostics.events == []
    diagnostics.set_model(StubGenerator(collapsed=True))
    diagnostics.on_epoch_end(1, {})
    assert "possible mode collapse" in diagnostics.events[-1]


def test_sample_diversity_is_zero_for_identical_samples():
    assert sample_diversity(np.ones((5, 4, 4, 1))) == pytest.approx(0.0, abs=1e-6)
    assert sample_diversity(images(8)) > 0.3


def test_checkpoint_rejects_keep_zero(tmp_path):
    with pytest.raises(ValueError, match="Expected keep >= 1"):
        GANCheckpoint(tmp_path, keep=0)


class ScaledStubGenerator(StubGenerator):
    """A stub whose samples are uniform in [-scale, scale]: diversity proportional to scale."""

    def __init__(self):
        super().__init__()
        self.scale = 1.0

    def generate(self, n_or_noise, labels=None, seed=0):
        return self.scale * super().generate(n_or_noise, labels=labels, seed=seed)


def run_epochs(diagnostics, scales):
    """Ends one epoch per scale, with the stub's samples spread by that scale."""
    stub = ScaledStubGenerator()
    diagnostics.set_model(stub)
    diagnostics.on_train_begin()
    for epoch, scale in enumerate(scales):
        stub.scale = scale
        diagnostics.on_epoch_end(epoch, {})
    return [e for e in diagnostics.events if "oscillate" in e]


def test_diversity_swinging_up_and_down_is_flagged_as_oscillation():
    diagnostics = GANDiagnostics(reference=images(8), n_samples=8, oscillation_window=5)
    flagged = run_epochs(diagnostics, [1.0, 0.4, 1.0, 0.4, 1.0, 0.4])
    assert len(flagged) == 2  # epochs 5 and 6: the first two full windows
    assert "at epoch 5" in flagged[0] and "changed direction 3 of 3 times" in flagged[0]


def test_steady_climb_and_small_jitter_are_not_oscillation():
    climbing = GANDiagnostics(reference=images(8), n_samples=8, oscillation_window=5)
    # Steps of 0.3 (above the 20 % swing) but always upwards: learning, not swinging.
    assert run_epochs(climbing, [0.1, 0.4, 0.7, 1.0, 1.3, 1.6]) == []
    jitter = GANDiagnostics(reference=images(8), n_samples=8, oscillation_window=5)
    assert run_epochs(jitter, [1.0, 0.95, 1.0, 0.95, 1.0, 0.95]) == []  # swings under 20 %


def test_oscillation_check_is_off_by_default():
    diagnostics = GANDiagnostics(reference=images(8), n_samples=8)
    assert run_epochs(diagnostics, [1.0, 0.4, 1.0, 0.4, 1.0, 0.4]) == []


def test_oscillation_window_below_four_is_rejected():
    with pytest.raises(ValueError, match="Expected oscillation_window >= 4"):
        GANDiagnostics(oscillation_window=3)
