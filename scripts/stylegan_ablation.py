"""Which part of the StyleGAN generator makes it collapse on MNIST? (issue 18)

Builds generators that step from chapter 4's DCGAN generator towards the
StyleGAN synthesis network one piece at a time, trains each for `--steps`
steps of 64 full-MNIST digits against `style_discriminator(32)`, scores 2,000
samples with the book's evaluator and prints one row per variant. For a mapping
network it also prints how much of w's variance lies in its top five
directions (of 64).

    python scripts/stylegan_ablation.py --list
    python scripts/stylegan_ablation.py dcgan dcgan+mapping skeleton stylegan stylegan-linear-out
    python scripts/stylegan_ablation.py skeleton --steps 1200 --grids out/

Variants that are not `stylegan*` train through the plain `GAN` class (no R1, no
style mixing, no noise); `stylegan*` variants train through `StyleGAN` with its
defaults. One seed per run: repeat with `--seed` before reading small gaps.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from gancore.models import networks  # noqa: E402
from gancore.models import stylegan as sg  # noqa: E402

LATENT = 64
SMALL_INIT = keras.initializers.RandomNormal(stddev=0.02)  # the DCGAN chapters' init


def mapping(depth=4, pixel_norm=True, linear_last=False):
    """StyleGAN's mapping network: z -> w through `depth` dense + LeakyReLU layers.

    `linear_last`: the last dense layer has no LeakyReLU, so w is not squashed on the
    negative side of every direction.
    """
    z = keras.Input((LATENT,))
    w = sg.PixelNormalization()(z) if pixel_norm else z
    for i in range(depth):
        w = layers.Dense(LATENT, kernel_initializer="he_normal")(w)
        w = w if linear_last and i == depth - 1 else layers.LeakyReLU(0.2)(w)
    return keras.Model(z, w, name="mapping")


def skeleton(
    w_input=None,
    init=SMALL_INIT,
    upsample="bilinear",
    output="tanh3x3",
    modulated=False,
    constant=False,
):
    """The synthesis network's five convolutions (7, 14, 14, 28, 28) without the style machinery.

    The first map comes from z through a dense layer and BatchNorm, or from a learned
    constant (`constant`). The convolutions are plain with BatchNorm and ReLU, or
    modulated and demodulated by z (`modulated`), as in `stylegan.ModulatedConv2D`.
    """
    z = keras.Input((LATENT,))
    w = z if w_input is None else w_input(z)
    styles = sg.BroadcastStyle(sg.NUM_STYLES)(w) if modulated or constant else None
    if constant:
        x = sg.ConstantInput(7, 64)(styles)
        x = layers.LeakyReLU(0.2)(sg.ModulatedConv2D(64, 3, 0)([x, styles]))
    else:
        x = layers.Dense(49 * 64, use_bias=False, kernel_initializer=init)(w)
        x = layers.ReLU()(layers.BatchNormalization()(layers.Reshape((7, 7, 64))(x)))
    for i, (size, up) in enumerate(sg._CONVOLUTIONS[1:], start=1):
        filters = 64 if size == 14 else 32
        if modulated:
            x = layers.LeakyReLU(0.2)(sg.ModulatedConv2D(filters, 3, i, upsample=up)([x, styles]))
            continue
        if up and upsample == "transposed":
            x = layers.Conv2DTranspose(filters, 4, 2, padding="same", use_bias=False,
                                       kernel_initializer=init)(x)  # fmt: skip
        else:
            x = layers.UpSampling2D(interpolation="bilinear")(x) if up else x
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=init)(
                x
            )
        x = layers.ReLU()(layers.BatchNormalization()(x))
    if output == "linear1x1":  # StyleGAN2's to-image layer, without its modulation
        images = layers.Conv2D(1, 1, kernel_initializer=init)(x)
    else:
        images = layers.Conv2D(1, 3, padding="same", activation="tanh", kernel_initializer=init)(x)
    return keras.Model(z, images, name="generator")


def dcgan(w_input=None):
    z = keras.Input((LATENT,))
    w = z if w_input is None else w_input(z)
    return keras.Model(z, networks.dcgan_generator(latent_dim=LATENT, width=32)(w))


def frozen(network):
    network.trainable = False
    return network


def linear_synthesis():
    """`stylegan.synthesis_network` with StyleGAN2's output: a modulated linear 1x1 convolution.

    The library's default until this ablation; it reads a sixth style row of its own.
    """
    ws = keras.Input((sg.NUM_STYLES + 1, LATENT), name="ws")
    noises = [keras.Input(shape, name=f"noise_{i}") for i, shape in enumerate(sg.NOISE_SHAPES)]
    width = {7: 64, 14: 64, 28: 32}
    x = sg.ConstantInput(7, width[7], name="constant")(ws)
    for i, ((size, upsample), noise) in enumerate(zip(sg._CONVOLUTIONS, noises, strict=True)):
        x = sg.ModulatedConv2D(width[size], 3, i, upsample=upsample, name=f"conv_{i}")([x, ws])
        x = sg.NoiseInjection(name=f"noise_strength_{i}")([x, noise])
        x = layers.LeakyReLU(0.2)(x)
    images = sg.ModulatedConv2D(1, 1, sg.NUM_STYLES, demodulate=False, name="to_image")([x, ws])
    return keras.Model([ws, *noises], images, name="synthesis")


# name -> () -> (generator or (mapping, synthesis) for the StyleGAN class, mapping or None)
VARIANTS = {
    "dcgan": lambda: (dcgan(), None),
    "dcgan+mapping": lambda: (dcgan(m := mapping()), m),
    "dcgan+frozen-mapping": lambda: (dcgan(m := frozen(mapping())), m),
    "dcgan+1-layer-mapping": lambda: (dcgan(m := mapping(depth=1)), m),
    "dcgan+mapping-no-pixelnorm": lambda: (dcgan(m := mapping(pixel_norm=False)), m),
    "skeleton": lambda: (skeleton(), None),
    "skeleton-transposed": lambda: (skeleton(upsample="transposed"), None),
    "skeleton-linear-out": lambda: (skeleton(output="linear1x1"), None),
    "skeleton-he-init": lambda: (skeleton(init="he_normal"), None),
    "skeleton+mapping": lambda: (skeleton(m := mapping()), m),
    "skeleton-modulated": lambda: (skeleton(modulated=True), None),
    "skeleton-modulated-constant": lambda: (skeleton(modulated=True, constant=True), None),
    "stylegan": lambda: ((m := mapping(), sg.synthesis_network()), m),
    "stylegan-no-mapping": lambda: ((m := mapping(depth=0), sg.synthesis_network()), m),
    "stylegan-linear-mapping": lambda: (
        (m := mapping(linear_last=True), sg.synthesis_network()),
        m,
    ),
    "stylegan-2-layer-mapping": lambda: ((m := mapping(depth=2), sg.synthesis_network()), m),
    "stylegan-linear-out": lambda: ((m := mapping(), linear_synthesis()), m),
    "stylegan-no-mapping-linear-out": lambda: ((m := mapping(depth=0), linear_synthesis()), m),
}


def run(name, data, evaluator, steps, seed, grids):
    from gancore import metrics, plotting
    from gancore.models.gan import GAN

    keras.utils.set_random_seed(seed)
    generator, mapping_net = VARIANTS[name]()
    discriminator = sg.style_discriminator(32)
    if name.startswith("stylegan"):
        gan = sg.StyleGAN(*generator, discriminator, seed=seed)
    else:
        gan = GAN(generator, discriminator, seed=seed)
    gan.compile()
    start = time.perf_counter()
    gan.fit(data.x_train[: steps * 64], batch_size=64, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    samples = np.clip(gan.generate(2000, seed=0), -1, 1)
    row = metrics.score_generator(
        samples, evaluator=evaluator, reference=data, baselines=False
    ).rows[0]
    spread = ""
    if mapping_net is not None:
        z = np.random.default_rng(0).standard_normal((2000, LATENT)).astype("float32")
        w = mapping_net.predict(z, verbose=0)
        power = np.linalg.svd(w - w.mean(0), compute_uv=False) ** 2
        spread = f"  w top-5 share {power[:5].sum() / power.sum():.2f}"
    print(
        f"{name:30s} FD {row.frechet_distance:6.1f}  score {row.classifier_score:.2f}  "
        f"classes {row.classes_covered:2d}  train {seconds:4.0f} s{spread}",
        flush=True,
    )
    if grids:
        figure = plotting.show_images(samples[:64], title=name, ncols=8)
        figure.savefig(Path(grids) / f"{name}.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", help="names from --list")
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    parser.add_argument("--steps", type=int, default=600, help="training steps of 64 images")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--grids", help="folder for a PNG of 64 samples per variant")
    args = parser.parse_args()
    unknown = [v for v in args.variants if v not in VARIANTS]
    if args.list or not args.variants or unknown:
        if unknown:
            print(f"Unknown variants: {', '.join(unknown)}", file=sys.stderr)
        print("\n".join(VARIANTS))
        sys.exit(1 if unknown else 0)

    from gancore.data import load_dataset
    from gancore.evaluator import load_evaluator

    data = load_dataset("mnist", source="full", value_range=(-1, 1), verbose=False)
    evaluator = load_evaluator()
    for name in args.variants:
        run(name, data, evaluator, args.steps, args.seed, args.grids)


if __name__ == "__main__":
    main()
