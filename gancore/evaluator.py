"""The book's fixed MNIST evaluator: a classifier that judges generated digits.

Inception-based scores need a 90 MB network trained on photographs; for MNIST
the usual substitute (TF-GAN's "MNIST classifier score" and "Fréchet classifier
distance") is a small classifier trained once on real digits and then frozen.
Its softmax gives the classifier score and the class coverage, its penultimate
layer the features for the Fréchet distance (`gancore.metrics`).

The weights ship inside the package (`gancore/assets/evaluator.keras`, with
`evaluator.json` recording the test accuracy, date, versions and command), so
loading needs no network. They are produced by one command on full MNIST::

    GANCORE_DATA_DIR=/path/to/data python -m gancore.evaluator train

and `python -m gancore.evaluation_report` prints what they score on real digits.

Inputs are images in [-1, 1] of shape (batch, 28, 28, 1): the convention of
the book's `tanh` generators.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

from gancore.images import TANH_RANGE, UNIT_RANGE, check_images, to_unit_range

PACKAGE_PARENT = Path(__file__).resolve().parent.parent  # the repository, or site-packages
ASSETS = Path(__file__).parent / "assets"
EVALUATOR_PATH = ASSETS / "evaluator.keras"
IMAGE_SHAPE = (28, 28, 1)
TRAIN_COMMAND = "GANCORE_DATA_DIR=/path/to/data python -m gancore.evaluator train"

# The recipe of the shipped weights (see `train`).
EPOCHS = 8
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
SEED = 0


class EvaluatorMissingError(FileNotFoundError):
    """The evaluator's weights file is not where `load_evaluator` looked."""


def shown_path(path) -> str:
    """`path` as printed: relative to the folder holding gancore, else by name (no machine paths)."""
    path = Path(path).resolve()
    if path.is_relative_to(PACKAGE_PARENT):
        return path.relative_to(PACKAGE_PARENT).as_posix()  # e.g. gancore/assets/evaluator.keras
    return path.name


def info_path(path: Path) -> Path:
    """The JSON record that sits beside a weights file (`evaluator.keras` -> `evaluator.json`)."""
    return Path(path).with_suffix(".json")


@dataclasses.dataclass(eq=False)
class Evaluator:
    """A frozen MNIST classifier with the two read-outs the metrics need.

    Attributes:
        model: the classifier, images in [0, 1] -> class probabilities.
        info: the record written beside the weights (test accuracy, date, ...).
        path: where the weights were loaded from.
    """

    model: object
    info: dict
    path: Path | None = None

    def __post_init__(self):
        import keras

        self.readout = keras.Model(
            self.model.input,
            [self.model.get_layer("features").output, self.model.output],
            name="evaluator_readout",
        )

    @property
    def feature_dim(self) -> int:
        return int(self.model.get_layer("features").output.shape[-1])

    @property
    def num_classes(self) -> int:
        return int(self.model.output.shape[-1])

    @property
    def test_accuracy(self) -> float | None:
        """The MNIST test accuracy recorded when the weights were trained."""
        return self.info.get("test_accuracy")

    def features_and_probabilities(self, images, batch_size: int = 500):
        """Penultimate-layer features (n, feature_dim) and probabilities (n, num_classes).

        Args:
            images: (n, 28, 28, 1) array in [-1, 1].
            batch_size: images per forward pass.
        """
        images = check_images(images, TANH_RANGE, IMAGE_SHAPE, name="images for the evaluator")
        unit = to_unit_range(images, TANH_RANGE)  # the classifier works in [0, 1]
        features, probs = [], []
        for start in range(0, len(unit), batch_size):
            f, p = self.readout(unit[start : start + batch_size], training=False)
            features.append(np.asarray(f))
            probs.append(np.asarray(p))
        return np.concatenate(features).astype("float64"), np.concatenate(probs).astype("float64")

    def features(self, images, batch_size: int = 500) -> np.ndarray:
        """Penultimate-layer activations, shape (n, feature_dim), for the Fréchet distance."""
        return self.features_and_probabilities(images, batch_size)[0]

    def probabilities(self, images, batch_size: int = 500) -> np.ndarray:
        """Softmax class probabilities, shape (n, num_classes), for the classifier score."""
        return self.features_and_probabilities(images, batch_size)[1]

    def accuracy(self, images, labels) -> float:
        """The fraction of `images` (in [-1, 1]) classified as their `labels`."""
        predicted = self.probabilities(images).argmax(axis=1)
        return float(np.mean(predicted == np.asarray(labels).reshape(-1)))

    def __repr__(self) -> str:
        accuracy = self.test_accuracy
        recorded = f"{accuracy:.2%} MNIST test accuracy" if accuracy is not None else "no record"
        return (
            f"Evaluator({self.model.name}, {self.model.count_params():,} parameters, "
            f"{self.feature_dim}-d features, {recorded}, "
            f"from {shown_path(self.path) if self.path else 'memory'})"
        )


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> Evaluator:
    import keras

    if not path.exists():
        raise EvaluatorMissingError(
            f"The evaluator's weights are not at {str(path)!r}. They ship with gancore; "
            f"rebuild them with `{TRAIN_COMMAND}` (needs full MNIST), or reinstall gancore."
        )
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    model.trainable = False
    record = info_path(path)
    info = json.loads(record.read_text()) if record.exists() else {}
    return Evaluator(model=model, info=info, path=path)


def load_evaluator(path=None) -> Evaluator:
    """Loads the evaluator shipped with gancore (no network needed).

    The same object is returned on every call with the same path, so metrics
    can cache results per evaluator.

    Args:
        path: a `.keras` file written by `train`; default: the shipped one.

    Raises:
        EvaluatorMissingError: the file does not exist.
    """
    return _load(Path(path or EVALUATOR_PATH).resolve())


def train(
    path=EVALUATOR_PATH,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
    learning_rate: float = LEARNING_RATE,
    seed: int = SEED,
    verbose: int = 2,
) -> dict:
    """Trains the evaluator on the 60,000 MNIST training digits and writes its files.

    The recipe is fixed (no validation split, no early stopping: the test set is
    looked at once, at the end). Writes `path` (the classifier without its
    optimizer state) and the JSON record beside it, and returns the record.
    """
    import keras

    from gancore.config import _versions, device_name, seed_everything
    from gancore.data import load_dataset
    from gancore.models.classifier import compile_classifier, conv_classifier

    seed_everything(seed)
    data = load_dataset("mnist", source="full", value_range=UNIT_RANGE)
    steps = epochs * (len(data.x_train) // batch_size)
    model = compile_classifier(
        conv_classifier(IMAGE_SHAPE, 10, name="mnist_evaluator"),
        learning_rate=learning_rate,
        decay_steps=steps,
        jit_compile=True,
    )
    started = time.perf_counter()
    model.fit(
        data.x_train, data.y_train, batch_size=batch_size, epochs=epochs, shuffle=True,
        verbose=verbose,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    test_loss, test_accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)
    print(f"MNIST test accuracy: {test_accuracy:.4f} (test loss {test_loss:.4f})")

    # Ship the weights only: a fresh, uncompiled copy has no optimizer state.
    shipped = conv_classifier(IMAGE_SHAPE, 10, name="mnist_evaluator")
    shipped.set_weights(model.get_weights())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shipped.save(path)
    record = {
        "test_accuracy": round(float(test_accuracy), 4),
        "test_loss": round(float(test_loss), 4),
        "train_images": int(len(data.x_train)),
        "test_images": int(len(data.x_test)),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "parameters": int(shipped.count_params()),
        "input": "images in [-1, 1], shape (batch, 28, 28, 1); the model itself takes [0, 1]",
        "features": "output of layer 'features' (penultimate, after ReLU)",
        "train_seconds": round(seconds),
        "device": device_name(),
        "backend": keras.backend.backend(),
        "versions": _versions(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m gancore.evaluator train",
        "data": data.source,
    }
    info_path(path).write_text(json.dumps(record, indent=2) + "\n")
    _load.cache_clear()
    print(
        f"Wrote {shown_path(path)} ({path.stat().st_size / 1e6:.2f} MB) and {info_path(path).name}"
    )
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Retrains the book's MNIST evaluator. "
        "What it scores on real digits: python -m gancore.evaluation_report."
    )
    parser.add_argument("command", choices=["train"])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs")
    parser.add_argument("--out", default=str(EVALUATOR_PATH), help="the .keras file to write")
    args = parser.parse_args(argv)
    train(path=args.out, epochs=args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
