"""Trains every gancore model for a few steps on the current backend; run by test_backends.py.

    KERAS_BACKEND=jax python -m tests.backend_parity OUT_DIR [MODEL ...]

Keras's random streams differ by backend by design (TensorFlow, JAX and
PyTorch each have their own generator), so for a like-for-like comparison
this script replaces `keras.random.normal` / `uniform` by fixed draws that
depend only on the requested shape, and sets every random initial kernel from
NumPy. Everything else is gancore as shipped: the same `fit`, `train_step`,
losses and optimizers. It writes OUT_DIR/<backend>.json (each model's losses
per step), OUT_DIR/<backend>.npz (samples from fixed noise, and the samples
of every `.keras` file an earlier backend left in OUT_DIR, loaded here) and
OUT_DIR/<backend>_<model>.keras. Where JAX sees several devices (test_backends.py
gives it two simulated CPUs) every model trains under `keras.distribution.DataParallel`,
so the JAX losses compared with TensorFlow's are those of a data-parallel run.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gancore.models import networks
from gancore.models.gan import GAN, ConditionalGAN
from gancore.models.progressive import (
    ProgressiveDiscriminator,
    ProgressiveGAN,
    ProgressiveGenerator,
)
from gancore.models.stylegan import (
    StyleGAN,
    mapping_network,
    style_discriminator,
    synthesis_network,
)
from gancore.models.super_resolution import SuperResolutionGAN, super_resolution_network
from gancore.models.vae import VAE, ConditionalVAE, build_decoder, build_encoder
from gancore.models.wgan import WGAN

BATCH = 8  # samples per update
STEPS = 3  # one step per epoch, so the history has one entry per step
LATENT = 8


def _fixed_draw(shape, kind):
    shape = tuple(int(d) for d in shape)  # static: the data pipeline drops the remainder
    rng = np.random.default_rng(zlib.crc32(f"{kind}{shape}".encode()))
    return rng.standard_normal(shape) if kind == "normal" else rng.uniform(size=shape)


def fixed_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    values = mean + stddev * _fixed_draw(shape, "normal")
    return keras.ops.convert_to_tensor(values, dtype=dtype or "float32")


def fixed_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    values = minval + (maxval - minval) * _fixed_draw(shape, "uniform")
    return keras.ops.convert_to_tensor(values, dtype=dtype or "float32")


def set_weights_from_numpy(model, seed=0):
    """Random kernels from NumPy (1/sqrt(fan_in) scale); biases, BatchNorm gamma/beta keep their constant initial values."""
    rng = np.random.default_rng(seed)
    for variable in model.trainable_variables:
        shape = tuple(variable.shape)
        if len(shape) >= 2:
            fan_in = int(np.prod(shape[:-1]))
            variable.assign(rng.standard_normal(shape).astype("float32") / np.sqrt(fan_in))


def models(names=None):
    """name -> (model, fit inputs, batch size, noise for sampling, labels for sampling).

    Builds the models named in `names` (all of them when None).
    """
    rng = np.random.default_rng(0)
    tanh_images = rng.uniform(-1, 1, (2 * 4 * BATCH, 28, 28, 1)).astype("float32")
    unit_images = (tanh_images + 1) / 2
    labels = rng.integers(0, 10, len(tanh_images))
    low_res = unit_images.reshape(-1, 14, 2, 14, 2, 1).mean(axis=(2, 4))  # 2x2 block means
    gan_noise = rng.standard_normal((6, LATENT)).astype("float32")
    vae_noise = rng.standard_normal((6, 2)).astype("float32")
    sample_labels = np.arange(6) % 10

    def generator(**kw):
        return networks.dcgan_generator(latent_dim=LATENT, width=8, **kw)

    def critic():
        return networks.dcgan_discriminator(width=8, batch_norm=False)

    table = {  # name -> (model builder, fit inputs, batch size, noise, labels)
        "gan": (
            lambda: GAN(generator(), networks.dcgan_discriminator(width=8)),
            (tanh_images,),
            BATCH,
            gan_noise,
            None,
        ),
        "conditional_gan": (
            lambda: ConditionalGAN(
                generator(num_classes=10), networks.dcgan_discriminator(width=8, num_classes=10)
            ),
            (tanh_images, labels),
            BATCH,
            gan_noise,
            sample_labels,
        ),
        "wgan_clip": (
            lambda: WGAN(generator(), critic(), "clip", 2),
            (tanh_images,),
            2 * BATCH,
            gan_noise,
            None,
        ),
        "wgan_gp": (
            lambda: WGAN(generator(), critic(), "gp", 2),
            (tanh_images,),
            2 * BATCH,
            gan_noise,
            None,
        ),
        "stylegan": (
            lambda: StyleGAN(
                mapping_network(LATENT, depth=2),
                synthesis_network(LATENT, filters=(8, 8, 4)),
                style_discriminator(width=4),
            ),
            (tanh_images,),
            BATCH,
            gan_noise,
            None,
        ),
        "progressive": (  # at 14x14, halfway through fading in its second block
            lambda: ProgressiveGAN(
                ProgressiveGenerator(LATENT, filters=(8, 8, 4), stage=1),
                ProgressiveDiscriminator(filters=(8, 8, 4), stage=1),
                fade_steps=4,
            ),
            (tanh_images,),
            BATCH,
            gan_noise,
            None,
        ),
        "srgan": (  # samples: the upsampler applied to six low-resolution images
            lambda: SuperResolutionGAN(
                super_resolution_network(filters=8, blocks=1),
                networks.dcgan_discriminator(width=8),
                adversarial_weight=0.1,
            ),
            (low_res, unit_images),
            BATCH,
            low_res[:6],
            None,
        ),
        "vae": (
            lambda: VAE(
                build_encoder(2, hidden_units=32), build_decoder(2, hidden_units=32), seed=1
            ),
            (unit_images,),
            BATCH,
            vae_noise,
            None,
        ),
        "conditional_vae": (
            lambda: ConditionalVAE(
                build_encoder(2, num_classes=10, hidden_units=32),
                build_decoder(2, num_classes=10, hidden_units=32),
                num_classes=10,
                seed=1,
            ),
            (unit_images, labels),
            BATCH,
            vae_noise,
            sample_labels,
        ),
    }
    return {
        name: (build(), *rest)
        for name, (build, *rest) in table.items()
        if names is None or name in names
    }


def samples(model, noise, labels=None):
    """What the model draws from fixed inputs: `generate` for the generative models, the
    upsampled images for the super-resolution GAN (whose inputs are low-resolution images)."""
    if isinstance(model, SuperResolutionGAN):
        return keras.ops.convert_to_numpy(model(noise))
    return model.generate(noise, labels=labels)


def batches(inputs, batch_size):
    """The same batch at every step, with a static shape on every backend (remainder dropped)."""
    dataset = tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size, drop_remainder=True)
    return dataset.take(1).repeat()


def train(model, inputs, batch_size, steps=STEPS):
    """Sets the NumPy weights, compiles with the defaults and fits `steps` steps; the losses."""
    set_weights_from_numpy(model)
    if isinstance(model, VAE):
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    else:
        model.compile()
    history = model.fit(batches(inputs, batch_size), epochs=steps, steps_per_epoch=1, verbose=0)
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def main(out: Path, names=None) -> None:
    keras.random.normal, keras.random.uniform = fixed_normal, fixed_uniform
    backend = keras.backend.backend()
    devices = keras.distribution.list_devices() if backend == "jax" else ["one"]
    if len(devices) > 1:  # JAX with several devices: every model trains data-parallel
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    (out / f"{backend}.devices").write_text(str(len(devices)))
    losses, arrays = {}, {}
    for name, (model, inputs, batch_size, noise, sample_labels) in models(names).items():
        losses[name] = train(model, inputs, batch_size)
        arrays[f"{name}/samples"] = samples(model, noise, sample_labels)
        model.save(out / f"{backend}_{name}.keras")
        for path in sorted(out.glob(f"*_{name}.keras")):
            origin = path.name.split("_")[0]
            if origin != backend:
                loaded = keras.models.load_model(path, safe_mode=True)
                arrays[f"{name}/loaded_from_{origin}"] = samples(loaded, noise, sample_labels)
    # Keras's bicubic resize of one fixed image (it differs on PyTorch: test_backends.py).
    image = np.random.default_rng(0).uniform(size=(1, 14, 14, 1)).astype("float32")
    resized = keras.ops.image.resize(image, (28, 28), interpolation="bicubic")
    arrays["bicubic_resize"] = keras.ops.convert_to_numpy(resized)
    (out / f"{backend}.json").write_text(json.dumps(losses, indent=1))
    np.savez(out / f"{backend}.npz", **arrays)
    print(f"{backend}: trained and saved {len(losses)} models")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:] or None)
