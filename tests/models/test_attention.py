import keras
import numpy as np
import pytest

from gancore.models.attention import SelfAttention
from gancore.models.spectral import SpectralNormalization


def _feature_map(seed=0, shape=(2, 6, 6, 16)):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_gate_starts_at_zero_so_the_block_is_the_identity():
    layer = SelfAttention()
    x = _feature_map()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), x, atol=1e-6)
    assert float(keras.ops.convert_to_numpy(layer.gamma)) == 0.0


def test_attention_rows_are_distributions_over_all_positions():
    layer = SelfAttention(reduction=4)
    layer(_feature_map())
    attention = keras.ops.convert_to_numpy(layer.last_attention)
    assert attention.shape == (2, 36, 36)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)
    assert (attention >= 0).all()


def test_open_gate_mixes_in_far_away_positions():
    layer = SelfAttention(reduction=4)
    x = _feature_map()
    layer(x)
    layer.gamma.assign(1.0)
    changed = x.copy()
    changed[:, 0, 0] += 5.0  # change one corner only
    y, y_changed = (keras.ops.convert_to_numpy(layer(t)) for t in (x, changed))
    assert not np.allclose(y[:, 5, 5], y_changed[:, 5, 5])  # the far corner sees it


def _numpy(t):
    return keras.ops.convert_to_numpy(t)


def test_spectral_norm_makes_every_convolution_of_the_block_compute_with_sigma_one():
    layer = SelfAttention(reduction=4, spectral_norm=True)
    x = _feature_map()
    for _ in range(100):  # training calls refine each power-iteration vector u (one step each)
        layer(x, training=True)
    convs = [layer.query, layer.key, layer.value, layer.out]
    assert all(isinstance(conv, SpectralNormalization) for conv in convs)
    kernels = [w for w in layer.weights if w.name == "kernel"]
    assert len(kernels) == len(convs)  # no convolution left unwrapped
    normalized = [_numpy(conv.normalized_kernel()) for conv in convs]
    for kernel in normalized:  # (1, 1, in, out): sigma of the (in, out) matrix
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert sigma == pytest.approx(1.0, abs=2e-3)  # power iteration, not an exact SVD
    # The block's output is computed with those kernels: redo it in NumPy.
    layer.gamma.assign(1.0)
    q, k, v, out = (kernel.reshape(-1, kernel.shape[-1]) for kernel in normalized)
    flat = x.reshape(2, 36, 16)
    logits = (flat @ q) @ (flat @ k).transpose(0, 2, 1)  # (batch, N, N)
    attention = np.exp(logits - logits.max(-1, keepdims=True))
    attention /= attention.sum(-1, keepdims=True)
    expected = flat + (attention @ (flat @ v)) @ out
    np.testing.assert_allclose(_numpy(layer(x)).reshape(2, 36, 16), expected, atol=1e-4)


def test_discriminator_with_spectral_norm_normalises_its_attention_block_too():
    from gancore.models import networks

    plain = networks.dcgan_discriminator(width=16, attention=True)
    normalised = networks.dcgan_discriminator(
        width=16, batch_norm=False, spectral_norm=True, attention=True
    )
    assert not plain.get_layer("self_attention").spectral_norm
    assert normalised.get_layer("self_attention").spectral_norm


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_config_round_trips(spectral_norm):
    layer = SelfAttention(reduction=2, spectral_norm=spectral_norm, name="attn")
    config = SelfAttention.from_config(layer.get_config()).get_config()
    assert config == layer.get_config()
    assert config["spectral_norm"] is spectral_norm and config["reduction"] == 2


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_round_trips_through_a_keras_file(tmp_path, spectral_norm):
    inputs = keras.Input((6, 6, 16))
    attention = SelfAttention(reduction=4, spectral_norm=spectral_norm, name="attn")
    model = keras.Model(inputs, attention(inputs))
    model.get_layer("attn").gamma.assign(0.5)
    model.save(tmp_path / "attn.keras")
    loaded = keras.models.load_model(tmp_path / "attn.keras", safe_mode=True)
    x = _feature_map(1)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_bad_reduction_is_refused():
    with pytest.raises(ValueError, match="reduction >= 1"):
        SelfAttention(reduction=0)


def test_gan_with_attention_and_spectral_norm_trains_and_reloads(tmp_path):
    from gancore.models import networks
    from gancore.models.gan import GAN

    gan = GAN(
        networks.dcgan_generator(16, width=8, attention=True),
        networks.dcgan_discriminator(width=8, batch_norm=False, spectral_norm=True, attention=True),
    )
    gan.compile()
    real = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    history = gan.fit(real, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0]) and np.isfinite(history.history["g_loss"][0])
    gan.save(tmp_path / "sagan.keras")
    loaded = keras.models.load_model(tmp_path / "sagan.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.generate(4, seed=3), gan.generate(4, seed=3), atol=1e-5)
