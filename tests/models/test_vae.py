"""The VAE, beta-VAE and conditional VAE: training step, sampler, evaluation, saving."""

import keras
import numpy as np
import pytest

from gancore.data import load_dataset
from gancore.models.vae import VAE, ConditionalVAE, Sampler, build_decoder, build_encoder

BATCH = 8


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("mnist", source="sample", value_range=(0, 1), verbose=False)
    return data.x_train[: 2 * BATCH], data.y_train[: 2 * BATCH]


def make_vae(latent_dim=2, beta=1.0, seed=1):
    model = VAE(
        build_encoder(latent_dim, hidden_units=32),
        build_decoder(latent_dim, hidden_units=32),
        beta=beta,
        seed=seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def make_cvae(latent_dim=3, seed=2):
    model = ConditionalVAE(
        build_encoder(latent_dim, num_classes=10, hidden_units=32),
        build_decoder(latent_dim, num_classes=10, hidden_units=32),
        num_classes=10,
        seed=seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def test_one_training_step_keeps_losses_finite_and_moves_encoder_and_decoder(digits):
    x, _ = digits
    model = make_vae()
    before = [w.copy() for w in model.encoder.get_weights() + model.decoder.get_weights()]
    history = model.fit(x[:BATCH], batch_size=BATCH, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "reconstruction_loss", "kl_loss"}
    assert all(np.isfinite(v[0]) for v in history.history.values())
    after = model.encoder.get_weights() + model.decoder.get_weights()
    moved = [not np.allclose(b, a) for b, a in zip(before, after, strict=True)]
    assert moved[0] and moved[-1]  # first encoder kernel and last decoder bias
    assert model.optimizer.iterations.numpy() == 1


def test_validation_data_goes_through_test_step(digits):
    x, _ = digits
    model = make_vae()
    history = model.fit(
        x, batch_size=BATCH, epochs=1, verbose=0, validation_data=(x[:BATCH], x[:BATCH])
    )
    assert {"val_loss", "val_reconstruction_loss", "val_kl_loss"} <= set(history.history)


def test_loss_is_reconstruction_plus_beta_times_kl(digits):
    x, _ = digits
    model = make_vae(beta=4.0)
    model.fit(x, batch_size=BATCH, epochs=1, verbose=0)
    logs = model.evaluate(x, batch_size=BATCH, verbose=0, return_dict=True)
    assert logs["kl_loss"] > 0
    np.testing.assert_allclose(
        logs["loss"], logs["reconstruction_loss"] + 4.0 * logs["kl_loss"], rtol=1e-5
    )


def test_sampler_is_deterministic_under_a_fixed_seed():
    z_mean = np.zeros((BATCH, 4), "float32")
    z_log_var = np.zeros((BATCH, 4), "float32")
    first, same, other = Sampler(seed=3), Sampler(seed=3), Sampler(seed=4)
    a, b, c = (keras.ops.convert_to_numpy(s(z_mean, z_log_var)) for s in (first, same, other))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # The generator is stateful: the next call draws new noise.
    assert not np.allclose(a, keras.ops.convert_to_numpy(first(z_mean, z_log_var)))


def test_sampler_returns_the_mean_when_the_variance_vanishes():
    z_mean = np.arange(BATCH * 2, dtype="float32").reshape(BATCH, 2)
    z = Sampler(seed=0)(z_mean, np.full_like(z_mean, -60.0))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(z), z_mean, atol=1e-6)


def test_keras_file_round_trip_gives_the_same_images_and_trains_on(digits, tmp_path):
    x, _ = digits
    model = make_vae(latent_dim=4)
    model.fit(x, batch_size=BATCH, epochs=1, verbose=0)
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded, VAE) and loaded.beta == model.beta and loaded.latent_dim == 4
    np.testing.assert_allclose(
        loaded.generate(BATCH, seed=0), model.generate(BATCH, seed=0), atol=1e-6
    )
    np.testing.assert_allclose(
        loaded.reconstruct(x[:BATCH]), model.reconstruct(x[:BATCH]), atol=1e-6
    )
    assert loaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() == 2
    history = loaded.fit(x, batch_size=BATCH, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert loaded.optimizer.iterations.numpy() == 4


def test_conditional_vae_shapes_and_round_trip(digits, tmp_path):
    x, y = digits
    model = make_cvae(latent_dim=3)
    history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    z_mean, z_log_var = model.encode(x[:BATCH], y[:BATCH])
    assert z_mean.shape == z_log_var.shape == (BATCH, 3)
    images = model.generate(10, seed=0)  # one of each class
    assert images.shape == (10, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    assert model.decode(np.zeros((2, 3)), labels=[4, 7]).shape == (2, 28, 28, 1)
    model.save(tmp_path / "cvae.keras")
    loaded = keras.models.load_model(tmp_path / "cvae.keras", safe_mode=True)
    assert isinstance(loaded, ConditionalVAE) and loaded.num_classes == 10
    np.testing.assert_allclose(loaded.generate(10, seed=0), images, atol=1e-6)


def test_conditional_vae_without_labels_raises_clearly(digits):
    x, _ = digits
    with pytest.raises(ValueError, match="ConditionalVAE trains on \\(images, labels\\)"):
        make_cvae().fit(x, batch_size=BATCH, epochs=1, verbose=0)


def test_wrong_input_shape_or_range_raises_clearly(digits):
    x, _ = digits
    model = make_vae()
    with pytest.raises(
        ValueError, match=r"Expected images in \[0, 1\] with shape \(batch, 28, 28, 1\)"
    ):
        model.negative_elbo(x[:BATCH, ..., 0])  # channel axis missing
    with pytest.raises(ValueError, match=r"Expected images in \[0, 1\].*max=255"):
        model.encode(x[:BATCH] * 255)
    with pytest.raises(ValueError, match=r"Expected latent codes of shape \(n, 2\)"):
        model.decode(np.zeros((BATCH, 3)))


def test_constructor_rejects_negative_beta_and_mismatched_latent_sizes():
    with pytest.raises(ValueError, match="beta >= 0"):
        VAE(build_encoder(2, hidden_units=8), build_decoder(2, hidden_units=8), beta=-1)
    with pytest.raises(ValueError, match="encoder outputs z of size 2 but the decoder expects 3"):
        VAE(build_encoder(2, hidden_units=8), build_decoder(3, hidden_units=8))
    with pytest.raises(ValueError, match="divisible by 4"):
        build_encoder(2, image_shape=(30, 30, 1))


def test_negative_elbo_is_reconstruction_plus_kl_in_nats_on_a_fixed_binarization(digits):
    x, _ = digits
    model = make_vae()
    result = model.negative_elbo(x, seed=0)
    assert result["negative_elbo"] == pytest.approx(
        result["reconstruction_loss"] + result["kl_loss"]
    )
    # Untrained: every pixel near p = 1/2, so about 784 * log 2 = 543 nats per image.
    assert 400 < result["negative_elbo"] < 700


def test_importance_weighted_bound_is_not_looser_than_the_elbo(digits):
    x, _ = digits
    model = make_vae()
    model.fit(x, batch_size=BATCH, epochs=3, verbose=0)
    elbo = np.mean([model.negative_elbo(x, seed=0)["negative_elbo"] for _ in range(4)])
    iw = model.importance_weighted_nll(x, k=32, seed=0)
    assert np.isfinite(iw)
    assert iw <= elbo + 0.5
    with pytest.raises(ValueError, match="k >= 1"):
        model.importance_weighted_nll(x, k=0)
