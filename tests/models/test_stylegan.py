import keras
import numpy as np
import pytest
from keras import ops

from gancore.models import networks
from gancore.models import stylegan as stylegan_module
from gancore.models.stylegan import (
    NOISE_SHAPES,
    NUM_STYLES,
    MinibatchStdDev,
    ModulatedConv2D,
    StyleGAN,
    mapping_network,
    style_discriminator,
    synthesis_network,
)

W_DIM = 8


def images(n=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


def small_stylegan(**kwargs):
    keras.utils.set_random_seed(0)
    model = StyleGAN(
        mapping_network(W_DIM, depth=2),
        synthesis_network(W_DIM, filters=(8, 8, 4)),
        style_discriminator(width=4),
        seed=3,
        **kwargs,
    )
    model.compile()
    return model


def weights(variables):
    return [np.array(v) for v in variables]


def test_modulated_convolution_equals_a_per_sample_demodulated_kernel():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 5, 4)).astype("float32")
    ws = rng.standard_normal((3, 2, 6)).astype("float32")
    layer = ModulatedConv2D(7, 3, style_index=1)
    y = ops.convert_to_numpy(layer([x, ws]))

    kernel, bias = ops.convert_to_numpy(layer.kernel), ops.convert_to_numpy(layer.bias)
    s = ops.convert_to_numpy(layer.affine(ws[:, 1]))  # (3, 4)
    for i in range(3):
        w = kernel * s[i][None, None, :, None]  # this sample's kernel, (3, 3, 4, 7)
        w = w / np.sqrt(np.sum(w**2, axis=(0, 1, 2), keepdims=True) + layer.epsilon)
        expected = ops.convert_to_numpy(ops.conv(x[i : i + 1], w, padding="same")) + bias
        np.testing.assert_allclose(y[i : i + 1], expected, rtol=1e-4, atol=1e-5)


def test_demodulation_gives_unit_scale_outputs_for_unit_scale_inputs():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 16, 16, 32)).astype("float32")
    ws = 3.0 * rng.standard_normal((64, 1, 16)).astype("float32")  # styles far from 1
    y = ops.convert_to_numpy(ModulatedConv2D(16, 3)([x, ws]))[:, 1:-1, 1:-1]  # no padding
    assert 0.9 < y.std() < 1.1


def test_upsampling_layer_doubles_the_size():
    layer = ModulatedConv2D(5, 3, upsample=True)
    y = layer([np.zeros((2, 7, 7, 3), "float32"), np.zeros((2, 1, 4), "float32")])
    assert tuple(y.shape) == (2, 14, 14, 5)
    with pytest.raises(ValueError, match="style_index 2 is outside the 1 rows"):
        ModulatedConv2D(5, style_index=2)([np.zeros((1, 7, 7, 3)), np.zeros((1, 1, 4))])


def test_synthesis_shapes_and_noise_that_starts_switched_off():
    model = small_stylegan()
    ws = np.random.default_rng(0).standard_normal((4, W_DIM)).astype("float32")
    a, b = model.synthesize(ws, seed=1), model.synthesize(ws, seed=2)
    assert a.shape == (4, 28, 28, 1) and np.abs(a).max() <= 1.0
    np.testing.assert_allclose(a, b, atol=1e-6)  # strengths start at zero
    for i in range(len(NOISE_SHAPES)):
        strength = model.synthesis.get_layer(f"noise_strength_{i}").strength
        strength.assign(np.ones(strength.shape, "float32"))
    assert np.abs(model.synthesize(ws, seed=1) - model.synthesize(ws, seed=2)).max() > 1e-3


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_mixing_rows_switch_once_to_the_second_style(share):
    model = small_stylegan(style_mixing=share)
    rows = ops.convert_to_numpy(model.mixing_rows(256))[:, :, 0]
    assert rows.shape == (256, NUM_STYLES)
    if share == 0.0:
        assert rows.max() == 0.0
    else:
        assert np.all(np.diff(rows, axis=1) >= 0)  # 0...0 1...1
        first_switched = np.argmax(rows, axis=1)
        assert first_switched.min() == 1 and first_switched.max() == NUM_STYLES - 1


def test_one_train_step_moves_all_three_networks_and_the_mean_style():
    model = small_stylegan()
    before = [
        weights(model.mapping.trainable_variables),
        weights(model.synthesis.trainable_variables),
        weights(model.discriminator.trainable_variables),
    ]
    history = model.fit(images(8), batch_size=8, epochs=1, verbose=0)
    for logs in history.history.values():
        assert np.isfinite(logs[0])
    assert history.history["r1"][0] > 0
    after = [
        weights(model.mapping.trainable_variables),
        weights(model.synthesis.trainable_variables),
        weights(model.discriminator.trainable_variables),
    ]
    for old, new in zip(before, after, strict=True):
        assert any(not np.array_equal(o, n) for o, n in zip(old, new, strict=True))
    assert np.abs(np.array(model.w_avg)).sum() > 0


def test_discriminator_is_frozen_in_the_generator_step(snapshots_after_each_update):
    model = small_stylegan()
    model.compile(run_eagerly=True)
    snapshots = snapshots_after_each_update(stylegan_module, model)
    model.fit(images(8), batch_size=8, epochs=1, verbose=0)
    (d_after_d, g_after_d), (d_after_g, g_after_g) = snapshots
    for a, b in zip(d_after_d, d_after_g, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(g_after_d, g_after_g, strict=True))


def test_truncation_zero_draws_the_mean_style_for_every_sample():
    model = small_stylegan()
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    z = np.random.default_rng(0).standard_normal((5, W_DIM))
    ws = model.styles(z, truncation=0.0)
    np.testing.assert_allclose(ws, np.tile(np.array(model.w_avg), (5, 1)), atol=1e-6)
    zeros = [np.zeros((5, *shape), "float32") for shape in NOISE_SHAPES]
    same = model.synthesize(ws, noise=zeros)
    np.testing.assert_allclose(same, np.repeat(same[:1], 5, axis=0), atol=1e-6)
    assert np.abs(model.generate(5, truncation=1.0) - same).max() > 1e-4


def test_keras_round_trip_keeps_samples_mean_style_optimizers_and_trains_on(tmp_path):
    model = small_stylegan(r1_weight=0.5, style_mixing=0.5)
    model.fit(images(16), batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "stylegan.keras")
    loaded = keras.models.load_model(tmp_path / "stylegan.keras", safe_mode=True)
    assert isinstance(loaded, StyleGAN)
    assert (loaded.r1_weight, loaded.style_mixing) == (0.5, 0.5)
    np.testing.assert_array_equal(np.array(loaded.w_avg), np.array(model.w_avg))
    np.testing.assert_array_equal(loaded.generate(4, seed=7), model.generate(4, seed=7))
    assert int(loaded.g_optimizer.iterations) == int(model.g_optimizer.iterations) == 2
    history = loaded.fit(images(16), batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    assert int(loaded.g_optimizer.iterations) == 4


def test_bad_settings_and_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="BatchNormalization"):
        StyleGAN(mapping_network(W_DIM), synthesis_network(W_DIM), networks.dcgan_discriminator())
    with pytest.raises(ValueError, match="style_mixing in"):
        small_stylegan(style_mixing=1.5)
    with pytest.raises(ValueError, match="filters for 7x7, 14x14 and 28x28"):
        synthesis_network(W_DIM, filters=(8, 8))
    model = small_stylegan()
    with pytest.raises(ValueError, match="Expected styles of shape"):
        model.synthesize(np.zeros((2, 3, W_DIM)))
    with pytest.raises(ValueError, match=r"with shape \(batch, 28, 28, 1\)"):
        model.fit(np.zeros((8, 32, 32, 1), "float32"), batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="does not apply"):
        model.compile(loss="minimax")


def test_batch_spread_channel_is_the_mean_feature_std_and_zero_for_a_collapsed_batch():
    x = np.random.default_rng(0).normal(size=(16, 7, 7, 5)).astype("float32")
    out = ops.convert_to_numpy(MinibatchStdDev()(x))
    assert out.shape == (16, 7, 7, 6)
    np.testing.assert_array_equal(out[..., :5], x)
    np.testing.assert_allclose(out[..., 5], x.std(axis=0).mean(), rtol=1e-5)
    collapsed = ops.convert_to_numpy(MinibatchStdDev()(np.repeat(x[:1], 16, axis=0)))
    np.testing.assert_allclose(collapsed[..., 5], 0.0, atol=1e-3)


def test_style_discriminator_gives_one_logit_and_a_finite_r1_for_a_collapsed_batch():
    from gancore import losses

    discriminator = style_discriminator(width=4)
    same = np.repeat(images(1), 8, axis=0)  # zero spread: the square root's slope must stay finite
    assert tuple(discriminator(same).shape) == (8, 1)
    r1 = losses.r1_penalty(discriminator, ops.convert_to_tensor(same))
    assert np.isfinite(float(ops.convert_to_numpy(r1)))
