import keras
import numpy as np
import pytest

from gancore.models import networks
from gancore.models import wgan as wgan_module
from gancore.models.wgan import WGAN

LATENT = 8


def images(n=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


def small_wgan(penalty="gp", n_critic=2, run_eagerly=False, **kwargs):
    keras.utils.set_random_seed(0)
    model = WGAN(
        networks.dcgan_generator(latent_dim=LATENT, width=8),
        networks.dcgan_discriminator(width=8, batch_norm=False),
        penalty=penalty,
        n_critic=n_critic,
        seed=3,
        **kwargs,
    )
    # run_eagerly: tests that look at weights between the two updates of a step.
    model.compile(run_eagerly=run_eagerly)
    return model


def weights(model):
    return [np.array(v) for v in model.trainable_variables]


def changed(before, after):
    # Every variable moved (RMSProp's 5e-5 steps are too small for np.allclose).
    return all(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))


@pytest.mark.parametrize("penalty", ["clip", "gp"])
def test_one_train_step_moves_both_networks_and_keeps_losses_finite(penalty):
    model = small_wgan(penalty)
    g_before, c_before = weights(model.generator), weights(model.critic)
    logs = model.train_on_batch(images(), return_dict=True)
    assert changed(g_before, weights(model.generator))
    # All but the critic's output bias: E[f(x)] - E[f(G(z))] does not depend on
    # a constant shift of f, so its gradient is exactly 0.
    c_after = weights(model.critic)
    assert changed(c_before[:-1], c_after[:-1])
    np.testing.assert_array_equal(c_before[-1], c_after[-1])
    expected = {"critic_loss", "generator_loss", "wasserstein"}
    assert set(logs) == (expected | {"gradient_penalty"} if penalty == "gp" else expected)
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_after_a_clip_step_every_critic_weight_lies_in_minus_c_c():
    c = 0.005
    model = small_wgan("clip", clip_value=c)
    # The N(0, 0.02) initial kernels reach far beyond c: clipping has work to do.
    assert max(np.abs(w).max() for w in weights(model.critic)) > 5 * c
    model.train_on_batch(images(), return_dict=True)
    for w in weights(model.critic):
        assert np.abs(w).max() <= c + 1e-7


def test_critic_is_updated_n_critic_times_per_generator_update():
    model = small_wgan("gp", n_critic=3)
    history = model.fit(images(24), batch_size=12, epochs=1, verbose=0)  # 2 steps of 3 x 4 images
    assert int(model.g_optimizer.iterations) == 2
    assert int(model.d_optimizer.iterations) == 3 * 2
    assert np.isfinite(history.history["gradient_penalty"][0])


def test_each_critic_update_sees_its_own_slice_of_the_batch(monkeypatch):
    model = small_wgan("clip", n_critic=4, run_eagerly=True)
    seen = []
    original = WGAN.critic_step

    def recording_critic_step(self, real, labels):
        seen.append(np.array(real))
        return original(self, real, labels)

    monkeypatch.setattr(WGAN, "critic_step", recording_critic_step)
    batch = images(8)
    model.train_on_batch(batch, return_dict=True)
    assert [s.shape[0] for s in seen] == [2, 2, 2, 2]
    np.testing.assert_array_equal(np.concatenate(seen), batch)


def test_networks_are_frozen_in_each_others_steps(snapshots_after_each_update):
    model = small_wgan("gp", n_critic=1, run_eagerly=True)
    snapshots = snapshots_after_each_update(wgan_module, model)  # (critic, generator) weights
    g_before = weights(model.generator)
    model.train_on_batch(images(), return_dict=True)
    (c_after_c_step, g_after_c_step), (c_after_g_step, g_after_g_step) = snapshots
    assert all(np.array_equal(a, b) for a, b in zip(g_before, g_after_c_step, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(c_after_c_step, c_after_g_step, strict=True))
    assert changed(g_after_c_step, g_after_g_step)


def test_default_optimizers_follow_the_papers():
    clip = small_wgan("clip")
    assert isinstance(clip.d_optimizer, keras.optimizers.RMSprop)
    assert float(clip.g_optimizer.learning_rate) == pytest.approx(5e-5)
    gp = small_wgan("gp")
    assert isinstance(gp.d_optimizer, keras.optimizers.Adam)
    assert float(gp.d_optimizer.learning_rate) == pytest.approx(1e-4)
    assert (gp.g_optimizer.beta_1, gp.g_optimizer.beta_2) == (0.0, 0.9)
    assert gp.d_optimizer is not gp.g_optimizer


def test_keras_round_trip_keeps_samples_settings_optimizers_and_trains_on(tmp_path):
    model = small_wgan("clip", n_critic=2, clip_value=0.02)
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    noise = np.random.default_rng(1).standard_normal((4, LATENT)).astype("float32")
    path = tmp_path / "wgan.keras"
    model.save(path)

    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded, WGAN)
    np.testing.assert_array_equal(loaded.generate(noise), model.generate(noise))
    assert (loaded.penalty, loaded.n_critic, loaded.clip_value) == ("clip", 2, 0.02)
    assert isinstance(loaded.d_optimizer, keras.optimizers.RMSprop)
    assert int(loaded.d_optimizer.iterations) == 4 and int(loaded.g_optimizer.iterations) == 2
    for saved, restored in zip(
        model.d_optimizer.variables, loaded.d_optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(np.array(saved), np.array(restored))
    np.testing.assert_array_equal(
        np.array(loaded.seed_generator.state), np.array(model.seed_generator.state)
    )

    history = loaded.fit(images(16), batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["critic_loss"][0])
    assert int(loaded.g_optimizer.iterations) == 4
    assert max(np.abs(w).max() for w in weights(loaded.critic)) <= 0.02 + 1e-7


def test_gradient_penalty_refuses_a_critic_with_batch_norm():
    with pytest.raises(ValueError, match="BatchNormalization.*batch_norm=False"):
        WGAN(networks.dcgan_generator(width=8), networks.dcgan_discriminator(width=8))
    # Weight clipping has no such restriction (the WGAN paper's critic used BatchNorm).
    WGAN(networks.dcgan_generator(width=8), networks.dcgan_discriminator(width=8), penalty="clip")


def test_bad_settings_raise_clear_errors():
    g, c = (
        networks.dcgan_generator(width=8),
        networks.dcgan_discriminator(width=8, batch_norm=False),
    )
    with pytest.raises(ValueError, match="Unknown penalty 'spectral'"):
        WGAN(g, c, penalty="spectral")
    with pytest.raises(ValueError, match="n_critic >= 1"):
        WGAN(g, c, n_critic=0)
    model = small_wgan("gp", n_critic=5)
    with pytest.raises(ValueError, match="Wasserstein losses; loss= does not apply"):
        model.compile(loss="minimax")
    with pytest.raises(ValueError, match="at least n_critic=5 samples"):
        model.fit(images(8), batch_size=4, verbose=0)
