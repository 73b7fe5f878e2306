"""Training throughput of the book's models: `python -m gancore.bench`.

For each model the bench trains on real MNIST digits (the sample shipped with
gancore) and prints the warm-up time (tracing and compiling the first steps)
and the images per second after it. Beside gancore's DCGAN it runs a plain
reference: the same two networks trained by a hand-written
`tf.GradientTape` loop in a `tf.function`, the way most tutorials write it,
on the same data in the same process, and prints the ratio on its last line.

    python -m gancore.bench                         # every model, ~20 s each
    python -m gancore.bench --models dcgan --seconds 60
    python -m gancore.bench --backend jax           # the same on Keras's JAX backend
    python -m gancore.bench --backend all --models dcgan,vae   # side by side
    python -m gancore.bench quality --models dcgan  # minutes to a target score (gancore.quality)

Keras fixes its backend at import, so `--backend` runs the bench in a fresh
process with `KERAS_BACKEND` set. The reference loop is TensorFlow code, so
the ratio is printed on the TensorFlow backend only. Figures on a shared
2-core machine are noisy: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import keras
import numpy as np

from gancore import zoo
from gancore.data import load_dataset, make_dataset

REFERENCE = "dcgan (reference)"
BACKENDS = ("tensorflow", "jax", "torch")
# Per backend, what trains fastest here: XLA for JAX (eager JAX is slow), graph
# mode for TensorFlow (XLA measured slower on this CPU), eager PyTorch
# (with torch.compile the DCGAN took 45 s to warm up, recompiled several times
# and then trained slower, 1,498 against 2,110 images/s; PyTorch also requires
# steps_per_execution=1).
DEFAULT_JIT = {"tensorflow": False, "jax": True, "torch": False}
DEFAULT_STEPS_PER_EXECUTION = {"tensorflow": 8, "jax": 8, "torch": 1}


def fit_runner(model, dataset):
    """`run(steps)`: trains `model` for `steps` batches with `fit`, returns the seconds taken."""

    def run(steps):
        start = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
        return time.perf_counter() - start

    return run


def reference_dcgan_runner(dataset, width, batch_size):
    """The same DCGAN trained the way most tutorials write it: two tapes in a `tf.function`.

    Returns `run(steps)` like `fit_runner`.
    """
    import tensorflow as tf

    reference = zoo.dcgan(width)  # the same two networks as gancore's DCGAN
    generator, discriminator = reference.generator, reference.discriminator
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch_size, zoo.LATENT_DIM])
        with tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_logits = discriminator(images, training=True)
            fake_logits = discriminator(fake, training=True)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(
                tf.zeros_like(fake_logits), fake_logits
            )
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables, strict=True))
        noise = tf.random.normal([batch_size, zoo.LATENT_DIM])
        with tf.GradientTape() as g_tape:
            fake_logits = discriminator(generator(noise, training=True), training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables, strict=True))
        return d_loss, g_loss

    batches = iter(dataset.repeat())

    def run(steps):
        start = time.perf_counter()
        for _ in range(steps):
            losses = train_step(next(batches))
        float(losses[0])  # wait for the last step to finish
        return time.perf_counter() - start

    return run


def measure(runners, seconds, batch_size, chunk, rounds=5):
    """Warm-up seconds and median images/s of each runner, timed in alternating rounds.

    Alternating the runners round by round makes their ratio robust to other
    load on the machine, which shifts all of them alike.
    """
    warmups = {name: run(chunk) for name, run in runners.items()}  # traces and compiles
    per_step = {name: run(chunk) / chunk for name, run in runners.items()}
    steps = {
        name: chunk * max(1, round(seconds / rounds / per_step[name] / chunk)) for name in runners
    }
    speeds = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            speeds[name].append(steps[name] * batch_size / run(steps[name]))
    return {name: (warmups[name], float(np.median(speeds[name]))) for name in runners}


def run(models, seconds, batch_size, width, jit_compile, steps_per_execution):
    """Benchmarks `models`; returns rows of (name, config, warm-up s, images/s)."""
    config = f"fit, jit_compile={jit_compile}, steps_per_execution={steps_per_execution}"
    rows = []
    for name in models:
        recipe = zoo.RECIPES[name]
        data = load_dataset("mnist", source="sample", value_range=recipe.value_range, verbose=False)
        labels = data.y_train if recipe.labelled else None
        batch = batch_size or recipe.batch_size
        dataset = make_dataset(data.x_train, labels, batch_size=batch)
        model = recipe.compile(
            recipe.build(width), jit_compile=jit_compile, steps_per_execution=steps_per_execution
        )
        runners = {name: fit_runner(model, dataset.repeat())}
        if name == "dcgan" and keras.backend.backend() == "tensorflow":
            runners[REFERENCE] = reference_dcgan_runner(dataset, width, batch)
        results = measure(runners, seconds, batch, chunk=max(4, steps_per_execution))
        for runner, (warmup, speed) in results.items():
            label = "tf.GradientTape loop in tf.function" if runner == REFERENCE else config
            rows.append((runner, label, warmup, speed))
            print(f"{runner:>18}  {label:<48} warm-up {warmup:6.1f} s  {speed:8.1f} images/s")
    return rows


def on_backend(backend, argv):
    """Runs the bench with `argv` in a fresh process on `backend`; returns its rows."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    code = "import json, sys; from gancore import bench; print('ROWS', json.dumps(bench.main(sys.argv[1:])))"
    result = subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True
    )
    lines = result.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("ROWS")), flush=True)
    if result.returncode != 0:
        raise RuntimeError(f"The bench failed on {backend}:\n{result.stderr[-3000:]}")
    return json.loads(next(line for line in lines if line.startswith("ROWS"))[5:])


def compare_backends(models, seconds, width=64, backends=BACKENDS):
    """images/s of `models` on each backend, each in its own process: {backend: {model: images/s}}."""
    argv = ["--models", ",".join(models), "--seconds", str(seconds), "--width", str(width)]
    return _backend_table(argv, backends)


def _backend_table(argv, backends=BACKENDS):
    table = {}
    for backend in backends:
        rows = on_backend(backend, argv)
        table[backend] = {name: speed for name, _, _, speed in rows if name != REFERENCE}
    models = list(table[backends[0]])
    print("images/s".ljust(18) + "".join(f"{b:>12}" for b in backends))
    for name in models:
        print(f"{name:<18}" + "".join(f"{table[b][name]:12.1f}" for b in backends))
    return table


def _without_backend_option(argv):
    argv = list(argv)
    if "--backend" in argv:
        i = argv.index("--backend")
        del argv[i : i + 2]
    return [a for a in argv if not a.startswith("--backend=")]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["quality"]:
        from gancore import quality

        return quality.main(argv[1:])
    parser = argparse.ArgumentParser(description="Training throughput of gancore's models.")
    names = list(zoo.RECIPES)
    parser.add_argument("--models", default=",".join(names), help=", ".join(names))
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per model")
    parser.add_argument("--batch-size", type=int, help="default: each model's chapter batch")
    parser.add_argument("--width", type=int, default=64, help="DCGAN filter width")
    parser.add_argument("--backend", choices=[*BACKENDS, "all"],
                        help="run on this Keras backend (default: the current one)")  # fmt: skip
    parser.add_argument("--steps-per-execution", type=int, help="default: 8 (1 on torch)")
    parser.add_argument("--jit-compile", choices=["true", "false"],
                        help="default: true on jax, false on tensorflow and torch")  # fmt: skip
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(names))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; expected some of {names}")
    backend = keras.backend.backend()
    rest = _without_backend_option(argv)
    if args.backend == "all":
        table = _backend_table(rest)
        return [
            (name, b, None, speed) for b, speeds in table.items() for name, speed in speeds.items()
        ]
    if args.backend and args.backend != backend:
        return [tuple(row) for row in on_backend(args.backend, rest)]
    jit = DEFAULT_JIT[backend] if args.jit_compile is None else args.jit_compile == "true"
    steps_per_execution = args.steps_per_execution or DEFAULT_STEPS_PER_EXECUTION[backend]
    print(f"backend {backend}, {args.seconds:g} s per model, images/s after warm-up")
    rows = run(models, args.seconds, args.batch_size, args.width, jit, steps_per_execution)
    speed = {name: ips for name, _, _, ips in rows}
    if "dcgan" in speed and REFERENCE in speed:
        print(f"DCGAN speed-up vs reference loop: {speed['dcgan'] / speed[REFERENCE]:.2f}x")
    return rows


if __name__ == "__main__":
    main()
