"""Quality against images seen, for candidate recipes of the book's models.

Issue 15 asks which recipe reaches its target in the fewest CPU-minutes. Images
to target depend on the recipe, not on the device, so this script measures the
curve (images seen -> FD, classifier score, classes; or test negative ELBO for
the VAE) for many candidates where images are cheap, e.g. a lent GPU, and the
CPU throughput of each (`--throughput`, on the CPU) turns images into minutes.
The candidate that wins is then confirmed on the CPU by `python -m gancore.bench
quality`, which times the whole run there.

    python scripts/recipe_sweep.py --list
    python scripts/recipe_sweep.py dcgan_w32:30 wgan_gp_w32:15 --minutes 20 --out sweep.jsonl

`--throughput` times each candidate on this machine instead (images per second of
wall time and of CPU time over the cores), to turn images into CPU-minutes.
`--summarize FILE...` prints one row per candidate from the JSON lines of earlier
sweeps; `scripts/sweeps/` holds the two rounds run on a lent H200 for issue 15.

A name may carry its own epochs (`name:epochs`); the candidates share `--minutes`.

Every `--every` epochs it scores 10,000 samples against the 10,000 test digits
with the book's evaluator and prints (and appends to `--out`) one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from gancore import zoo  # noqa: E402
from gancore.images import TANH_RANGE, UNIT_RANGE  # noqa: E402
from gancore.models import networks  # noqa: E402
from gancore.quality import N_SCORED, usable_cores  # noqa: E402


def refine_generator(width=32, refine_at=(14,), latent_dim=zoo.LATENT_DIM):
    """The DCGAN generator with an extra stride-1 3x3 convolution at each size in `refine_at`.

    `networks.dcgan_generator(extra_conv=True)` is the (14,) case; this builder also tries 7x7.
    """
    init = keras.initializers.RandomNormal(stddev=0.02)
    noise = keras.Input((latent_dim,), name="noise")
    x = layers.Dense(7 * 7 * 2 * width, use_bias=False, kernel_initializer=init)(noise)
    x = layers.Reshape((7, 7, 2 * width))(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    if 7 in refine_at:
        x = layers.Conv2D(2 * width, 3, padding="same", use_bias=False, kernel_initializer=init)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2DTranspose(
        width, 4, 2, padding="same", use_bias=False, kernel_initializer=init
    )(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    if 14 in refine_at:
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=init)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    out = layers.Conv2DTranspose(
        1, 4, 2, padding="same", activation="tanh", kernel_initializer=init
    )(x)
    return keras.Model(noise, out, name="refine_generator")


def generator(width, refine_at=None):
    """The DCGAN generator, with `extra_conv` for `refine_at=(14,)` and the inline builder for 7x7."""
    if refine_at and 7 in refine_at:
        return refine_generator(width, refine_at)
    return networks.dcgan_generator(zoo.LATENT_DIM, width=width, extra_conv=bool(refine_at))


def gan(g_width=32, d_width=32, refine_at=None, d_lr=2e-4, g_lr=6e-4, d_refine=False):
    from gancore.models.gan import GAN

    g = generator(g_width, refine_at)
    d = networks.dcgan_discriminator(width=d_width, extra_conv=d_refine)
    model = GAN(g, d)
    model.compile(
        d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(g_lr, beta_1=0.5),
        steps_per_execution=8,
    )
    return model


def wgan(
    penalty="gp", width=32, n_critic=5, lr=1e-4, betas=(0.0, 0.9), g_width=None, refine_at=None
):
    from gancore.models.wgan import WGAN

    g = generator(g_width or width, refine_at)
    critic = networks.dcgan_discriminator(width=width, batch_norm=False, name="critic")
    model = WGAN(g, critic, penalty=penalty, n_critic=n_critic)
    if penalty == "gp":
        opt = lambda: keras.optimizers.Adam(lr, beta_1=betas[0], beta_2=betas[1])  # noqa: E731
    else:
        opt = lambda: keras.optimizers.RMSprop(lr)  # noqa: E731
    model.compile(d_optimizer=opt(), g_optimizer=opt(), steps_per_execution=8)
    return model


def mlp(width=64, d_lr=2e-4, g_lr=2e-4):
    model = zoo.mlp_gan(width)
    model.compile(
        d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(g_lr, beta_1=0.5),
        steps_per_execution=8,
    )
    return model


def stylegan(
    r1=1.0,
    mixing=0.9,
    filters=(64, 64, 32),
    d_lr=2e-4,
    g_lr=2e-4,
    betas=(0.5, 0.999),
    batch_spread=True,
):
    from gancore.models.stylegan import (
        StyleGAN,
        mapping_network,
        style_discriminator,
        synthesis_network,
    )

    discriminator = (
        style_discriminator(width=32)
        if batch_spread  # the minibatch standard deviation channel
        else networks.dcgan_discriminator(width=32, batch_norm=False)
    )
    model = StyleGAN(
        mapping_network(),
        synthesis_network(filters=filters),
        discriminator,
        r1_weight=r1,
        style_mixing=mixing,
    )
    model.compile(
        d_optimizer=keras.optimizers.Adam(d_lr, beta_1=betas[0], beta_2=betas[1]),
        g_optimizer=keras.optimizers.Adam(g_lr, beta_1=betas[0], beta_2=betas[1]),
        steps_per_execution=8,
    )
    return model


def vae(latent_dim=16, lr=1e-3):
    model = zoo._vae(1.0, None, latent_dim)
    model.compile(optimizer=keras.optimizers.Adam(lr), steps_per_execution=8)
    return model


# name -> (builder, batch size fit takes, kind)
CANDIDATES = {
    "dcgan_w32": (lambda: gan(), 64, "gan"),
    "dcgan_w32_g2e-4": (lambda: gan(g_lr=2e-4), 64, "gan"),
    "dcgan_w64": (lambda: gan(64, 64), 64, "gan"),
    "dcgan_g64_d32": (lambda: gan(64, 32), 64, "gan"),
    "dcgan_g48_d32": (lambda: gan(48, 32), 64, "gan"),
    "dcgan_w32_refine14": (lambda: gan(refine_at=(14,)), 64, "gan"),
    "dcgan_w32_refine7": (lambda: gan(refine_at=(7,)), 64, "gan"),
    "dcgan_w32_refine7_14": (lambda: gan(refine_at=(7, 14)), 64, "gan"),
    "dcgan_g64_refine14": (lambda: gan(64, 32, refine_at=(14,)), 64, "gan"),
    "dcgan_refine14_drefine": (lambda: gan(refine_at=(14,), d_refine=True), 64, "gan"),
    "dcgan_refine14_g2e-4": (lambda: gan(refine_at=(14,), g_lr=2e-4), 64, "gan"),
    "dcgan_refine14_g4e-4": (lambda: gan(refine_at=(14,), g_lr=4e-4), 64, "gan"),
    "dcgan_refine14_b32": (lambda: gan(refine_at=(14,)), 32, "gan"),
    "dcgan_w32_b128": (lambda: gan(), 128, "gan"),
    "wgan_gp_w32": (lambda: wgan(), 5 * 64, "gan"),
    "wgan_gp_w32_lr2e-4": (lambda: wgan(lr=2e-4), 5 * 64, "gan"),
    "wgan_gp_w32_nc2": (lambda: wgan(n_critic=2, lr=2e-4), 2 * 64, "gan"),
    "wgan_gp_w64": (lambda: wgan(width=64), 5 * 64, "gan"),
    "wgan_gp_nc1": (lambda: wgan(n_critic=1, lr=2e-4), 64, "gan"),
    "wgan_gp_nc2_lr5e-4": (lambda: wgan(n_critic=2, lr=5e-4), 2 * 64, "gan"),
    "wgan_gp_nc2_refine14": (lambda: wgan(n_critic=2, lr=2e-4, refine_at=(14,)), 2 * 64, "gan"),
    "wgan_gp_nc2_b32": (lambda: wgan(n_critic=2, lr=2e-4), 2 * 32, "gan"),
    "wgan_gp_g64_c32": (lambda: wgan(width=32, g_width=64, lr=2e-4), 5 * 64, "gan"),
    "wgan_clip_w32": (lambda: wgan("clip", lr=5e-5), 5 * 64, "gan"),
    "wgan_clip_w32_lr2e-4": (lambda: wgan("clip", lr=2e-4), 5 * 64, "gan"),
    "wgan_clip_lr5e-4": (lambda: wgan("clip", lr=5e-4), 5 * 64, "gan"),
    "wgan_clip_nc2_lr2e-4": (lambda: wgan("clip", n_critic=2, lr=2e-4), 2 * 64, "gan"),
    "mlp_gan": (lambda: mlp(), 128, "gan"),
    "mlp_gan_b64": (lambda: mlp(), 64, "gan"),
    "mlp_gan_g6e-4": (lambda: mlp(g_lr=6e-4), 64, "gan"),
    "mlp_gan_lr1e-4": (lambda: mlp(d_lr=1e-4, g_lr=1e-4), 64, "gan"),
    "stylegan_r1_0p1": (lambda: stylegan(r1=0.1), 64, "gan"),
    "stylegan_r1_1": (lambda: stylegan(), 64, "gan"),
    "stylegan_r1_10": (lambda: stylegan(r1=10.0), 64, "gan"),
    "stylegan_r1_0": (lambda: stylegan(r1=0.0), 64, "gan"),
    "stylegan_nomix": (lambda: stylegan(mixing=0.0), 64, "gan"),
    "stylegan_g6e-4": (lambda: stylegan(g_lr=6e-4), 64, "gan"),
    "stylegan_narrow": (lambda: stylegan(filters=(32, 32, 16)), 64, "gan"),
    "stylegan_b0_99": (lambda: stylegan(betas=(0.0, 0.99)), 64, "gan"),
    "stylegan_no_spread": (lambda: stylegan(batch_spread=False), 64, "gan"),
    "stylegan_b0_99_lr1e-3": (lambda: stylegan(betas=(0.0, 0.99), d_lr=1e-3, g_lr=1e-3), 64, "gan"),
    "stylegan_nomix_narrow": (lambda: stylegan(mixing=0.0, filters=(32, 32, 16)), 64, "gan"),
    "vae16_lr2e-3": (lambda: vae(lr=2e-3), 128, "vae"),
    "vae16": (lambda: vae(), 128, "vae"),
    "vae16_b64": (lambda: vae(), 64, "vae"),
}


def score(model, kind, data, evaluator):
    if kind == "vae":
        terms = model.negative_elbo(data.x_test)
        return {k: round(v, 3) for k, v in terms.items()}
    from gancore import metrics

    n = min(N_SCORED, len(data.x_test))  # what the quality bench scores, or all a --limit leaves
    row = metrics.score_generator(
        model.generate(n, seed=0), evaluator=evaluator, reference=data, baselines=False
    ).rows[0]
    return {
        "fd": round(float(row.frechet_distance), 3),
        "score": round(float(row.classifier_score), 3),
        "classes": int(row.classes_covered),
    }


def run(name, epochs, every, out, deadline, limit=None, iw_k=1000, seed=42):
    from gancore.data import load_dataset
    from gancore.evaluator import load_evaluator

    build, batch, kind = CANDIDATES[name]
    value_range = UNIT_RANGE if kind == "vae" else TANH_RANGE
    data = load_dataset("mnist", source="full", value_range=value_range, limit=limit, verbose=False)
    evaluator = None if kind == "vae" else load_evaluator()
    keras.utils.set_random_seed(seed)  # weights, noise and the order of the images
    model = build()
    train_seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.fit(data.x_train, batch_size=batch, epochs=1, shuffle=True, verbose=0)
        train_seconds += time.perf_counter() - start
        last = epoch == epochs or time.time() > deadline  # once, so scoring and stopping agree
        if epoch % every == 0 or epoch in (1, 2) or last:
            line = {"name": name, "epoch": epoch, "images": epoch * len(data.x_train),
                    "train_s": round(train_seconds, 1), "backend": keras.backend.backend(),
                    "seed": seed}  # fmt: skip
            line.update(score(model, kind, data, evaluator))
            if kind == "vae" and last and iw_k:
                nll = model.importance_weighted_nll(data.x_test, k=iw_k, max_images=100_000)
                line[f"iw_nll_k{iw_k}"] = round(float(nll), 3)
            print(json.dumps(line), flush=True)
            with open(out, "a") as f:
                f.write(json.dumps(line) + "\n")
        if last and epoch < epochs:
            print(json.dumps({"name": name, "stopped": "deadline", "epoch": epoch}), flush=True)
            break
    return model


def throughput(name, n=20_000):
    """Images per second of one candidate on this machine: wall time and CPU time over the cores."""
    build, batch, _ = CANDIDATES[name]
    x = np.random.default_rng(0).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")
    model = build()
    model.fit(x[: batch * 16], batch_size=batch, epochs=1, verbose=0)  # traces the step
    n = (n // batch) * batch
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(x[:n], batch_size=batch, epochs=1, shuffle=False, verbose=0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    cores = usable_cores()
    print(
        f"{name:<26} {n / wall:7.0f} images/s wall  {n / (cpu / cores):7.0f} images/s of CPU time / {cores} cores"
    )


def _point(record) -> str:
    if "negative_elbo" in record:
        return f"{record['epoch']}: {record['negative_elbo']:.1f}"
    return f"{record['epoch']}: {record['fd']:.1f}/{record['score']:.2f}"


def summarize(paths) -> None:
    """One row per candidate and seed: its first, best and last scored point; then the seed spreads."""
    points = {}
    for path in paths:
        for line in Path(path).read_text().splitlines():
            record = json.loads(line)
            if "stopped" not in record:  # the marker a time limit leaves
                key = (record["name"], record.get("seed"))  # no seed: the early rounds, seed 42
                points.setdefault(key, []).append(record)
    print(
        f"{'candidate':<24} {'seed':>4} {'epochs':>6}  "
        "first -> best -> last (epoch: FD/score, or -ELBO nats)"
    )
    for (name, seed), records in points.items():
        best = min(records, key=_quality)
        line = " -> ".join(_point(r) for r in (records[0], best, records[-1]))
        iw = [r["iw_nll_k1000"] for r in records if "iw_nll_k1000" in r]
        iw_text = f"  (IW k=1000 at the end: {iw[-1]:.1f})" if iw else ""
        seed_text = "" if seed is None else seed
        print(f"{name:<24} {seed_text:>4} {records[-1]['epoch']:>6}  {line}{iw_text}")
    _print_spreads(points)


def _quality(record) -> float:
    """FD, or the negative ELBO for the VAE: lower is better for both."""
    return record.get("negative_elbo", record.get("fd"))


def _print_spreads(points) -> None:
    """For each candidate run with several seeds: its final FDs and the largest ratio between two."""
    finals = {}
    for (name, seed), records in points.items():
        if seed is not None:
            finals.setdefault(name, {})[seed] = records[-1]
    for name, by_seed in finals.items():
        if len(by_seed) < 2:
            continue
        values = sorted(_quality(r) for r in by_seed.values())
        epochs = sorted({r["epoch"] for r in by_seed.values()})
        print(
            f"{name}: {len(values)} seeds, last epoch {'/'.join(map(str, epochs))}: "
            f"{', '.join(f'{v:.2f}' for v in values)}; largest / smallest = "
            f"{values[-1] / values[0]:.2f}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--throughput", action="store_true", help="time each candidate instead")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock limit for all")
    parser.add_argument("--out", default="sweep.jsonl")
    parser.add_argument(
        "--iw-k", type=int, default=1000, help="VAE: importance samples of the final bound"
    )
    parser.add_argument("--limit", type=int, help="train on this many images (a smoke test)")
    parser.add_argument(
        "--seed", type=int, default=42, help="training seed (a spread: one per run)"
    )
    parser.add_argument("--summarize", nargs="+", metavar="FILE", help="tabulate earlier sweeps")
    args = parser.parse_args(argv)
    if args.summarize:
        summarize(args.summarize)
        return
    if args.list:
        print("\n".join(CANDIDATES))
        return
    deadline = time.time() + 60 * args.minutes
    runs = [(n.partition(":")[0], int(n.partition(":")[2] or args.epochs)) for n in args.names]
    for name, _ in runs:
        if name not in CANDIDATES:
            parser.error(f"unknown candidate {name!r}; --list shows them")
    if args.throughput:
        for name, _ in runs:
            throughput(name)
        return
    for i, (name, epochs) in enumerate(runs):
        # Each candidate gets an equal share of the time that is left.
        share = (deadline - time.time()) / (len(runs) - i)
        run(
            name,
            epochs,
            args.every,
            args.out,
            time.time() + share,
            args.limit,
            args.iw_k,
            args.seed,
        )


if __name__ == "__main__":
    main()
