import keras
import numpy as np
import pytest

from gancore.models import networks


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_builders_give_the_image_shape_and_one_logit(image_shape):
    generator = networks.dcgan_generator(latent_dim=8, image_shape=image_shape, width=8)
    discriminator = networks.dcgan_discriminator(image_shape, width=8)
    images = generator(np.zeros((2, 8), "float32"))
    assert tuple(images.shape) == (2, *image_shape)
    assert tuple(discriminator(images).shape) == (2, 1)


def test_dcgan_generator_at_64_is_the_papers_layout_for_width_128():
    generator = networks.dcgan_generator(latent_dim=100, image_shape=(64, 64, 3), width=128)
    transposed = [layer for layer in generator.layers if "conv2d_transpose" in layer.name]
    assert [tuple(layer.output.shape[1:]) for layer in transposed] == [
        (8, 8, 512),
        (16, 16, 256),
        (32, 32, 128),
        (64, 64, 3),
    ]


def test_generator_output_is_in_tanh_range():
    generator = networks.dcgan_generator(latent_dim=8, width=8)
    noise = np.random.default_rng(0).normal(size=(4, 8)).astype("float32") * 50
    images = keras.ops.convert_to_numpy(generator(noise))
    assert images.min() >= -1 and images.max() <= 1


def test_conditional_builders_take_labels():
    generator = networks.dcgan_generator(
        latent_dim=8, image_shape=(32, 32, 3), width=8, num_classes=10
    )
    discriminator = networks.dcgan_discriminator((32, 32, 3), width=8, num_classes=10)
    labels = keras.ops.convert_to_tensor(np.array([[3], [7]], "int32"))
    images = generator([keras.ops.zeros((2, 8)), labels])
    assert tuple(images.shape) == (2, 32, 32, 3)
    assert tuple(discriminator([images, labels]).shape) == (2, 1)


def test_mlp_and_conv_builders_shapes():
    toy = networks.mlp_generator(
        latent_dim=4, output_shape=(2,), hidden_units=(16,), output_activation=None
    )
    assert tuple(toy(np.zeros((3, 4), "float32")).shape) == (3, 2)
    assert tuple(networks.mlp_discriminator((2,), hidden_units=(16,))(np.zeros((3, 2))).shape) == (
        3,
        1,
    )
    digits = networks.mlp_generator(latent_dim=4, hidden_units=(16,))
    assert tuple(digits(np.zeros((3, 4), "float32")).shape) == (3, 28, 28, 1)
    assert tuple(networks.conv_discriminator(filters=(8, 16))(np.zeros((3, 28, 28, 1))).shape) == (
        3,
        1,
    )


def test_mlp_generator_batch_norm_adds_one_normalisation_per_hidden_layer():
    plain = networks.mlp_generator(latent_dim=4, hidden_units=(16, 8))
    normed = networks.mlp_generator(latent_dim=4, hidden_units=(16, 8), batch_norm=True)
    norms = [layer for layer in normed.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 2
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    # Without the hidden biases (BatchNorm's beta replaces them), with 2 x 2 BatchNorm vectors per layer.
    assert normed.count_params() == plain.count_params() - (16 + 8) + 4 * (16 + 8)
    assert tuple(normed(np.zeros((3, 4), "float32")).shape) == (3, 28, 28, 1)


def test_unsupported_image_size_raises_a_clear_error():
    with pytest.raises(ValueError, match=r"size 28, 32 or 64.*Received: image_shape=\(48, 48, 3\)"):
        networks.dcgan_generator(image_shape=(48, 48, 3))


def test_stabilised_dcgan_networks_keep_their_shapes_and_start_as_the_plain_ones():
    from gancore.models.attention import SelfAttention
    from gancore.models.spectral import SpectralNormalization

    generator = networks.dcgan_generator(16, width=8, attention=True)
    critic = networks.dcgan_discriminator(
        width=8, batch_norm=False, spectral_norm=True, attention=True
    )
    assert isinstance(generator.get_layer("self_attention"), SelfAttention)
    assert isinstance(critic.get_layer("self_attention"), SelfAttention)
    wrapped = [x for x in critic.layers if isinstance(x, SpectralNormalization)]
    assert len(wrapped) == 3  # two convolutions and the output layer
    z = np.random.default_rng(0).standard_normal((4, 16)).astype("float32")
    images = generator.predict(z, verbose=0)
    assert images.shape == (4, 28, 28, 1)
    assert critic.predict(images, verbose=0).shape == (4, 1)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_extra_conv_adds_one_stride_1_layer_per_network_and_keeps_the_shapes(batch_norm):
    plain_g = networks.dcgan_generator(latent_dim=8, width=8)
    extra_g = networks.dcgan_generator(latent_dim=8, width=8, extra_conv=True)
    plain_d = networks.dcgan_discriminator(width=8, batch_norm=batch_norm)
    extra_d = networks.dcgan_discriminator(width=8, batch_norm=batch_norm, extra_conv=True)

    def stride_1_convs(model):
        return [
            tuple(layer.output.shape[1:])
            for layer in model.layers
            if isinstance(layer, keras.layers.Conv2D) and layer.strides == (1, 1)
        ]

    assert stride_1_convs(plain_g) == [] and stride_1_convs(plain_d) == []
    assert stride_1_convs(extra_g) == [(14, 14, 8)]  # after the first upsampling
    assert stride_1_convs(extra_d) == [(14, 14, 8)]  # after the first convolution
    norms = [isinstance(layer, keras.layers.BatchNormalization) for layer in extra_d.layers]
    assert sum(norms) == (2 if batch_norm else 0)  # a critic for the penalty stays BN-free
    images = extra_g(np.zeros((2, 8), "float32"))
    assert tuple(images.shape) == (2, 28, 28, 1)
    assert tuple(extra_d(images).shape) == (2, 1)
