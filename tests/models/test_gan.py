import keras
import numpy as np
import pytest

from gancore.models import gan as gan_module
from gancore.models import networks
from gancore.models.gan import GAN, ConditionalGAN

LATENT = 8


def images(n=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


def small_gan(loss="non_saturating", **compile_kwargs):
    keras.utils.set_random_seed(0)
    model = GAN(
        networks.dcgan_generator(latent_dim=LATENT, width=8),
        networks.dcgan_discriminator(width=8),
        seed=3,
    )
    model.compile(loss=loss, **compile_kwargs)
    return model


def small_conditional_gan():
    keras.utils.set_random_seed(0)
    model = ConditionalGAN(
        networks.dcgan_generator(latent_dim=LATENT, width=8, num_classes=10),
        networks.dcgan_discriminator(width=8, num_classes=10),
    )
    model.compile()
    return model


def weights(model):
    return [np.array(v) for v in model.trainable_variables]


def changed(before, after):
    return all(not np.allclose(b, a) for b, a in zip(before, after, strict=True))


def test_one_train_step_changes_both_networks_and_keeps_losses_finite():
    model = small_gan()
    g_before, d_before = weights(model.generator), weights(model.discriminator)
    logs = model.train_on_batch(images(), return_dict=True)
    assert changed(g_before, weights(model.generator))
    assert changed(d_before, weights(model.discriminator))
    assert set(logs) == {"d_loss", "g_loss", "d_acc_real", "d_acc_fake"}
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_discriminator_is_frozen_during_the_generator_step(snapshots_after_each_update):
    model = small_gan(run_eagerly=True)  # to look at the weights between the two updates
    snapshots = snapshots_after_each_update(gan_module, model)
    g_before = weights(model.generator)
    model.train_on_batch(images(), return_dict=True)
    (d_after_d_step, g_after_d_step), (d_after_g_step, g_after_g_step) = snapshots
    # D step: only D moves. G step: only G moves.
    assert all(np.array_equal(a, b) for a, b in zip(g_before, g_after_d_step, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(d_after_d_step, d_after_g_step, strict=True))
    assert changed(g_after_d_step, g_after_g_step)


def test_fit_logs_the_four_trackers_once_per_epoch():
    model = small_gan()
    history = model.fit(images(16), batch_size=8, epochs=2, verbose=0)
    assert sorted(history.history) == ["d_acc_fake", "d_acc_real", "d_loss", "g_loss"]
    assert len(history.history["d_loss"]) == 2
    assert int(model.d_optimizer.iterations) == int(model.g_optimizer.iterations) == 4


def test_minimax_loss_is_selectable_and_unknown_loss_is_rejected():
    model = small_gan(loss="minimax")
    assert model.generator_loss is gan_module.losses.generator_loss_minimax
    with pytest.raises(ValueError, match="Unknown generator loss 'hinge'.*minimax"):
        model.compile(loss="hinge")


def test_keras_round_trip_keeps_samples_optimizers_and_trains_on(tmp_path):
    model = small_gan(loss="minimax", jit_compile=False)
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    noise = np.random.default_rng(1).standard_normal((4, LATENT)).astype("float32")
    path = tmp_path / "gan.keras"
    model.save(path)

    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded, GAN)
    np.testing.assert_array_equal(loaded.generate(noise), model.generate(noise))
    assert loaded.generator_loss_name == "minimax"
    assert int(loaded.d_optimizer.iterations) == int(loaded.g_optimizer.iterations) == 2
    for saved, restored in zip(
        model.g_optimizer.variables, loaded.g_optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(np.array(saved), np.array(restored))
    np.testing.assert_array_equal(
        np.array(loaded.seed_generator.state), np.array(model.seed_generator.state)
    )

    history = loaded.fit(images(16), batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    assert int(loaded.g_optimizer.iterations) == 4


def test_generate_is_deterministic_for_a_seed():
    model = small_gan()
    np.testing.assert_array_equal(model.generate(3, seed=5), model.generate(3, seed=5))
    assert model.generate(3).shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match=r"Expected noise of shape \(n, 8\)"):
        model.generate(np.zeros((3, 5)))


def test_wrong_image_shape_raises_a_clear_error():
    model = small_gan()
    with pytest.raises(
        ValueError, match=r"Expected real images in \[-1, 1\] with shape \(batch, 28, 28, 1\)"
    ):
        model.fit(np.zeros((8, 28, 28), "float32"), batch_size=8, verbose=0)


def test_images_outside_tanh_range_raise_a_clear_error():
    model = small_gan()
    with pytest.raises(ValueError, match=r"Received: .*max=255"):
        model.fit(np.full((8, 28, 28, 1), 255.0, "float32"), batch_size=8, verbose=0)


def test_conditional_gan_trains_round_trips_and_needs_labels(tmp_path):
    model = small_conditional_gan()
    x, y = images(16), np.arange(16) % 10
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])
    assert model.num_classes == 10
    model.save(tmp_path / "cgan.keras")
    loaded = keras.models.load_model(tmp_path / "cgan.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.generate(10, seed=2), model.generate(10, seed=2))
    with pytest.raises(ValueError, match="expects labels"):
        model.fit(x, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match=r"labels in \[0, 9\]"):
        model.fit(x, y + 5, batch_size=8, verbose=0)


def test_conditional_labels_change_the_samples():
    model = small_conditional_gan()
    noise = np.zeros((2, LATENT), "float32") + 0.5
    # Train a little so the label embedding matters, then compare two classes.
    model.fit(images(16), np.arange(16) % 10, batch_size=8, epochs=1, verbose=0)
    a, b = model.generate(noise, labels=np.array([1, 7]))
    assert not np.allclose(a, b)
