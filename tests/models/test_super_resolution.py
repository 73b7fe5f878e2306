"""The residual upsampler and its adversarial training (gancore.models.super_resolution)."""

import keras
import numpy as np
import pytest

from gancore import applications as app
from gancore.data import load_dataset
from gancore.models import networks
from gancore.models import super_resolution as sr_module
from gancore.models.super_resolution import SuperResolutionGAN, super_resolution_network


@pytest.fixture(scope="module")
def pairs():
    data = load_dataset("mnist", source="sample", value_range=(0, 1), verbose=False)
    high = data.x_train[:16]
    return app.downsample(high), high  # (16, 14, 14, 1), (16, 28, 28, 1)


def weights(model):
    return [np.array(v) for v in model.trainable_variables]


def small_network():
    keras.utils.set_random_seed(0)
    return super_resolution_network(filters=8, blocks=1)


def small_srgan(weight=0.1):
    model = SuperResolutionGAN(small_network(), networks.dcgan_discriminator(width=8), weight)
    model.compile()
    return model


def test_network_doubles_the_size_and_starts_as_bicubic_interpolation(pairs):
    low, _ = pairs
    network = small_network()
    assert network.input_shape == (None, 14, 14, 1)
    assert network.output_shape == (None, 28, 28, 1)
    out = keras.ops.convert_to_numpy(network(low))
    # Zero-initialised residual: the untrained network is the (unclipped) bicubic upsampler.
    bicubic = keras.ops.convert_to_numpy(
        keras.ops.image.resize(low, (28, 28), interpolation="bicubic")
    )
    np.testing.assert_allclose(out, bicubic, atol=1e-5)
    np.testing.assert_allclose(np.clip(out, 0, 1), app.upsample(low), atol=1e-5)


def test_scale_four_and_colour_shapes():
    network = super_resolution_network((8, 8, 3), scale=4, filters=4, blocks=0)
    assert network.output_shape == (None, 32, 32, 3)


def test_network_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Expected scale 2 or 4"):
        super_resolution_network(scale=3)
    with pytest.raises(ValueError, match="low_shape=\\(height, width, channels\\)"):
        super_resolution_network(low_shape=(14, 14))


def test_a_few_l1_fit_steps_move_every_layer_and_lower_the_loss(pairs):
    low, high = pairs
    network = small_network()
    network.compile(optimizer=keras.optimizers.Adam(5e-3), loss="mae")
    before = weights(network)
    first = network.evaluate(low, high, verbose=0)
    history = network.fit(low, high, batch_size=8, epochs=20, verbose=0)
    after = weights(network)
    assert all(not np.allclose(b, a) for b, a in zip(before, after, strict=True))
    assert np.isfinite(history.history["loss"]).all()
    assert network.evaluate(low, high, verbose=0) < 0.9 * first


def test_srgan_step_moves_both_networks_and_logs_every_tracker(pairs):
    low, high = pairs
    model = small_srgan()
    g_before, d_before = weights(model.generator), weights(model.discriminator)
    logs = model.train_on_batch(low[:8], high[:8], return_dict=True)
    assert set(logs) == {
        "d_loss",
        "g_loss",
        "l1_loss",
        "adversarial_loss",
        "d_acc_real",
        "d_acc_fake",
    }
    assert all(np.isfinite(float(v)) for v in logs.values())
    # g_loss is L1 + weight * adversarial, as the docstring says.
    np.testing.assert_allclose(
        float(logs["g_loss"]),
        float(logs["l1_loss"]) + 0.1 * float(logs["adversarial_loss"]),
        rtol=1e-5,
    )
    assert all(
        not np.allclose(b, a)
        for b, a in zip(g_before[-2:], weights(model.generator)[-2:], strict=True)
    )
    assert any(
        not np.allclose(b, a) for b, a in zip(d_before, weights(model.discriminator), strict=True)
    )


def test_discriminator_is_frozen_during_the_upsampler_step(pairs, snapshots_after_each_update):
    low, high = pairs
    model = small_srgan()
    model.compile(run_eagerly=True)  # to look at the weights between the two updates
    snapshots = snapshots_after_each_update(sr_module, model)
    g_before = weights(model.generator)
    model.train_on_batch(low[:8], high[:8])
    (d_after_d, g_after_d), (d_after_g, _) = snapshots
    assert all(np.array_equal(a, b) for a, b in zip(g_before, g_after_d, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(d_after_d, d_after_g, strict=True))


class _RecordBatches(keras.layers.Layer):
    """Passes images through, keeping a copy of each eager batch."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches = []

    def call(self, images):
        self.batches.append(keras.ops.convert_to_numpy(images))
        return images

    def compute_output_shape(self, input_shape):
        return input_shape


@pytest.mark.skipif(
    keras.backend.backend() == "jax",
    reason="the recording layer reads concrete arrays, and jax.grad traces D even in eager mode",
)
def test_discriminator_sees_real_and_upsampled_images_in_one_batch_in_both_steps(pairs):
    # A BatchNorm discriminator must never normalise an all-real or all-fake batch.
    low, high = pairs
    recorder = _RecordBatches()
    image = keras.Input((28, 28, 1))
    discriminator = keras.Model(image, networks.dcgan_discriminator(width=8)(recorder(image)))
    model = SuperResolutionGAN(small_network(), discriminator, 0.1)
    model.compile(run_eagerly=True)
    upsampled = keras.ops.convert_to_numpy(model.generator(low[:8]))  # G before the step
    model.train_on_batch(low[:8], high[:8])
    assert len(recorder.batches) == 2  # the D step and the G step
    for batch in recorder.batches:
        np.testing.assert_array_equal(batch[:8], high[:8])
        np.testing.assert_allclose(batch[8:], upsampled, atol=1e-6)


def test_srgan_round_trips_through_a_keras_file_and_trains_on(pairs, tmp_path):
    low, high = pairs
    model = small_srgan()
    model.fit(low, high, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "srgan.keras")
    loaded = keras.models.load_model(tmp_path / "srgan.keras", safe_mode=True)
    assert loaded.adversarial_weight == pytest.approx(0.1)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(low)), keras.ops.convert_to_numpy(model(low)), atol=1e-6
    )
    assert int(loaded.g_optimizer.iterations) == int(model.g_optimizer.iterations) == 2
    loaded.fit(low, high, batch_size=8, epochs=1, verbose=0)
    assert int(loaded.g_optimizer.iterations) == 4


def test_srgan_rejects_mismatched_networks_and_unpaired_data(pairs):
    low, _ = pairs
    with pytest.raises(ValueError, match="discriminator takes"):
        SuperResolutionGAN(small_network(), networks.dcgan_discriminator((32, 32, 3), width=8))
    with pytest.raises(ValueError, match="adversarial_weight >= 0"):
        SuperResolutionGAN(small_network(), networks.dcgan_discriminator(width=8), -1.0)
    model = small_srgan()
    with pytest.raises(ValueError, match="\\(low, high\\) pairs"):
        model.train_on_batch(low[:8])
    with pytest.raises(ValueError, match="not optimizer="):
        model.compile(optimizer="adam")
