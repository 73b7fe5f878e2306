"""Datasets for the chapters: MNIST, Fashion-MNIST, CIFAR-10 and a reader's own images.

Where the data comes from, in order:

1. `source="sample"` (the default in the `quick` profile, MNIST only): a real
   sample of 3,000 training and 1,000 test digits shipped inside the package,
   so tests and CI run offline anywhere.
2. `GANCORE_DATA_DIR`, when set: files in the layout Keras's own download cache
   uses (`mnist.npz`, `fashion-mnist/*.gz`, `cifar-10-batches-py/`).
3. `keras.datasets`, which downloads (on Colab, say).

If none of these works the loader raises `DataUnavailableError` naming the file
it wanted and `GANCORE_DATA_DIR`. It never switches silently to other data, and
it always prints which source it used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import os
import pickle
from pathlib import Path

import numpy as np

from gancore.config import active_profile
from gancore.images import TANH_RANGE, scale_images

DATA_ENV = "GANCORE_DATA_DIR"
SAMPLE_PATH = Path(__file__).parent / "assets" / "mnist_sample.npz"

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion_mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],  # fmt: skip
    "cifar10": [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ],  # fmt: skip
}

# The file each dataset needs under GANCORE_DATA_DIR (Keras's cache layout).
DATA_FILES = {
    "mnist": "mnist.npz",
    "fashion_mnist": "fashion-mnist/",
    "cifar10": "cifar-10-batches-py/",
}


class DataUnavailableError(FileNotFoundError):
    """The dataset is neither in GANCORE_DATA_DIR nor downloadable, or its file there is damaged."""


class _BadFile(Exception):
    """A data file that exists but cannot be used: `file` and what is wrong with it."""

    def __init__(self, file: Path, problem: str):
        super().__init__(f"{file} {problem}")
        self.file, self.problem = file, problem


@contextlib.contextmanager
def _reading(file: Path, what: str):
    """Turns any failure to read `file` (a `what`) into a `_BadFile` naming it."""
    try:
        if file.exists() and file.stat().st_size == 0:
            raise _BadFile(file, "is empty (0 bytes)")
        yield
    except _BadFile:
        raise
    except FileNotFoundError as error:
        raise _BadFile(file, "is missing") from error
    except Exception as error:  # EOFError, BadZipFile, BadGzipFile, UnpicklingError, ...
        raise _BadFile(
            file, f"is not a readable {what} ({type(error).__name__}: {error})"
        ) from error


@dataclasses.dataclass
class ImageDataset:
    """Images as float32 NHWC arrays in `value_range`, integer labels, and where they came from."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    value_range: tuple = TANH_RANGE

    @property
    def class_names(self) -> list[str]:
        return CLASS_NAMES[self.name]

    @property
    def image_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    def __repr__(self) -> str:
        return (
            f"ImageDataset({self.name}: {len(self.x_train)} train + {len(self.x_test)} test images "
            f"of shape {self.image_shape} in {list(self.value_range)}, from {self.source})"
        )


def _read_fashion_mnist(folder: Path):
    def read(stem, offset):
        file = folder / f"{stem}.gz"
        with _reading(file, "gzip file of IDX data"), gzip.open(file, "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)

    def images(stem, labels):
        pixels = read(stem, 16)
        if pixels.size != len(labels) * 28 * 28:
            raise _BadFile(
                folder / f"{stem}.gz",
                f"holds {pixels.size:,} pixels, not the {len(labels):,} images of 28x28 that its "
                "labels file promises (cut short or from another dataset)",
            )
        return pixels.reshape(len(labels), 28, 28)

    y_train = read("train-labels-idx1-ubyte", 8)
    y_test = read("t10k-labels-idx1-ubyte", 8)
    return (
        images("train-images-idx3-ubyte", y_train),
        y_train,
        images("t10k-images-idx3-ubyte", y_test),
        y_test,
    )


def _read_cifar_batch(path: Path):
    with _reading(path, "CIFAR-10 pickle (a dict with b'data' and b'labels')"):
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], dtype=np.uint8)
    if len(labels) != len(data):
        raise _BadFile(path, f"holds {len(data)} images but {len(labels)} labels")
    return data.transpose(0, 2, 3, 1), labels


def _read_cifar10(folder: Path):
    parts = [_read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = _read_cifar_batch(folder / "test_batch")
    return x_train, y_train, x_test, y_test


def _read_npz(path: Path):
    with _reading(path, ".npz archive (Keras's mnist.npz: x_train, y_train, x_test, y_test)"):
        with np.load(path) as d:
            arrays = d["x_train"], d["y_train"], d["x_test"], d["y_test"]
    x_train, y_train, x_test, y_test = arrays
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.dtype != np.uint8 or x.ndim != 3 or len(x) != len(y):
            raise _BadFile(
                path,
                f"holds images of shape {x.shape} and dtype {x.dtype} with {len(y)} labels, "
                "not uint8 images of shape (n, height, width) with n labels",
            )
    return arrays


_READERS = {"mnist": _read_npz, "fashion_mnist": _read_fashion_mnist, "cifar10": _read_cifar10}


def _from_keras(name: str):
    import keras

    loader = {
        "mnist": keras.datasets.mnist,
        "fashion_mnist": keras.datasets.fashion_mnist,
        "cifar10": keras.datasets.cifar10,
    }[name]
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # no network, a proxy, a bad cache: all end here
        raise DataUnavailableError(
            f"Could not load {name!r}: it is not in GANCORE_DATA_DIR (unset) and the download "
            f"through keras.datasets failed ({type(error).__name__}: {error}). Offline, put "
            f"{DATA_FILES[name]!r} in a folder and set {DATA_ENV} to that folder."
        ) from error
    return x_train, y_train.reshape(-1), x_test, y_test.reshape(-1)


def _read_arrays(name: str, source: str):
    """Returns the uint8 arrays and a description of where they came from."""
    if source == "sample":
        if name != "mnist":
            raise ValueError(
                f"Only MNIST ships a sample inside gancore; {name!r} needs source='full' "
                f"(files in {DATA_ENV} or a download)."
            )
        try:
            arrays = _read_npz(SAMPLE_PATH)
        except _BadFile as bad:
            raise DataUnavailableError(
                f"{bad.file} {bad.problem}. It ships with gancore: reinstall the package."
            ) from bad.__cause__
        return arrays, f"the MNIST sample shipped in gancore ({SAMPLE_PATH.name})"
    data_dir = os.environ.get(DATA_ENV)
    if data_dir:
        path = Path(data_dir).expanduser() / DATA_FILES[name]
        if not path.exists():
            raise DataUnavailableError(
                # The folder by its variable, not its value: messages land in notebook outputs.
                f"The folder that {DATA_ENV} names does not hold {DATA_FILES[name]!r}, which {name!r} needs "
                f"(Keras's cache layout). Put the file there, or unset {DATA_ENV} to download it."
            )
        try:
            return _READERS[name](path), f"{DATA_FILES[name]} in {DATA_ENV}"  # no machine path
        except _BadFile as bad:
            raise DataUnavailableError(
                f"{bad.file} {bad.problem}. Replace it with a good copy of {DATA_FILES[name]!r} "
                f"(Keras's cache layout) in {DATA_ENV}={data_dir!r}, or unset {DATA_ENV} to "
                "download it."
            ) from bad.__cause__
    return _from_keras(name), "keras.datasets (download cache)"


def load_dataset(
    name: str = "mnist",
    *,
    source: str = "auto",
    value_range=TANH_RANGE,
    limit: int | None = None,
    verbose: bool = True,
) -> ImageDataset:
    """Loads a dataset as float32 NHWC images in `value_range`.

    Args:
        name: `mnist`, `fashion_mnist` or `cifar10`.
        source: `sample` (the MNIST sample shipped with gancore), `full` (the
            whole dataset from `GANCORE_DATA_DIR` or a download), or `auto`:
            the sample in the `quick` profile when it exists, `full` otherwise.
        value_range: `(-1, 1)` for tanh generators, `(0, 1)` for classifiers
            and VAEs.
        limit: keep only the first `limit` training images (and as many test
            images), for short runs.
        verbose: print which source was used.
    """
    if name not in _READERS:
        raise ValueError(f"Unknown dataset {name!r}. Expected one of {sorted(_READERS)}.")
    if source not in ("auto", "sample", "full"):
        raise ValueError(f"Unknown source {source!r}. Expected 'auto', 'sample' or 'full'.")
    if source == "auto":
        source = "sample" if active_profile() == "quick" and name == "mnist" else "full"
    (x_train, y_train, x_test, y_test), origin = _read_arrays(name, source)
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[:limit], y_test[:limit]
    dataset = ImageDataset(
        name=name,
        x_train=scale_images(x_train, value_range),
        y_train=np.asarray(y_train, dtype="int32").reshape(-1),
        x_test=scale_images(x_test, value_range),
        y_test=np.asarray(y_test, dtype="int32").reshape(-1),
        source=origin,
        value_range=tuple(value_range),
    )
    if verbose:
        print(dataset)
    return dataset


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


# PIL modes of single-channel images (mode "P", a palette, may hold colour).
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def load_image_folder(
    path, image_size: int = 64, value_range=TANH_RANGE, limit: int | None = None
) -> np.ndarray:
    """Loads a folder of the reader's own images (recursively) as RGB float32 NHWC.

    Each image is centre-cropped to a square and resized to `image_size`.
    Files without an image suffix (notes, `.DS_Store`) are skipped.

    Raises:
        FileNotFoundError: the folder is missing or holds no images.
        ValueError: an image file cannot be read, or a greyscale image sits
            among colour ones (the message names the file).
    """
    from PIL import Image

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"Image folder {str(folder)!r} does not exist.")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not files:
        raise FileNotFoundError(
            f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {str(folder)!r}."
        )
    images, grey = [], []
    for file in files:
        try:
            with Image.open(file) as image:
                if image.mode in GREY_MODES:
                    grey.append((file, image.mode))
                images.append(_square_rgb(image, image_size))
        except Exception as error:  # not an image, truncated, an unknown format
            raise ValueError(
                f"{file} is not a readable image ({type(error).__name__}: {error}). "
                f"Remove it from {folder} or replace it."
            ) from error
    if grey and len(grey) < len(files):
        file, mode = grey[0]
        raise ValueError(
            f"{file} is a greyscale image (mode {mode!r}) among {len(files) - len(grey)} colour "
            f"images in {folder} ({len(grey)} greyscale in all). Convert it to RGB or remove it, "
            "so that every image has the same channels."
        )
    print(f"Loaded {len(images)} images of {image_size}x{image_size} from {folder}")
    return scale_images(np.stack(images), value_range)


def _square_rgb(image, size: int) -> np.ndarray:
    """A PIL image centre-cropped to a square, resized to (size, size) RGB, as uint8."""
    from PIL import Image

    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return np.asarray(image.resize((size, size), Image.BICUBIC))


def make_dataset(
    x,
    y=None,
    *,
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int = 0,
    drop_remainder: bool = True,
):
    """A `tf.data` pipeline of batches: cache, shuffle each epoch, batch, prefetch.

    `drop_remainder=True` keeps every batch the same size, so a compiled
    (XLA) train step is traced once.
    """
    import tensorflow as tf

    items = x if y is None else (x, y)
    ds = tf.data.Dataset.from_tensor_slices(items).cache()
    if shuffle:
        ds = ds.shuffle(min(len(x), 10_000), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
