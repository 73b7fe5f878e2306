import keras
import numpy as np
import pytest
from keras.ops import convert_to_numpy as to_numpy

from gancore.models.gan import GAN
from gancore.models.progressive import (
    ProgressiveDiscriminator,
    ProgressiveGAN,
    ProgressiveGenerator,
    ProgressiveGrowing,
    downsample,
    fade_in_alpha,
    real_images_at,
    upsample,
)

LATENT = 8
FILTERS = (8, 4, 4)


def images(n=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


def noise(n=4, seed=1):
    return np.random.default_rng(seed).standard_normal((n, LATENT)).astype("float32")


def small_gan(stage=0, fade_steps=4, compile=True):
    keras.utils.set_random_seed(0)
    model = ProgressiveGAN(
        ProgressiveGenerator(LATENT, filters=FILTERS, stage=stage),
        ProgressiveDiscriminator(filters=FILTERS, stage=stage),
        fade_steps=fade_steps,
        seed=3,
    )
    if compile:
        model.compile()
    return model


def all_weights(model):
    """Every variable of a network by path, trainable or frozen."""
    return {v.path: to_numpy(v) for v in model.weights if "alpha" not in v.path}


def np_block_mean(x, k):
    n, h, w, c = x.shape
    return x.reshape(n, h // k, k, w // k, k, c).mean(axis=(2, 4))


def np_repeat(x, k):
    return x.repeat(k, axis=1).repeat(k, axis=2)


def test_fade_in_alpha_ramps_linearly_then_holds_at_one():
    assert [fade_in_alpha(s, 4) for s in range(7)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert fade_in_alpha(0, 0) == 1.0  # no fade: the new block counts fully at once
    with pytest.raises(ValueError, match="Expected step >= 0"):
        fade_in_alpha(-1, 4)


def test_resampling_matches_numpy_and_average_pool_undoes_repetition():
    x = images(2)
    np.testing.assert_allclose(to_numpy(downsample(x, 4)), np_block_mean(x, 4), atol=1e-6)
    small = np_block_mean(x, 2)
    np.testing.assert_array_equal(to_numpy(upsample(small, 2)), np_repeat(small, 2))
    np.testing.assert_allclose(to_numpy(downsample(upsample(small, 2), 2)), small, atol=1e-7)


def test_real_images_at_blends_two_resolutions_like_the_paper():
    x = images(2)
    at14 = np_block_mean(x, 2)
    at7_shown_at14 = np_repeat(np_block_mean(at14, 2), 2)
    expected = np_repeat(0.25 * at7_shown_at14 + 0.75 * at14, 2)  # alpha = 0.75, back at 28x28
    np.testing.assert_allclose(to_numpy(real_images_at(x, 14, 0.75)), expected, atol=1e-6)
    # No fade: just the images at 7x7, with repeated pixels.
    np.testing.assert_allclose(
        to_numpy(real_images_at(x, 7)), np_repeat(np_block_mean(x, 4), 4), atol=1e-6
    )


def test_output_shapes_at_each_stage():
    generator = ProgressiveGenerator(LATENT, filters=FILTERS)
    discriminator = ProgressiveDiscriminator(filters=FILTERS)
    z = noise(3)
    for resolution in (7, 14, 28):
        assert generator.resolution == discriminator.resolution == resolution
        assert tuple(generator.native(z).shape) == (3, resolution, resolution, 1)
        full = to_numpy(generator(z))
        assert full.shape == (3, 28, 28, 1)
        # Full size is the native image with repeated pixels.
        factor = 28 // resolution
        np.testing.assert_array_equal(full, np_repeat(to_numpy(generator.native(z)), factor))
        assert tuple(discriminator(full).shape) == (3, 1)
        assert tuple(discriminator.native(to_numpy(generator.native(z))).shape) == (3, 1)
        if resolution < 28:
            generator.grow()
            discriminator.grow()


def test_growing_keeps_every_trained_weight_and_unfreezes_the_new_blocks():
    model = small_gan()
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)  # train at 7x7 first
    g_before, d_before = all_weights(model.generator), all_weights(model.discriminator)
    g_trainable = len(model.generator.trainable_variables)
    model.grow()
    assert (model.stage, model.resolution, model.alpha) == (1, 14, 0.0)
    for before, network in [(g_before, model.generator), (d_before, model.discriminator)]:
        after = all_weights(network)
        assert after.keys() == before.keys()
        assert all(np.array_equal(before[k], after[k]) for k in before)
    assert len(model.generator.trainable_variables) > g_trainable
    # The optimizers were rebuilt for exactly the networks' new trainable variables.
    assert len(model.g_optimizer.variables) > 0
    assert int(model.g_optimizer.iterations) == 0


def test_fade_starts_from_the_old_output_so_growing_does_not_shock_the_networks():
    model = small_gan()
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    z, x = noise(4), images(4, seed=5)
    g_old = to_numpy(model.generator(z))
    d_old = to_numpy(model.discriminator(x))
    model.grow()  # alpha = 0: the new blocks are in the graph but weigh nothing yet
    np.testing.assert_allclose(to_numpy(model.generator(z)), g_old, atol=1e-6)
    np.testing.assert_allclose(to_numpy(model.discriminator(x)), d_old, atol=1e-5)
    model.generator.alpha.assign(1.0)
    assert not np.allclose(to_numpy(model.generator(z)), g_old, atol=1e-3)


def test_training_steps_advance_the_fade_on_the_schedule():
    model = small_gan(fade_steps=4)
    model.grow()
    seen = []
    for _ in range(6):  # one batch per fit, so alpha can be read between steps on any backend
        seen.append(model.alpha)
        model.fit(images(8), batch_size=8, epochs=1, verbose=0)
    assert seen == [fade_in_alpha(s, 4) for s in range(6)]
    assert model.alpha == 1.0
    assert float(to_numpy(model.discriminator.alpha)) == 1.0


def test_first_step_after_growing_trains_at_alpha_zero_so_new_blocks_get_no_gradient():
    model = small_gan(fade_steps=4)
    model.grow()
    g_before, d_before = all_weights(model.generator), all_weights(model.discriminator)
    model.fit(images(8), batch_size=8, epochs=1, verbose=0)  # one step, at alpha = 0
    for network, before, new in [
        (model.generator, g_before, ("block_14", "to_image_14")),
        (model.discriminator, d_before, ("block_14", "from_image_14")),
    ]:
        after = all_weights(network)
        kernels = [k for k in before if "kernel" in k and k.split("/")[0].startswith(new)]
        old_kernels = [k for k in before if "kernel" in k and k.split("/")[0] == "block_7"]
        assert kernels and old_kernels
        assert all(np.array_equal(before[k], after[k]) for k in kernels)
        assert all(not np.array_equal(before[k], after[k]) for k in old_kernels)
    assert model.alpha == 0.25


def test_callback_grows_after_each_fit_until_full_size():
    model = small_gan(fade_steps=2)
    growing = ProgressiveGrowing()
    stages = []
    for _ in model.resolutions:
        model.fit(images(16), batch_size=8, epochs=1, verbose=0, callbacks=[growing])
        stages.append((model.stage, model.alpha))
    # Each fit ends with growth (alpha restarts at 0), except the last one at 28x28.
    assert stages == [(1, 0.0), (2, 0.0), (2, 1.0)]


def test_callback_refuses_a_plain_gan():
    from gancore.models import networks

    plain = GAN(networks.dcgan_generator(LATENT, width=8), networks.dcgan_discriminator(width=8))
    plain.compile()
    with pytest.raises(ValueError, match="needs a ProgressiveGAN"):
        plain.fit(images(8), batch_size=8, epochs=1, verbose=0, callbacks=[ProgressiveGrowing()])


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_train_steps_move_only_the_active_blocks_and_keep_losses_finite(stage):
    model = small_gan(stage=stage)
    g_before, d_before = all_weights(model.generator), all_weights(model.discriminator)
    history = model.fit(images(16), batch_size=8, epochs=2, verbose=0)
    assert all(np.isfinite(v).all() for v in history.history.values())
    for network, before in [(model.generator, g_before), (model.discriminator, d_before)]:
        after = all_weights(network)
        active = {v.path for v in network.trainable_variables}
        moved = {k for k in before if not np.array_equal(before[k], after[k])}
        assert any("kernel" in k for k in moved)
        # Only active blocks move (BatchNorm statistics are frozen with their block).
        assert moved <= active | {
            v.path for v in network.non_trainable_variables if "moving" in v.path
        }
        # Blocks of later stages (and the 7x7 to/from-image layers at 28x28) stay frozen.
        frozen_kernels = [k for k in before if "kernel" in k and k not in active]
        assert frozen_kernels
        assert all(np.array_equal(before[k], after[k]) for k in frozen_kernels)


def test_keras_round_trip_keeps_stage_fade_samples_and_trains_on(tmp_path):
    model = small_gan(fade_steps=8)
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    model.grow()
    model.fit(images(24), batch_size=8, epochs=1, verbose=0)  # 3 of 8 fade steps
    path = tmp_path / "progressive.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded, ProgressiveGAN)
    assert (loaded.stage, loaded.resolution, loaded.fade_steps) == (1, 14, 8)
    assert loaded.alpha == model.alpha == fade_in_alpha(3, 8)
    np.testing.assert_array_equal(loaded.generate(noise()), model.generate(noise()))
    assert int(loaded.g_optimizer.iterations) == int(model.g_optimizer.iterations) == 3
    loaded.fit(images(8), batch_size=8, epochs=1, verbose=0)
    assert loaded.alpha == fade_in_alpha(4, 8)  # the fade went on where it stopped
    loaded.grow()
    assert loaded.resolution == 28


def test_bad_inputs_raise_clear_errors():
    model = small_gan()
    wrong_size = np.zeros((8, 32, 32, 1), dtype="float32")
    with pytest.raises(ValueError, match=r"Expected real images .*\(batch, 28, 28, 1\)"):
        model.fit(wrong_size, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"Expected images of shape \(batch, 28, 28, 1\)"):
        model.discriminator(np.zeros((2, 14, 14, 1), dtype="float32"))
    with pytest.raises(ValueError, match="start_size"):
        ProgressiveGenerator(LATENT, image_shape=(32, 32, 1), filters=FILTERS)
    with pytest.raises(ValueError, match="stage in"):
        ProgressiveDiscriminator(filters=FILTERS, stage=3)
    with pytest.raises(ValueError, match="same"):
        ProgressiveGAN(
            ProgressiveGenerator(LATENT, filters=FILTERS, stage=1),
            ProgressiveDiscriminator(filters=FILTERS),
        )
    full = small_gan(stage=2)
    with pytest.raises(ValueError, match="already at the full resolution 28x28"):
        full.grow()
