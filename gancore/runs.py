"""Trained models that the chapters hand on to the evaluation chapter.

A chapter that trains a model the book compares calls `save_trained`, which
writes `<GANCORE_OUTPUT_DIR>/trained/<name>.keras` and a JSON record beside it
(profile, device, backend, training time and throughput). The evaluation
chapter reads them back with `load_trained` and scores every model on the same
yardstick.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import keras

from gancore.config import Run, output_dir

FOLDER = "trained"


def save_trained(
    model, name: str, *, run: Run, chapter: str, train_seconds: float, images_seen: int, **details
) -> Path:
    """Saves `model` as `<name>.keras` with a JSON record of how it was trained.

    Args:
        model: the trained model (a GAN, WGAN or VAE: anything with `generate`).
        name: its name in the evaluation table, e.g. `"dcgan"`.
        run: the chapter's `Run` (for profile, device and backend).
        chapter: the chapter that trained it, e.g. `"04_dcgan"`.
        train_seconds: wall time of its `fit` calls.
        images_seen: training images processed (epochs x steps x batch size).
        **details: anything else worth keeping (epochs, width, beta, ...).

    Returns:
        The path of the `.keras` file.
    """
    folder = output_dir(FOLDER)
    path = folder / f"{name}.keras"
    model.save(path)
    record = {
        "name": name,
        "chapter": chapter,
        "class": type(model).__name__,
        "profile": run.profile,
        "device": run.info["device"],
        "backend": run.info["backend"],
        "train_seconds": round(float(train_seconds), 1),
        "images_seen": int(images_seen),
        "images_per_second": round(images_seen / max(train_seconds, 1e-9), 1),
        "saved": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        **details,
    }
    (folder / f"{name}.json").write_text(json.dumps(record, indent=1))
    return path


def trained_record(name: str) -> dict | None:
    """The JSON record of a saved model, or `None` if no chapter saved it."""
    path = output_dir(FOLDER) / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def load_trained(name: str, profile: str | None = None):
    """Loads a model saved by `save_trained`; returns `(model, record)`.

    Args:
        name: the name it was saved under.
        profile: the profile of the run that asks; a `standard` or `full` run
            refuses a model trained in the `quick` profile (a test's leftover).

    Raises:
        FileNotFoundError: naming the folder searched, when no chapter saved it.
        ValueError: when a `standard` or `full` run finds a `quick` model.
    """
    folder = output_dir(FOLDER)
    record = trained_record(name)
    if record is None or not (folder / f"{name}.keras").exists():
        raise FileNotFoundError(
            f"No trained model {name!r} in {folder}: run the chapter that trains it first "
            "(with the same GANCORE_OUTPUT_DIR)."
        )
    if profile not in (None, "quick") and record["profile"] == "quick":
        raise ValueError(
            f"The saved {name!r} was trained in the quick profile (chapter "
            f"{record['chapter']}, {record['saved']}), and this run's profile is {profile!r}. "
            f"Re-run chapter {record['chapter']} in the {profile!r} profile, or delete "
            f"{name}.keras and {name}.json from {folder}."
        )
    import gancore.models  # noqa: F401  registers the model classes the file names

    return keras.models.load_model(folder / f"{name}.keras", safe_mode=True), record
