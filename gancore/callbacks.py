"""Callbacks shared by every generative model: sample grids, resumable checkpoints, diagnostics.

They need only what every gancore generative model has: a `latent_dim`, a
`generate(noise_or_n, labels=None)` method returning samples in [-1, 1], and
(for checkpoints) `.keras` saving. GAN, WGAN and VAE all qualify.

    grid = SampleGrid(out / "samples")                  # the same 64 z every epoch
    ckpt = GANCheckpoint(out / "checkpoints", keep=3, sample_grid=grid)
    model, initial_epoch = ckpt.resume(model)           # continue after a disconnect
    model.fit(ds, epochs=EPOCHS, initial_epoch=initial_epoch,
              callbacks=[grid, ckpt, GANDiagnostics()])
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import keras
import numpy as np

from gancore.images import TANH_RANGE
from gancore.plotting import image_grid, save_gif


def fixed_noise(n: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """(n, latent_dim) float32 standard-normal vectors, the same for the same seed."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")


def _epoch_of(path: Path) -> int:
    return int(re.search(r"(\d+)", path.stem).group(1))


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of samples from fixed latent vectors after every `every` epochs.

    The same vectors every epoch make the frames comparable: `gif()` turns them
    into an animation of training.

    Args:
        directory: folder for `epoch_NNN.png` (and the GIF).
        n: number of samples (ignored when `noise` is given).
        noise: the latent vectors, shape (n, latent_dim); drawn with `seed`
            at the start of training if `None`.
        labels: class labels for conditional models (default: every class
            in turn).
        ncols: images per row (default: a square grid).
        every: save every this many epochs.
        seed: seed of the fixed noise.
        value_range: range of the generated samples.
    """

    def __init__(
        self,
        directory,
        n: int = 64,
        noise=None,
        labels=None,
        ncols=None,
        every: int = 1,
        seed: int = 0,
        value_range=TANH_RANGE,
    ):
        super().__init__()
        self.directory = Path(directory)
        self.n = n if noise is None else len(noise)
        self.noise = None if noise is None else np.asarray(noise, dtype="float32")
        self.labels = labels
        self.ncols = ncols
        self.every = every
        self.seed = seed
        self.value_range = value_range

    @property
    def frames(self) -> list[Path]:
        """The saved PNGs, oldest first."""
        return sorted(self.directory.glob("epoch_*.png"), key=_epoch_of)

    def on_train_begin(self, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.noise is None:
            self.noise = fixed_noise(self.n, self.model.latent_dim, self.seed)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.save(epoch + 1)

    def save(self, epoch: int) -> Path:
        """Writes the grid for `epoch` (epochs completed) and returns its path."""
        import matplotlib.pyplot as plt

        self.directory.mkdir(parents=True, exist_ok=True)
        images = self.model.generate(self.noise, labels=self.labels)
        grid = image_grid(images, self.ncols, self.value_range)
        path = self.directory / f"epoch_{epoch:03d}.png"
        plt.imsave(path, grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1)
        return path

    def gif(self, path=None, duration: float = 0.4) -> Path:
        """Assembles the saved grids into an animated GIF (default `progress.gif` beside them)."""
        if not self.frames:
            raise FileNotFoundError(f"No sample grids in {str(self.directory)!r} yet: train first.")
        return save_gif(self.frames, path or self.directory / "progress.gif", duration=duration)


class GANCheckpoint(keras.callbacks.Callback):
    """Saves everything a resumed `fit` needs, every epoch, keeping the last `keep`.

    Each checkpoint is `epoch_NNN.keras` (both networks, both optimizers with
    their iterations and moments, the noise generator's state) and
    `epoch_NNN.json` (the epoch, the logs) plus `epoch_NNN.npz` (the sample
    grid's fixed noise). Epochs whose logs hold NaN or inf are not saved, so
    the newest checkpoint is always a good one.

    Args:
        directory: folder of the checkpoints.
        keep: how many of the newest checkpoints to keep; older ones are
            deleted (a run that collapses late can roll back that far).
        every: save every this many epochs.
        sample_grid: a `SampleGrid` whose fixed noise is saved and restored.
    """

    def __init__(
        self, directory, keep: int = 3, every: int = 1, sample_grid: SampleGrid | None = None
    ):
        super().__init__()
        if keep < 1:
            raise ValueError(f"Expected keep >= 1 (checkpoints to keep). Received: keep={keep}.")
        self.directory = Path(directory)
        self.keep = keep
        self.every = every
        self.sample_grid = sample_grid
        self.initial_epoch = 0

    @property
    def checkpoints(self) -> list[Path]:
        """The saved `.keras` files, oldest first."""
        return sorted(self.directory.glob("epoch_*.keras"), key=_epoch_of)

    @property
    def latest(self) -> Path | None:
        """The newest checkpoint, or `None`."""
        return self.checkpoints[-1] if self.checkpoints else None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        bad = {
            k: v for k, v in logs.items() if not np.isfinite(np.asarray(v, dtype="float64")).all()
        }
        if bad:
            print(
                f"GANCheckpoint: not saving epoch {epoch + 1}: non-finite {sorted(bad)}. Latest good: {self.latest}"
            )
            return
        if (epoch + 1) % self.every == 0:
            self.save(epoch + 1, logs)

    def save(self, epoch: int, logs=None) -> Path:
        """Writes the checkpoint of `epoch` (epochs completed) and prunes old ones."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = self.directory / f"epoch_{epoch:03d}"
        self.model.save(stem.with_suffix(".keras"))
        state = {"epoch": epoch, "logs": {k: float(np.mean(v)) for k, v in (logs or {}).items()}}
        stem.with_suffix(".json").write_text(json.dumps(state, indent=1))
        if self.sample_grid is not None and self.sample_grid.noise is not None:
            np.savez(stem.with_suffix(".npz"), noise=self.sample_grid.noise)
        for old in self.checkpoints[: -self.keep]:
            for suffix in (".keras", ".json", ".npz"):
                old.with_suffix(suffix).unlink(missing_ok=True)
        return stem.with_suffix(".keras")

    def resume(self, model, path=None):
        """Loads the newest (or the given) checkpoint, if there is one.

        Returns:
            `(model, initial_epoch)`: the loaded model (compiled, optimizers
            restored) and the epoch to pass to `fit(initial_epoch=...)`; or
            the given `model` and 0 when there is nothing to resume.
        """
        path = Path(path) if path else self.latest
        if path is None:
            self.initial_epoch = 0
            return model, 0
        import gancore.models  # noqa: F401  (registers the model classes for loading)

        loaded = keras.models.load_model(path, safe_mode=True)
        state = json.loads(path.with_suffix(".json").read_text())
        noise_file = path.with_suffix(".npz")
        if self.sample_grid is not None and noise_file.exists():
            with np.load(noise_file) as saved:
                self.sample_grid.noise = saved["noise"]
        self.initial_epoch = int(state["epoch"])
        print(f"Resumed from {path.name}: continuing at epoch {self.initial_epoch + 1}.")
        return loaded, self.initial_epoch


def sample_diversity(samples) -> float:
    """Mean pairwise Euclidean distance between samples, per sqrt(value): 0 when all are equal."""
    flat = np.asarray(samples, dtype="float64").reshape(len(samples), -1)
    squared = (flat**2).sum(1)
    distances = squared[:, None] + squared[None, :] - 2 * flat @ flat.T
    n = len(flat)
    return float(
        np.sqrt(np.clip(distances, 0, None)).sum() / (n * (n - 1)) / math.sqrt(flat.shape[1])
    )


class GANDiagnostics(keras.callbacks.Callback):
    """Flags the usual ways adversarial training fails, with a message saying what happened.

    - a NaN or inf loss after a batch: stops training, naming the epoch and
      step (a `GANCheckpoint` keeps the last good epoch);
    - the discriminator's accuracy on real and fake both above
      `d_acc_threshold` for an epoch: a warning (D wins; G's gradients fade);
    - the diversity of samples (mean pairwise distance) below
      `collapse_ratio` times that of real data: a warning (mode collapse);
    - optionally (`oscillation_window`), the diversity swinging up and down
      from epoch to epoch: a warning (the game oscillates instead of settling).

    Messages are printed and kept in `events`.

    Args:
        reference: real samples to compare diversity against; without them
            the highest diversity seen so far is the reference.
        n_samples: samples generated per epoch for the diversity check.
        d_acc_threshold: accuracy above which D counts as saturated.
        collapse_ratio: diversity ratio under which collapse is reported.
        loss_keys: the logged losses to watch (default: every key with `loss`).
        seed: seed of the noise for the diversity samples.
        oscillation_window: epochs over which to look for oscillation (at
            least 4), or `None` (the default) to skip the check. Over the last
            `oscillation_window` epochs the diversity must change direction
            at least half as often as it could, and move by a median of more
            than `oscillation_ratio` times the reference diversity per epoch.
        oscillation_ratio: the per-epoch swing, as a fraction of the
            reference diversity, above which an oscillation is reported.
    """

    def __init__(
        self,
        reference=None,
        n_samples: int = 64,
        d_acc_threshold: float = 0.99,
        collapse_ratio: float = 0.25,
        loss_keys=None,
        seed: int = 1,
        oscillation_window: int | None = None,
        oscillation_ratio: float = 0.2,
    ):
        super().__init__()
        if oscillation_window is not None and oscillation_window < 4:
            raise ValueError(
                "Expected oscillation_window >= 4 (epochs) or None (no oscillation check). "
                f"Received: oscillation_window={oscillation_window}."
            )
        self.oscillation_window = oscillation_window
        self.oscillation_ratio = oscillation_ratio
        self.reference = reference
        self.n_samples = n_samples
        self.d_acc_threshold = d_acc_threshold
        self.collapse_ratio = collapse_ratio
        self.loss_keys = loss_keys
        self.seed = seed
        self.events: list[str] = []
        self.stopped_at = None
        self.diversity: list[float] = []

    def _report(self, message: str):
        self.events.append(message)
        print(message)

    def on_train_begin(self, logs=None):
        self.events, self.stopped_at, self.diversity = [], None, []
        self._epoch = 0
        self._reference_diversity = None
        if self.reference is not None:
            ref = np.asarray(self.reference)[: max(self.n_samples, 2)]
            self._reference_diversity = sample_diversity(ref)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        keys = self.loss_keys or [k for k in logs if "loss" in k]
        bad = [
            k
            for k in keys
            if k in logs and not np.isfinite(np.asarray(logs[k], dtype="float64")).all()
        ]
        if bad:
            self.stopped_at = (self._epoch + 1, batch + 1)
            self.model.stop_training = True
            self._report(
                f"GANDiagnostics: {', '.join(f'{k}={float(np.mean(logs[k]))}' for k in bad)} at epoch "
                f"{self._epoch + 1}, step {batch + 1}: stopping training. Roll back to the last "
                "checkpoint (GANCheckpoint does not save epochs with non-finite losses) and lower the "
                "learning rate or check the inputs."
            )

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped_at is not None:
            return
        logs = logs or {}
        real, fake = logs.get("d_acc_real"), logs.get("d_acc_fake")
        if real is not None and fake is not None and min(real, fake) > self.d_acc_threshold:
            self._report(
                f"GANDiagnostics: warning at epoch {epoch + 1}: the discriminator is saturated "
                f"(accuracy {real:.1%} on real, {fake:.1%} on fake). The generator's gradients "
                "vanish when D wins outright; try the non-saturating loss, a smaller D learning "
                "rate, or label smoothing."
            )
        diversity = sample_diversity(self.model.generate(self.n_samples, seed=self.seed))
        self.diversity.append(diversity)
        reference = self._reference_diversity or max(self.diversity)
        if diversity < self.collapse_ratio * reference:
            self._report(
                f"GANDiagnostics: warning at epoch {epoch + 1}: sample diversity fell to "
                f"{diversity / reference:.0%} of the reference ({diversity:.3f} vs {reference:.3f}): "
                "possible mode collapse. Look at the sample grid."
            )
        if self.oscillation_window:
            self._check_oscillation(epoch, reference)

    def _check_oscillation(self, epoch, reference):
        """Warns when the diversity of the last epochs goes up and down by large steps."""
        recent = np.asarray(self.diversity[-self.oscillation_window :])
        if len(recent) < self.oscillation_window or reference <= 0:
            return
        steps = np.diff(recent)  # (window - 1,) change per epoch
        reversals = int(np.sum(steps[1:] * steps[:-1] < 0))  # up-then-down or down-then-up
        possible = len(steps) - 1
        swing = float(np.median(np.abs(steps))) / reference
        # A steady climb (a generator still learning) has no reversals; a settled
        # run reverses often but by small steps. Both together mean oscillation.
        if 2 * reversals >= possible and swing > self.oscillation_ratio:
            self._report(
                f"GANDiagnostics: warning at epoch {epoch + 1}: the samples oscillate: over the "
                f"last {len(recent)} epochs their diversity changed direction {reversals} of "
                f"{possible} times, by a median {swing:.0%} of the reference per epoch (from "
                f"{recent.min():.3f} to {recent.max():.3f}). The game is not settling; lower the "
                "learning rates, and Adam's beta_1 to 0.5."
            )
