"""Run profiles, seeding and provenance: the only global knobs of the book.

Every chapter starts with::

    RUN = gancore.start_run(PROFILE, seed=SEED)

which resolves the profile, seeds every random number generator and prints
what produced the outputs below it (profile, backend, device, versions, time).
Hyper-parameters that depend on the profile are then read with
`by_profile(quick=..., standard=..., full=...)`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import platform
import random
import time
from pathlib import Path

import numpy as np

PROFILES = ("quick", "standard", "full")
PROFILE_ENV = "GANCORE_PROFILE"
OUTPUT_ENV = "GANCORE_OUTPUT_DIR"

_active_profile: str | None = None


def _check_profile_name(name: str) -> str:
    name = name.strip().lower()
    if name not in PROFILES + ("auto",):
        raise ValueError(
            f"Unknown run profile {name!r}. Expected one of 'quick', 'standard', 'full' or 'auto' "
            f"(set by the argument or the {PROFILE_ENV} environment variable)."
        )
    return name


def gpu_available() -> bool:
    """Whether the active Keras backend sees a GPU."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    try:
        if backend == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
        if backend == "torch":
            import torch

            return torch.cuda.is_available()
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    except ImportError:
        return False


def resolve_profile(name: str | None = None) -> str:
    """Returns the run profile: `quick`, `standard` or `full`.

    Args:
        name: `quick`, `standard`, `full` or `auto`. `None` reads the
            `GANCORE_PROFILE` environment variable, and `auto` when that is
            unset too. `auto` means `full` on a GPU and `standard` otherwise.
    """
    chosen = _check_profile_name(name or os.environ.get(PROFILE_ENV) or "auto")
    if chosen == "auto":
        chosen = "full" if gpu_available() else "standard"
    return chosen


def active_profile() -> str:
    """The profile set by the last `start_run`, else the resolved default."""
    return _active_profile or resolve_profile()


def by_profile(*, quick, standard, full, profile: str | None = None):
    """Picks the value for the active profile: `EPOCHS = by_profile(quick=1, standard=5, full=50)`."""
    values = {"quick": quick, "standard": standard, "full": full}
    return values[_check_profile_name(profile) if profile else active_profile()]


def seed_everything(seed: int) -> None:
    """Seeds Python, NumPy and the Keras backend from one integer."""
    import keras

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- seeds the global state that user code draws from
    keras.utils.set_random_seed(seed)


def device_name() -> str:
    """A short description of the device the backend computes on."""
    if not gpu_available():
        return f"CPU ({os.cpu_count()} cores, {platform.machine()})"
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpu = tf.config.list_physical_devices("GPU")[0]
            details = tf.config.experimental.get_device_details(gpu)
            return f"GPU ({details.get('device_name', gpu.name)})"
        if backend == "torch":
            import torch

            return f"GPU ({torch.cuda.get_device_name(0)})"
        import jax

        return f"GPU ({jax.devices()[0].device_kind})"
    except Exception:  # a description only; never fail a run over it
        return "GPU"


def _versions() -> dict[str, str]:
    import keras

    from gancore import __version__

    versions = {"gancore": __version__, "keras": keras.__version__}
    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    if module:
        versions[module] = __import__(module).__version__
    versions["python"] = platform.python_version()
    return versions


def provenance(profile: str | None = None, seed: int | None = None) -> dict:
    """What produced a run's outputs: profile, seed, backend, device, versions, start time."""
    import keras

    return {
        "profile": profile or active_profile(),
        "seed": seed,
        "backend": keras.backend.backend(),
        "device": device_name(),
        "versions": _versions(),
        "started": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


@dataclasses.dataclass
class Run:
    """The settings and clock of one chapter run, returned by `start_run`."""

    profile: str
    seed: int
    info: dict
    started_at: float = dataclasses.field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        """Seconds since `start_run`."""
        return time.perf_counter() - self.started_at

    def output_dir(self, name: str) -> Path:
        """A folder for this chapter's files (samples, checkpoints, saved models)."""
        return output_dir(name)

    def finish(self) -> None:
        """Prints the wall time, so the last cell of a chapter records how long it took."""
        minutes, seconds = divmod(self.elapsed(), 60)
        print(f"Wall time: {int(minutes)} min {seconds:.0f} s")
        print(f"Profile: {self.profile} | {self.info['device']} | {self.info['backend']} backend")


def output_dir(name: str) -> Path:
    """`$GANCORE_OUTPUT_DIR/name` (default `outputs/name`), created if missing."""
    path = Path(os.environ.get(OUTPUT_ENV, "outputs")) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_run(profile: str | None = None, seed: int = 42, verbose: bool = True) -> Run:
    """Resolves the profile, seeds everything and prints provenance.

    Args:
        profile: `quick`, `standard`, `full`, `auto` or `None` (see
            `resolve_profile`).
        seed: the one seed of the run.
        verbose: print the provenance lines.

    Returns:
        A `Run` with the resolved `profile`, the `seed` and the provenance
        `info`; call `run.finish()` in the last cell.
    """
    global _active_profile
    _active_profile = resolve_profile(profile)
    seed_everything(seed)
    run = Run(profile=_active_profile, seed=seed, info=provenance(_active_profile, seed))
    if verbose:
        info = run.info
        versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        print(f"Profile: {info['profile']} | seed {seed} | backend {info['backend']}")
        print(f"Device: {info['device']}")
        print(f"Versions: {versions}")
        print(f"Started: {info['started']}")
    return run
