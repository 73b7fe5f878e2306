"""Time to quality: how many training minutes a recipe needs to reach a target score.

`python -m gancore.bench quality` trains a model on full MNIST and, every
`--every` minutes of training, scores 10,000 samples with the book's evaluator
against the 10,000 test digits (Fréchet distance, classifier score, classes
covered). It prints the curve, plots it, and prints the minutes taken to
reach the model's target. Beside gancore's DCGAN it runs the DCGAN of the
TensorFlow tutorial ("Deep Convolutional Generative Adversarial Network") exactly as that tutorial trains
it (its two networks, batch 256, Adam(1e-4), one `tf.function` step that
updates both networks from one forward pass) and ends with the ratio of the
two times to target.

    python -m gancore.bench quality --models dcgan
    python -m gancore.bench quality --models dcgan,wgan_gp --minutes 20 --every 2

Training time is the process's CPU time divided by the cores it may use
("minutes on 2 cores"): on a quiet machine it equals the wall time of a run
that keeps both cores busy, and other jobs on a shared machine barely move it.
The time spent sampling and scoring is left out.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable

import keras
import numpy as np

from gancore import zoo
from gancore.data import load_dataset, make_dataset
from gancore.images import TANH_RANGE

N_SCORED = 10_000
TUTORIAL = "tutorial_dcgan"


@dataclasses.dataclass(frozen=True)
class Target:
    """What a model must reach: FD at most `max_fd`, score at least `min_score`, ..."""

    max_fd: float = math.inf
    min_score: float = 0.0
    min_classes: int = 0

    def met(self, point: Point) -> bool:
        return (
            point.frechet_distance <= self.max_fd
            and point.classifier_score >= self.min_score
            and point.classes_covered >= self.min_classes
        )

    def __str__(self) -> str:
        parts = []
        if self.min_score:
            parts.append(f"score ≥ {self.min_score:g}")
        if self.max_fd < math.inf:
            parts.append(f"FD ≤ {self.max_fd:g}")
        if self.min_classes:
            parts.append(f"{self.min_classes}/10 classes")
        return ", ".join(parts)


def parse_target(text: str) -> Target:
    """`"score>=6.5,fd<=15,classes>=10"` -> Target(max_fd=15, min_score=6.5, min_classes=10)."""
    fields = {"fd<=": "max_fd", "score>=": "min_score", "classes>=": "min_classes"}
    values = {}
    for part in filter(None, (p.strip().replace(" ", "") for p in text.split(","))):
        prefix = next((f for f in fields if part.startswith(f)), None)
        if prefix is None:
            raise ValueError(
                f"Expected a target like 'score>=6.5,fd<=15,classes>=10'. Received: {text!r}."
            )
        value = float(part[len(prefix) :])
        values[fields[prefix]] = int(value) if prefix == "classes>=" else value
    return Target(**values)


# The targets of the committed standard runs (issue 15). The tutorial's DCGAN
# is held to the DCGAN's target.
TARGETS = {
    "dcgan": Target(max_fd=3.0, min_score=9.0, min_classes=10),
    TUTORIAL: Target(max_fd=3.0, min_score=9.0, min_classes=10),
    "conditional_dcgan": Target(max_fd=1.5, min_score=9.5, min_classes=10),
    "wgan_gp": Target(max_fd=5.0, min_score=8.5),
    "wgan_clip": Target(min_score=7.0, min_classes=10),
    "mlp_gan": Target(min_score=7.0, min_classes=10),
}


@dataclasses.dataclass
class Point:
    """One scored point of a training curve."""

    minutes: float  # training time, minutes on `cores` cores (CPU time / cores)
    wall_minutes: float  # wall-clock minutes of training, scoring left out
    images: int  # real images seen by the discriminator
    frechet_distance: float
    classifier_score: float
    classes_covered: int


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class TrainingClock:
    """Training time, with pauses for scoring left out.

    `minutes` is CPU time over `cores` (robust to other jobs on a shared CPU),
    or wall time with `cpu=False` (on a GPU, where the CPU mostly waits).
    """

    def __init__(self, cores: int | None = None, cpu: bool = True):
        self.cores, self.use_cpu = cores or usable_cores(), cpu
        self.cpu = 0.0
        self.wall = 0.0
        self._started = None

    def start(self):
        self._started = (time.process_time(), time.perf_counter())

    def stop(self):
        cpu, wall = self._started
        self.cpu += time.process_time() - cpu
        self.wall += time.perf_counter() - wall
        self._started = None

    @property
    def minutes(self) -> float:
        return self.cpu / self.cores / 60 if self.use_cpu else self.wall / 60

    @property
    def wall_minutes(self) -> float:
        return self.wall / 60


class QualityCurve:
    """Scores a generator every `every` training minutes until the target or the budget.

    Call `checkpoint(sample, images)` after each chunk of training with the
    clock stopped; it returns True when training should stop.
    """

    def __init__(
        self, name, target, clock, budget, every, reference, evaluator, n=N_SCORED, verbose=True
    ):
        self.name, self.target, self.clock, self.n = name, target, clock, n
        self.budget, self.every = budget, every
        self.reference, self.evaluator, self.verbose = reference, evaluator, verbose
        self.points: list[Point] = []
        self.next_score = every

    def checkpoint(self, sample: Callable[[int], np.ndarray], images: int) -> bool:
        out_of_time = self.clock.minutes >= self.budget
        if self.clock.minutes < self.next_score and not out_of_time:
            return False
        self.next_score += self.every
        point = self._score(sample, images)
        self.points.append(point)
        if self.verbose:
            print(
                f"{self.name:>18}  {point.minutes:6.1f} min  {point.images:>10,} images  "
                f"FD {point.frechet_distance:7.2f}  score {point.classifier_score:5.2f}  "
                f"classes {point.classes_covered:>2}/10",
                flush=True,
            )
        return out_of_time or self.target.met(point)

    def _score(self, sample, images) -> Point:
        from gancore import metrics

        table = metrics.score_generator(
            sample(self.n),
            name=self.name,
            evaluator=self.evaluator,
            reference=self.reference,
            baselines=False,
        )
        row = table.rows[0]
        return Point(
            minutes=self.clock.minutes,
            wall_minutes=self.clock.wall_minutes,
            images=images,
            frechet_distance=row.frechet_distance,
            classifier_score=row.classifier_score,
            classes_covered=row.classes_covered,
        )

    @property
    def minutes_to_target(self) -> float | None:
        """Training minutes at the first point that met the target; None if none did."""
        return self.minutes_to(self.target)

    def minutes_to(self, target: Target) -> float | None:
        """Training minutes at the first point that met `target`; None if none did."""
        return next((p.minutes for p in self.points if target.met(p)), None)


class QualityProbe(keras.callbacks.Callback):
    """Runs the curve's clock during `fit` and hands it a checkpoint every `every_epochs` epochs.

    Args:
        curve: the `QualityCurve` that scores and records.
        images_per_epoch: real images the model sees per epoch (steps x batch).
        sample: `sample(n)` -> n images in [-1, 1]; default the model's `generate`.
        every_epochs: call the curve after every this many epochs (it still
            scores only when `curve.every` minutes have passed; 0 scores each time).
        stop: end `fit` when the curve says so (target met or budget spent).
    """

    def __init__(self, curve, images_per_epoch, sample=None, every_epochs=1, stop=True):
        super().__init__()
        self.curve, self.images_per_epoch = curve, images_per_epoch
        self.sample, self.every_epochs, self.stop = sample, every_epochs, stop

    def on_train_begin(self, logs=None):
        self.curve.clock.start()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs:
            return
        self.curve.clock.stop()
        sample = self.sample or (lambda n: zoo.samples_in_tanh_range(self.model, n))
        if self.curve.checkpoint(sample, (epoch + 1) * self.images_per_epoch) and self.stop:
            self.model.stop_training = True
        self.curve.clock.start()

    def on_train_end(self, logs=None):
        self.curve.clock.stop()


def train_recipe(curve, name, data, width=32, seed=42, steps_per_check=100):
    """Trains the zoo's `name` recipe with `fit` under `curve`; returns the model."""
    recipe = zoo.RECIPES[name]
    keras.utils.set_random_seed(seed)
    model = recipe.compile(recipe.build(width), steps_per_execution=8)
    labels = data.y_train if recipe.labelled else None
    dataset = make_dataset(data.x_train, labels, batch_size=recipe.batch_size, seed=seed)

    probe = QualityProbe(curve, steps_per_check * recipe.batch_size)
    model.fit(
        dataset.repeat(),
        epochs=10**6,  # the probe stops it
        steps_per_epoch=steps_per_check,
        callbacks=[probe],
        shuffle=False,  # the dataset shuffles itself
        verbose=0,
    )
    return model


# -- the TensorFlow tutorial's DCGAN, trained the tutorial's way ----------------


def tutorial_generator(latent_dim: int = 100) -> keras.Model:
    """The tutorial's generator: 7x7x256 -> 7x7x128 -> 14x14x64 -> 28x28x1, 5x5 kernels."""
    from keras import layers

    def up(x, filters, strides):
        x = layers.Conv2DTranspose(filters, 5, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.LeakyReLU()(x)  # Keras's default slope, 0.3, as in the tutorial

    noise = keras.Input(shape=(latent_dim,))
    x = layers.Dense(7 * 7 * 256, use_bias=False)(noise)
    x = layers.LeakyReLU()(layers.BatchNormalization()(x))
    x = layers.Reshape((7, 7, 256))(x)
    x = up(up(x, 128, 1), 64, 2)
    image = layers.Conv2DTranspose(
        1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
    )(x)
    return keras.Model(noise, image, name="tutorial_generator")


def tutorial_discriminator() -> keras.Model:
    """The tutorial's discriminator: two 5x5 stride-2 convolutions with dropout, one logit."""
    from keras import layers

    image = keras.Input(shape=(28, 28, 1))
    x = image
    for filters in (64, 128):
        x = layers.Conv2D(filters, 5, strides=2, padding="same")(x)
        x = layers.Dropout(0.3)(layers.LeakyReLU()(x))
    logit = layers.Dense(1)(layers.Flatten()(x))
    return keras.Model(image, logit, name="tutorial_discriminator")


def train_tutorial(curve, data, seed=42, batch_size=256, latent_dim=100, steps_per_check=25):
    """The tutorial's training loop under `curve`; returns the generator.

    One `tf.function` step draws `batch_size` noise vectors, runs both networks
    once under two tapes and updates both with Adam(1e-4); the data are the
    60,000 digits shuffled each epoch in batches of 256 (the last one smaller).
    """
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    generator, discriminator = tutorial_generator(latent_dim), tutorial_discriminator()
    g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch_size, latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_logits = discriminator(images, training=True)
            fake_logits = discriminator(fake, training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(
                tf.zeros_like(fake_logits), fake_logits
            )
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables, strict=True))
        return d_loss

    dataset = tf.data.Dataset.from_tensor_slices(data.x_train).shuffle(len(data.x_train), seed=seed)
    dataset = dataset.batch(batch_size).repeat()

    def sample(n):
        noise = np.random.default_rng(0).standard_normal((n, latent_dim)).astype("float32")
        return generator.predict(noise, batch_size=500, verbose=0)

    images, done = 0, False
    batches = iter(dataset)
    while not done:
        curve.clock.start()
        for _ in range(steps_per_check):
            batch = next(batches)
            d_loss = train_step(batch)
            images += int(batch.shape[0])
        float(d_loss)  # wait for the last step
        curve.clock.stop()
        done = curve.checkpoint(sample, images)
    return generator


# -- the command -----------------------------------------------------------------


def plot_curves(curves, x: str = "minutes", title: str | None = None):
    """FD and classifier score of each curve against training `minutes` or `images`; a Figure.

    The first curve's target is drawn as a dotted line.
    """
    from gancore.plotting import plt

    fig, (ax_fd, ax_score) = plt.subplots(1, 2, figsize=(10, 3.8))
    for curve in curves:
        xs = [getattr(p, x) for p in curve.points]
        ax_fd.plot(xs, [p.frechet_distance for p in curve.points], "o-", label=curve.name)
        ax_score.plot(xs, [p.classifier_score for p in curve.points], "o-", label=curve.name)
    target = curves[0].target
    if target.max_fd < math.inf:
        ax_fd.axhline(target.max_fd, color="gray", ls=":", label="target")
    if target.min_score:
        ax_score.axhline(target.min_score, color="gray", ls=":", label="target")
    xlabel = "training minutes" if x == "minutes" else "real images seen"
    if x == "images":  # 384000 -> 384k, so the tick labels do not run into each other
        for ax in (ax_fd, ax_score):
            ax.xaxis.set_major_formatter(lambda value, _: f"{value / 1000:g}k")
    ax_fd.set(title="Fréchet distance (lower is better)", xlabel=xlabel, yscale="log")
    ax_score.set(title="Classifier score (max 10)", xlabel=xlabel, ylim=(1, 10))
    ax_fd.legend(loc="upper right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def time_to_target_line(curve) -> str:
    minutes = curve.minutes_to_target
    if minutes is None:
        best = min(curve.points, key=lambda p: p.frechet_distance)
        return (
            f"{curve.name}: target ({curve.target}) not reached in {curve.budget:g} min; best FD "
            f"{best.frechet_distance:.2f} (score {best.classifier_score:.2f}) at {best.minutes:.1f} min"
        )
    return f"{curve.name}: target ({curve.target}) reached at {minutes:.1f} min"


def speed_up_line(ours, reference, target: Target | None = None) -> str:
    """The ratio of the reference's time to `target` to ours (a bound when one never got there).

    `target` defaults to our curve's own; another one is named in the line.
    """
    named = "" if target is None else f" ({target})"
    target = target or ours.target
    head = f"DCGAN time-to-target{named} speed-up vs the tutorial recipe:"
    mine, theirs = ours.minutes_to(target), reference.minutes_to(target)
    if mine is None:
        return f"{head} none (the DCGAN did not reach the target in {ours.budget:g} min)"
    if theirs is None:
        return (
            f"{head} >= {reference.budget / mine:.2f}x "
            f"(the tutorial recipe did not reach the target in {reference.budget:g} min)"
        )
    return f"{head} {theirs / mine:.2f}x"


def main(argv=None):
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog="python -m gancore.bench quality",
        description="Training minutes each model needs to reach its target score on full MNIST.",
    )
    names = [n for n in TARGETS if n != TUTORIAL]
    parser.add_argument("--models", default="dcgan", help=", ".join(names))
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per model")
    parser.add_argument("--every", type=float, default=2.0, help="minutes between scorings")
    parser.add_argument("--reference-minutes", type=float,
                        help="budget of the tutorial recipe (default: --minutes)")  # fmt: skip
    parser.add_argument("--no-reference", action="store_true", help="skip the tutorial recipe")
    parser.add_argument("--compare-at", type=parse_target, metavar="TARGET",
                        help="also compare the two DCGANs' times to this target, "
                        "e.g. 'score>=6.5,fd<=15' (default: the DCGAN's own target only)")  # fmt: skip
    parser.add_argument(
        "--width", type=int, default=32, help="filter width (the standard profile's)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default="outputs/quality", help="folder for the plot")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(names))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; expected some of {names}")

    from gancore.evaluator import load_evaluator

    data = load_dataset("mnist", source="full", value_range=TANH_RANGE, verbose=False)
    evaluator = load_evaluator()
    clock_cores = usable_cores()
    print(
        f"Time to quality on full MNIST: {N_SCORED:,} samples scored every {args.every:g} min "
        f"against the {len(data.x_test):,} test digits; minutes = CPU time / {clock_cores} cores"
    )

    def curve(name, budget):
        return QualityCurve(
            name, TARGETS[name], TrainingClock(clock_cores), budget, args.every, data, evaluator
        )

    curves = {}
    for name in models:
        curves[name] = curve(name, args.minutes)
        train_recipe(curves[name], name, data, width=args.width, seed=args.seed)
    if "dcgan" in models and not args.no_reference:
        curves[TUTORIAL] = curve(TUTORIAL, args.reference_minutes or args.minutes)
        train_tutorial(curves[TUTORIAL], data, seed=args.seed)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig = plot_curves(list(curves.values()), title="Time to quality on full MNIST")
    fig.savefig(out / "time_to_quality.png", dpi=100)
    print(f"Curves plotted in {out / 'time_to_quality.png'}")
    for c in curves.values():
        print(time_to_target_line(c))
    if TUTORIAL in curves:
        if args.compare_at is not None:
            print(speed_up_line(curves["dcgan"], curves[TUTORIAL], args.compare_at))
        print(speed_up_line(curves["dcgan"], curves[TUTORIAL]))
    return curves
