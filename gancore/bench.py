"""Training throughput of the book's models: `python -m gancore.bench`.

For each model the bench trains on real MNIST digits (the sample shipped with
gancore) and prints the warm-up time (tracing and compiling the first steps)
and the images per second after it. Beside gancore's DCGAN it runs a plain
reference: the same two networks trained by a hand-written
`tf.GradientTape` loop in a `tf.function`, the way most tutorials write it,
on the same data in the same process, and prints the ratio on its last line.

    python -m gancore.bench                         # every model, ~20 s each
    python -m gancore.bench --models dcgan --seconds 60

Figures on a shared 2-core machine are noisy: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import time

import keras

from gancore.data import load_dataset, make_dataset
from gancore.models import networks

LATENT_DIM = 100


def _dcgan_networks(width: int):
    generator = networks.dcgan_generator(LATENT_DIM, (28, 28, 1), width=width)
    discriminator = networks.dcgan_discriminator((28, 28, 1), width=width)
    return generator, discriminator


def build_dcgan(width):
    from gancore.models.gan import GAN

    return GAN(*_dcgan_networks(width), latent_dim=LATENT_DIM)


def build_conditional_dcgan(width):
    from gancore.models.gan import ConditionalGAN

    generator = networks.dcgan_generator(LATENT_DIM, (28, 28, 1), width=width, num_classes=10)
    discriminator = networks.dcgan_discriminator((28, 28, 1), width=width, num_classes=10)
    return ConditionalGAN(generator, discriminator)


def build_vae(width):
    from gancore.models.vae import VAE, build_decoder, build_encoder

    return VAE(build_encoder(latent_dim=16), build_decoder(latent_dim=16))


MODELS = {
    "dcgan": (build_dcgan, "tanh", False),
    "conditional_dcgan": (build_conditional_dcgan, "tanh", True),
    "vae": (build_vae, "unit", False),
}


def _time_fit(model, dataset, seconds, batch_size, steps_per_execution):
    """(warm-up seconds, images/s) of `model.fit` on `dataset`.

    Warm-up: the first fit call, which traces and compiles. Then a short probe
    sizes one timed fit call of about `seconds`, a whole number of executions.
    """
    chunk = steps_per_execution
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=2 * chunk, verbose=0)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=2 * chunk, verbose=0)
    per_step = (time.perf_counter() - start) / (2 * chunk)
    steps = chunk * max(2, round(seconds / per_step / chunk))
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return warmup, steps * batch_size / (time.perf_counter() - start)


def reference_dcgan_loop(dataset, width, seconds, batch_size, warmup_steps=8):
    """The same DCGAN trained the way most tutorials write it: two tapes in a `tf.function`."""
    import tensorflow as tf

    generator, discriminator = _dcgan_networks(width)
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch_size, LATENT_DIM])
        with tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_logits = discriminator(images, training=True)
            fake_logits = discriminator(fake, training=True)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(
                tf.zeros_like(fake_logits), fake_logits
            )
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables, strict=True))
        noise = tf.random.normal([batch_size, LATENT_DIM])
        with tf.GradientTape() as g_tape:
            fake_logits = discriminator(generator(noise, training=True), training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        return d_loss, g_loss

    batches = iter(dataset.repeat())
    start = time.perf_counter()
    float(train_step(next(batches))[0])  # the first call traces the function
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(warmup_steps):
        losses = train_step(next(batches))
    float(losses[0])
    steps = max(4, round(seconds / ((time.perf_counter() - start) / warmup_steps)))
    start = time.perf_counter()
    for _ in range(steps):
        losses = train_step(next(batches))
    float(losses[0])  # wait for the last step
    return warmup, steps * batch_size / (time.perf_counter() - start)


def run(models, seconds, batch_size, width, steps_per_execution):
    """Benchmarks `models`; returns rows of (name, config, warm-up s, images/s)."""
    data = load_dataset("mnist", source="sample", verbose=False)
    unit = load_dataset("mnist", source="sample", value_range=(0, 1), verbose=False)
    rows = []
    for name in models:
        build, value_range, labelled = MODELS[name]
        x = data.x_train if value_range == "tanh" else unit.x_train
        dataset = make_dataset(x, data.y_train if labelled else None, batch_size=batch_size).repeat()
        model = build(width)
        model.compile(jit_compile=True, steps_per_execution=steps_per_execution)
        config = f"fit, XLA, steps_per_execution={steps_per_execution}"
        rows.append((name, config, *_time_fit(model, dataset, seconds, batch_size, steps_per_execution)))
        print(f"{name:>18}  {config:<38} warm-up {rows[-1][2]:6.1f} s  {rows[-1][3]:8.1f} images/s")
        if name == "dcgan":
            dataset = make_dataset(data.x_train, batch_size=batch_size)
            ref = reference_dcgan_loop(dataset, width, seconds, batch_size)
            rows.append(("dcgan (reference)", "tf.GradientTape loop in tf.function", *ref))
            print(f"{rows[-1][0]:>18}  {rows[-1][1]:<38} warm-up {ref[0]:6.1f} s  {ref[1]:8.1f} images/s")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description="Training throughput of gancore's models.")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per model")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=64, help="DCGAN filter width")
    parser.add_argument("--steps-per-execution", type=int, default=8)
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; expected some of {sorted(MODELS)}")
    print(f"backend {keras.backend.backend()}, batch {args.batch_size}, {args.seconds:g} s per model")
    rows = run(models, args.seconds, args.batch_size, args.width, args.steps_per_execution)
    speed = {name: ips for name, _, _, ips in rows}
    if "dcgan" in speed:
        print(f"DCGAN speed-up vs reference loop: {speed['dcgan'] / speed['dcgan (reference)']:.2f}x")
    return rows


if __name__ == "__main__":
    main()
