import gzip
import pickle

import numpy as np
import pytest

from gancore import data
from gancore.images import check_images


def test_shipped_sample_is_real_mnist_in_tanh_range():
    ds = data.load_dataset("mnist", source="sample", verbose=False)
    assert ds.x_train.shape == (3000, 28, 28, 1) and ds.x_test.shape == (1000, 28, 28, 1)
    assert ds.x_train.dtype == np.float32
    assert ds.x_train.min() == -1.0 and ds.x_train.max() == 1.0
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert "sample" in ds.source


def test_unit_range_scaling():
    ds = data.load_dataset("mnist", source="sample", value_range=(0, 1), verbose=False)
    assert ds.x_test.min() == 0.0 and ds.x_test.max() == 1.0


def test_quick_profile_uses_the_sample(capsys):
    from gancore import config

    config.start_run("quick", verbose=False)
    ds = data.load_dataset("mnist")
    assert "sample" in ds.source
    assert "MNIST sample shipped in gancore" in capsys.readouterr().out


def test_data_dir_holds_the_full_mnist(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 50, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 20, dtype=np.uint8),
    }
    np.savez(tmp_path / "mnist.npz", **arrays)
    monkeypatch.setenv("GANCORE_DATA_DIR", str(tmp_path))
    ds = data.load_dataset("mnist", source="full", verbose=False)
    assert ds.x_train.shape == (50, 28, 28, 1) and ds.source == "mnist.npz in GANCORE_DATA_DIR"
    np.testing.assert_array_equal(ds.y_test, arrays["y_test"])
    np.testing.assert_allclose(ds.x_train[..., 0], arrays["x_train"] / 127.5 - 1, atol=1e-6)


def _write_idx(path, array, offset):
    with gzip.open(path, "wb") as f:
        f.write(b"\0" * offset + array.tobytes())


def test_fashion_mnist_reads_keras_idx_files(tmp_path, monkeypatch):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    y_train = np.arange(6, dtype=np.uint8)
    x_test = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    y_test = np.array([9, 8, 7, 6], dtype=np.uint8)
    _write_idx(folder / "train-images-idx3-ubyte.gz", x_train, 16)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", y_train, 8)
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", x_test, 16)
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_test, 8)
    monkeypatch.setenv("GANCORE_DATA_DIR", str(tmp_path))
    ds = data.load_dataset("fashion_mnist", value_range=(0, 1), verbose=False)
    assert ds.x_train.shape == (6, 28, 28, 1)
    np.testing.assert_array_equal(ds.y_test, y_test)
    np.testing.assert_allclose(ds.x_test[..., 0], x_test / 255.0, atol=1e-6)
    assert ds.class_names[9] == "Ankle boot"


def test_cifar10_reads_keras_pickled_batches(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(2)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
        labels = list(rng.integers(0, 10, 3))
        batches[name] = (images, labels)
        flat = images.transpose(0, 3, 1, 2).reshape(3, -1)  # CIFAR stores planes: R, G, B
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": flat, b"labels": labels}, f)
    monkeypatch.setenv("GANCORE_DATA_DIR", str(tmp_path))
    ds = data.load_dataset("cifar10", value_range=(0, 1), verbose=False)
    assert ds.x_train.shape == (15, 32, 32, 3) and ds.x_test.shape == (3, 32, 32, 3)
    np.testing.assert_allclose(ds.x_test, batches["test_batch"][0] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(ds.y_train[:3], batches["data_batch_1"][1])


def test_missing_file_in_data_dir_names_file_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_DATA_DIR", str(tmp_path))
    with pytest.raises(
        data.DataUnavailableError, match=r"does not hold 'mnist.npz'.*GANCORE_DATA_DIR"
    ):
        data.load_dataset("mnist", source="full")


def test_offline_download_fails_with_a_clear_error(monkeypatch):
    import keras

    def no_network():
        raise OSError("Name or service not known")

    monkeypatch.delenv("GANCORE_DATA_DIR", raising=False)
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", no_network)
    with pytest.raises(data.DataUnavailableError, match=r"download.*failed.*GANCORE_DATA_DIR"):
        data.load_dataset("fashion_mnist")


def test_unknown_dataset_and_sample_of_other_datasets_are_refused():
    with pytest.raises(ValueError, match="Unknown dataset 'celeba'"):
        data.load_dataset("celeba")
    with pytest.raises(ValueError, match="Only MNIST ships a sample"):
        data.load_dataset("cifar10", source="sample")


def test_image_folder_is_cropped_resized_and_scaled(tmp_path):
    from PIL import Image

    (tmp_path / "sub").mkdir()
    Image.new("RGB", (80, 40), (255, 0, 0)).save(tmp_path / "a.png")
    Image.new("RGB", (30, 30), (0, 0, 255)).save(tmp_path / "sub" / "b.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    x = data.load_image_folder(tmp_path, image_size=16)
    assert x.shape == (2, 16, 16, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, 8, 8], [1.0, -1.0, -1.0], atol=0.02)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_image_folder(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="No images"):
        data.load_image_folder(tmp_path)


def test_make_dataset_batches_with_fixed_size():
    x = np.zeros((70, 28, 28, 1), "float32")
    y = np.arange(70)
    batches = list(data.make_dataset(x, y, batch_size=32))
    assert len(batches) == 2 and batches[0][0].shape == (32, 28, 28, 1)


def test_check_images_says_what_was_expected_and_received():
    with pytest.raises(
        ValueError,
        match=r"Expected images in \[-1, 1\] with shape \(batch, 28, 28, 1\)\. Received: shape=\(2, 28, 28\)",
    ):
        check_images(np.zeros((2, 28, 28)), shape=(28, 28, 1))
    with pytest.raises(ValueError, match="dtype=uint8, min=255, max=255"):
        check_images(np.full((2, 28, 28, 1), 255, np.uint8))
    with pytest.raises(ValueError, match="NaN"):
        check_images(np.full((1, 4, 4, 1), np.nan))
    assert check_images(np.zeros((2, 4, 4, 1)), shape=(4, 4, 1)).dtype == np.float32
