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
import os
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


# A file being written gets this prefix; `os.replace` then gives it its real name.
_PARTIAL = ".partial-"


def _write_atomically(path: Path, write) -> None:
    """Calls `write(temporary_path)`, flushes it to disk, then renames it to `path`.

    The rename is atomic within a folder, so a reader sees the old file or the
    whole new one, never half a file, even if the process is killed mid-write.
    """
    partial = path.with_name(_PARTIAL + path.name)  # same folder, same suffix
    write(partial)
    with open(partial, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(partial, path)


def _fsync_folder(folder: Path) -> None:
    """Makes the renames in `folder` durable (POSIX; skipped where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _first_line(error: Exception, limit: int = 160) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else ""
    return f"{type(error).__name__}: {line[:limit]}"


class GANCheckpoint(keras.callbacks.Callback):
    """Saves everything a resumed `fit` needs, every epoch, keeping the last `keep`.

    Each checkpoint is `epoch_NNN.keras` (both networks, both optimizers with
    their iterations and moments, the random-number generators' states),
    `epoch_NNN.npz` (the sample grid's fixed noise, if any) and
    `epoch_NNN.json` (the epoch, the logs, the other files' sizes). Each file
    is written under a temporary name and renamed into place, the `.json`
    last: a checkpoint counts only once its `.json` is there, so a run killed
    mid-save leaves the previous checkpoint as the newest. `resume()` skips,
    with a one-line warning, a newest checkpoint that is incomplete or
    unreadable and loads the newest good one.

    Divergence guard: an epoch whose logged losses are NaN, inf or larger in
    size than `max_loss`, or whose samples are all identical (the generator
    ignores its noise, e.g. saturated at one value) or non-finite, is not
    saved, and training stops with a message naming what was wrong. The
    newest checkpoint is then the last good epoch.

    Args:
        directory: folder of the checkpoints.
        keep: how many of the newest checkpoints to keep; older ones are
            deleted (a run that collapses late can roll back that far).
        every: save every this many epochs.
        sample_grid: a `SampleGrid` whose fixed noise is saved and restored.
        max_loss: the largest |loss| (every logged key with `loss` in its
            name) that counts as healthy. The default, 1e6, is far above any
            sane run: GAN losses are of order 1 to 10, a VAE's nats per
            image about 100 on MNIST and under 10,000 even for 64x64 RGB
            images at the start; `None` turns the bound off.
        check_samples: before each save, generate 16 samples and refuse to
            save when they are all identical or not finite.
    """

    def __init__(
        self,
        directory,
        keep: int = 3,
        every: int = 1,
        sample_grid: SampleGrid | None = None,
        max_loss: float | None = 1e6,
        check_samples: bool = True,
    ):
        super().__init__()
        if keep < 1:
            raise ValueError(f"Expected keep >= 1 (checkpoints to keep). Received: keep={keep}.")
        self.directory = Path(directory)
        self.keep = keep
        self.every = every
        self.sample_grid = sample_grid
        self.max_loss = max_loss
        self.check_samples = check_samples
        self.initial_epoch = 0

    def _stems(self) -> list[Path]:
        """`epoch_NNN` of every checkpoint file in the folder, complete or not, oldest first."""
        files = self.directory.glob("epoch_*.*")
        stems = {p.with_suffix("") for p in files if p.suffix in (".keras", ".json", ".npz")}
        return sorted((p for p in stems if re.fullmatch(r"epoch_\d+", p.name)), key=_epoch_of)

    @property
    def checkpoints(self) -> list[Path]:
        """The complete checkpoints (`.keras` with its `.json`) as `.keras` paths, oldest first."""
        return [
            stem.with_suffix(".keras")
            for stem in self._stems()
            if stem.with_suffix(".keras").exists() and stem.with_suffix(".json").exists()
        ]

    @property
    def latest(self) -> Path | None:
        """The newest complete checkpoint, or `None`."""
        return self.checkpoints[-1] if self.checkpoints else None

    # -- saving -------------------------------------------------------------------

    def on_epoch_end(self, epoch, logs=None):
        due = (epoch + 1) % self.every == 0
        problem = self.divergence(logs or {}, samples=due and self.check_samples)
        if problem:
            self.model.stop_training = True
            latest = self.latest.name if self.latest else "none yet"
            print(
                f"GANCheckpoint: not saving epoch {epoch + 1} and stopping training: {problem}. "
                f"Newest checkpoint: {latest}."
            )
            return
        if due:
            self.save(epoch + 1, logs)

    def divergence(self, logs, samples: bool = True) -> str | None:
        """What is wrong with an epoch (non-finite or exploded losses, constant samples), or `None`."""
        values = {k: np.asarray(v, dtype="float64") for k, v in logs.items()}
        bad = sorted(k for k, v in values.items() if not np.isfinite(v).all())
        if bad:
            return f"non-finite {', '.join(f'{k}={float(np.mean(values[k]))}' for k in bad)}"
        if self.max_loss is not None:
            big = sorted(
                k for k, v in values.items() if "loss" in k and np.abs(v).max() > self.max_loss
            )
            if big:
                shown = ", ".join(f"{k}={float(np.mean(values[k])):.3g}" for k in big)
                return f"{shown} above max_loss={self.max_loss:g} (diverged)"
        if samples and hasattr(self.model, "generate"):
            return self._sample_problem(np.asarray(self.model.generate(16, seed=0)))
        return None

    @staticmethod
    def _sample_problem(samples) -> str | None:
        if not np.isfinite(samples).all():
            return "the generated samples contain NaN or inf"
        if np.ptp(samples, axis=0).max() <= 1e-6:  # the same output whatever the noise
            value = f", every value {samples.flat[0]:.3g}" if np.ptp(samples) <= 1e-6 else ""
            return f"all {len(samples)} generated samples are identical{value} (collapsed)"
        return None

    def save(self, epoch: int, logs=None) -> Path:
        """Writes the checkpoint of `epoch` (epochs completed) and prunes old ones."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = self.directory / f"epoch_{epoch:03d}"
        # Un-mark an older checkpoint of this epoch first, so that its .json never
        # vouches for a newer .keras.
        stem.with_suffix(".json").unlink(missing_ok=True)
        _write_atomically(stem.with_suffix(".keras"), self.model.save)
        files = [stem.with_suffix(".keras")]
        if self.sample_grid is not None and self.sample_grid.noise is not None:
            noise = self.sample_grid.noise
            _write_atomically(stem.with_suffix(".npz"), lambda p: np.savez(p, noise=noise))
            files.append(stem.with_suffix(".npz"))
        state = {
            "epoch": epoch,
            "logs": {k: float(np.mean(v)) for k, v in (logs or {}).items()},
            "bytes": {f.suffix: f.stat().st_size for f in files},
        }
        # Last: the .json is what makes the checkpoint count.
        _write_atomically(
            stem.with_suffix(".json"), lambda p: p.write_text(json.dumps(state, indent=1))
        )
        _fsync_folder(self.directory)
        self._prune(epoch)
        return stem.with_suffix(".keras")

    def _prune(self, epoch: int) -> None:
        """Deletes all but the newest `keep` complete checkpoints, and leftovers of killed saves."""
        kept = {p.with_suffix("") for p in self.checkpoints[-self.keep :]}
        for stem in self._stems():
            if stem not in kept and _epoch_of(stem) <= epoch:
                for suffix in (".json", ".keras", ".npz"):  # the .json first: un-mark, then delete
                    stem.with_suffix(suffix).unlink(missing_ok=True)
        for partial in self.directory.glob(_PARTIAL + "epoch_*"):
            partial.unlink(missing_ok=True)

    # -- resuming -----------------------------------------------------------------

    def _load(self, stem: Path):
        """`(model, epoch, noise)` of a checkpoint, or a string saying what is wrong with it."""
        keras_file, json_file, npz_file = (stem.with_suffix(s) for s in (".keras", ".json", ".npz"))
        if not keras_file.exists():
            return f"{keras_file.name} is missing"
        if not json_file.exists():
            return f"{json_file.name} is missing (the save was interrupted)"
        try:
            state = json.loads(json_file.read_text())
            for suffix, size in state.get("bytes", {}).items():
                actual = stem.with_suffix(suffix).stat().st_size
                if actual != size:
                    return f"{stem.name}{suffix} has {actual:,} bytes, not the {size:,} saved"
            model = keras.models.load_model(keras_file, safe_mode=True)
            noise = None
            if npz_file.exists():
                with np.load(npz_file) as saved:
                    noise = saved["noise"]
            return model, int(state["epoch"]), noise
        except Exception as error:  # any damage: a truncated zip, bad JSON, a missing key
            return f"it cannot be read ({_first_line(error)})"

    def resume(self, model, path=None):
        """Loads the newest good (or the given) checkpoint, if there is one.

        Without `path`, a newest checkpoint that is incomplete (a save was
        killed) or unreadable is skipped with a one-line warning naming it,
        and the one before it is tried, and so on.

        Returns:
            `(model, initial_epoch)`: the loaded model (compiled, optimizers
            restored) and the epoch to pass to `fit(initial_epoch=...)`; or
            the given `model` and 0 when there is nothing to resume.

        Raises:
            ValueError: `path` cannot be loaded, or the folder holds
                checkpoint files but none that can be loaded.
        """
        import gancore.models  # noqa: F401  (registers the model classes for loading)

        if path is not None:
            chosen = Path(path).with_suffix("")
            loaded = self._load(chosen)
            if isinstance(loaded, str):
                raise ValueError(f"Cannot resume from {str(path)!r}: {loaded}.")
        else:
            loaded, skipped = None, []
            for chosen in reversed(self._stems()):
                loaded = self._load(chosen)
                if not isinstance(loaded, str):
                    break
                print(f"GANCheckpoint: skipping {chosen.name}: {loaded}.")
                skipped.append(chosen.name)
                loaded = None
            if loaded is None and not skipped:
                self.initial_epoch = 0
                return model, 0
            if loaded is None:
                raise ValueError(
                    f"No readable checkpoint in {str(self.directory)!r}: {', '.join(skipped)} "
                    "are all damaged or incomplete (see above). Delete the folder to start over."
                )
        loaded_model, self.initial_epoch, noise = loaded
        if self.sample_grid is not None and noise is not None:
            self.sample_grid.noise = noise
        print(f"Resumed from {chosen.name}.keras: continuing at epoch {self.initial_epoch + 1}.")
        return loaded_model, self.initial_epoch


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
