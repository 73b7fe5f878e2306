"""The fault suite: what each model and loader says when fed bad data, and torn checkpoints.

Each test feeds what people really feed (images in [0, 255], NaN, a missing
channel axis, a damaged file, a run killed mid-save) and asserts part of the
message the user then sees. Tiny networks, batches of 8: seconds in all,
except the one test that SIGKILLs a real training process.
"""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gancore import data
from gancore.callbacks import GANCheckpoint
from gancore.images import check_dataset
from gancore.models import networks
from gancore.models.gan import GAN
from gancore.models.vae import VAE, ConditionalVAE, build_decoder, build_encoder
from gancore.models.wgan import WGAN

ROOT = Path(__file__).resolve().parent.parent
BATCH = 8
LATENT = 4


def unit_images(n=2 * BATCH, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 28, 28, 1)).astype("float32")


def with_nan_in_second_batch(x):
    x = x.copy()
    x[BATCH + 3, 5, 5, 0] = np.nan
    return x


def batches(x, *more):
    return tf.data.Dataset.from_tensor_slices(x if not more else (x, *more)).batch(BATCH)


# The models run eagerly (no tracing: the tests take seconds); one test runs compiled,
# where TensorFlow reports a bad batch from inside the graph.
def small_vae(seed=1, run_eagerly=True):
    keras.utils.set_random_seed(0)
    model = VAE(build_encoder(2, hidden_units=8), build_decoder(2, hidden_units=8), seed=seed)
    model.compile(optimizer="adam", run_eagerly=run_eagerly)
    return model


def small_cvae():
    keras.utils.set_random_seed(0)
    model = ConditionalVAE(
        build_encoder(2, num_classes=10, hidden_units=8),
        build_decoder(2, num_classes=10, hidden_units=8),
        seed=2,
    )
    model.compile(optimizer="adam", run_eagerly=True)
    return model


def small_gan():
    keras.utils.set_random_seed(0)
    model = GAN(
        networks.dcgan_generator(latent_dim=LATENT, width=8), networks.dcgan_discriminator(width=8)
    )
    model.compile(run_eagerly=True)
    return model


def small_wgan():
    keras.utils.set_random_seed(0)
    critic = networks.dcgan_discriminator(width=8, batch_norm=False)
    model = WGAN(networks.dcgan_generator(latent_dim=LATENT, width=8), critic, n_critic=2)
    model.compile(run_eagerly=True)
    return model


# -- 1. the VAE refuses images outside [0, 1], NaN, and a missing channel axis ----------

UNIT = r"Expected images in \[0, 1\] with shape \(batch, 28, 28, 1\)\. "


@pytest.mark.parametrize(
    "transform, received",
    [
        (lambda x: x * 255, r"Received: shape=\(16, 28, 28, 1\), dtype=float32, min=0.*max=25\d"),
        (lambda x: 2 * x - 1, r"Received: shape=\(16, 28, 28, 1\), dtype=float32, min=-0\.9"),
        (
            lambda x: with_nan_in_second_batch(x),
            r"Received: shape=\(16, 28, 28, 1\), dtype=float32, min=0.*max=0.9.*"
            r"\(contains NaN or inf: 1 of 12,544 values\)",
        ),
        (lambda x: x[..., 0], r"Received: shape=\(16, 28, 28\).*Add the channel axis"),
    ],
    ids=["0-255", "minus1-1", "nan", "no-channel-axis"],
)
def test_vae_fit_and_evaluate_refuse_bad_arrays(transform, received):
    model, bad = small_vae(), transform(unit_images())
    with pytest.raises(ValueError, match=UNIT + received):
        model.fit(bad, batch_size=BATCH, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=UNIT + received):
        model.evaluate(bad, batch_size=BATCH, verbose=0)
    assert int(model.optimizer.iterations) == 0  # refused before any step


def test_vae_refuses_bad_validation_data():
    with pytest.raises(ValueError, match=UNIT + r".*max=25\d"):
        small_vae().fit(unit_images(), epochs=1, verbose=0, validation_data=unit_images() * 255)


def test_vae_refuses_datasets_out_of_range_with_nan_later_or_without_channel_axis():
    model = small_vae(run_eagerly=False)  # compiled: the error comes from inside the graph
    with pytest.raises(ValueError, match=UNIT + r"Received: a batch of shape=\(8, 28, 28, 1\)"):
        model.fit(batches(unit_images() * 255), epochs=1, verbose=0)
    # The NaN is in the second batch: the check runs on every batch, not just the first.
    with pytest.raises(ValueError, match=UNIT + r".*\(contains NaN or inf: 1 of 6272 values\)"):
        model.fit(batches(with_nan_in_second_batch(unit_images())), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=UNIT + r"Received: a tf.data.Dataset of batches of "
                       r"shape=\(None, 28, 28\).*Add the channel axis"):  # fmt: skip
        model.fit(batches(unit_images()[..., 0]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=UNIT + r".*max=25\d"):
        model.evaluate(batches(unit_images() * 255), verbose=0)


def test_conditional_vae_refuses_bad_images_as_arrays_and_datasets():
    model, labels = small_cvae(), np.arange(2 * BATCH) % 10
    with pytest.raises(ValueError, match=UNIT + r".*max=25\d"):
        model.fit(unit_images() * 255, labels, batch_size=BATCH, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=UNIT + r".*\(contains NaN or inf: 1 of 6272 values\)"):
        model.fit(batches(with_nan_in_second_batch(unit_images()), labels), epochs=1, verbose=0)
    model.fit(batches(unit_images(), labels), epochs=1, verbose=0)  # good data still trains


# -- 2. GAN and WGAN check a tf.data dataset's values, not just its shape ------------------

TANH = r"Expected real images in \[-1, 1\] with shape \(batch, 28, 28, 1\)\. "


@pytest.mark.parametrize("make", [small_gan, small_wgan], ids=["gan", "wgan"])
def test_gan_and_wgan_refuse_datasets_out_of_range_or_with_nan(make):
    model = make()
    with pytest.raises(ValueError, match=TANH + r"Received: a batch of shape=\(8, 28, 28, 1\), "
                       r"dtype=float32, min=0.*max=25\d.*load_dataset\(value_range=\(-1, 1\)\)"):  # fmt: skip
        model.fit(batches(unit_images() * 255), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=TANH + r".*\(contains NaN or inf: 1 of 6272 values\)"):
        model.fit(batches(with_nan_in_second_batch(2 * unit_images() - 1)), epochs=1, verbose=0)
    model.fit(batches(2 * unit_images() - 1), epochs=1, verbose=0)  # good data still trains


def test_gan_on_points_refuses_nan_but_takes_any_range():
    gan, x = toy_gan(), 5 * points()  # beyond [-1, 1]: fine, these are not images
    gan.fit(batches(x), epochs=1, verbose=0)
    x[12] = np.inf
    with pytest.raises(ValueError, match=r"Expected real samples with shape \(batch, 2\)\. .*"
                       r"\(contains NaN or inf: 2 of 16 values\)"):  # fmt: skip
        gan.fit(batches(x), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"Received: shape=\(16, 2\).*NaN or inf: 2 of 32 values"):
        gan.fit(x, batch_size=BATCH, epochs=1, verbose=0)


def test_the_dataset_check_keeps_every_batch_and_the_shuffled_order():
    x = 2 * unit_images(64) - 1

    def pipeline():
        return tf.data.Dataset.from_tensor_slices(x).shuffle(64, seed=3).batch(BATCH)

    plain, checked = pipeline(), check_dataset(pipeline(), shape=(28, 28, 1))
    for _ in range(2):  # two epochs: each reshuffles, in step with the unchecked pipeline
        for a, b in zip(plain, checked, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


# -- 3. every model with a SeedGenerator saves its state --------------------------------


def test_vae_random_number_state_survives_a_keras_round_trip(tmp_path):
    model = small_vae()
    x = unit_images()
    model.fit(x, batch_size=BATCH, epochs=1, verbose=0)  # advances both generators
    states = [np.array(model.binarize_seed.state), np.array(model.sampler.seed_generator.state)]
    assert states[0].any() and states[1].any()  # not at their initial values
    model.save(tmp_path / "vae.keras")
    loaded = keras.models.load_model(tmp_path / "vae.keras")
    np.testing.assert_array_equal(loaded.binarize_seed.state, states[0])
    np.testing.assert_array_equal(loaded.sampler.seed_generator.state, states[1])
    # The same noise next: an evaluation draws the same binarization and z in both.
    assert loaded.evaluate(x, batch_size=2 * BATCH, verbose=0) == model.evaluate(
        x, batch_size=2 * BATCH, verbose=0
    )


def test_a_resumed_vae_trains_exactly_like_an_uninterrupted_one(tmp_path):
    x = unit_images()
    uninterrupted = small_vae()
    uninterrupted.fit(x, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    ckpt = GANCheckpoint(tmp_path)
    small_vae().fit(x, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[ckpt])
    resumed, initial_epoch = ckpt.resume(small_vae())
    resumed.fit(
        x, batch_size=BATCH, epochs=2, initial_epoch=initial_epoch, shuffle=False, verbose=0
    )
    for a, b in zip(uninterrupted.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # same noise drawn after the resume: bit-identical


def test_wgan_and_conditional_vae_keep_their_random_number_state(tmp_path):
    wgan, cvae = small_wgan(), small_cvae()
    generators = [wgan.seed_generator, cvae.binarize_seed, cvae.sampler.seed_generator]
    for i, generator in enumerate(generators):
        generator.state.assign(np.array([7 + i, 11], "uint32"))  # as if trained a while
    wgan.save(tmp_path / "wgan.keras")
    cvae.save(tmp_path / "cvae.keras")
    wgan = keras.models.load_model(tmp_path / "wgan.keras")
    cvae = keras.models.load_model(tmp_path / "cvae.keras")
    loaded = [wgan.seed_generator, cvae.binarize_seed, cvae.sampler.seed_generator]
    for i, generator in enumerate(loaded):
        np.testing.assert_array_equal(generator.state, [7 + i, 11])


# -- 4. a torn checkpoint loses nothing -------------------------------------------------


@pytest.fixture(scope="module")
def trained_checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    ckpt = GANCheckpoint(folder, keep=3)
    small_gan().fit(2 * unit_images() - 1, batch_size=BATCH, epochs=2, verbose=0, callbacks=[ckpt])
    assert [p.name for p in ckpt.checkpoints] == ["epoch_001.keras", "epoch_002.keras"]
    return folder


@pytest.fixture
def two_checkpoints(trained_checkpoints, tmp_path):
    """A fresh copy of two good checkpoints (epochs 1 and 2), for a test to damage."""
    return Path(shutil.copytree(trained_checkpoints, tmp_path / "checkpoints"))


@pytest.mark.parametrize(
    "damage, warning",
    [
        (lambda d: (d / "epoch_002.json").unlink(), "epoch_002.json is missing (the save was interrupted)"),
        (lambda d: (d / "epoch_002.keras").unlink(), "epoch_002.keras is missing"),
        (lambda d: os.truncate(d / "epoch_002.keras", 100), "epoch_002.keras has 100 bytes, not the"),
        (lambda d: (d / "epoch_002.json").write_text('{"epo'), "it cannot be read (JSONDecodeError"),
    ],
    ids=["no-json", "no-keras", "truncated-keras", "bad-json"],
)  # fmt: skip
def test_resume_skips_a_damaged_newest_checkpoint_with_a_warning(
    two_checkpoints, damage, warning, capsys
):
    damage(two_checkpoints)
    model, initial_epoch = GANCheckpoint(two_checkpoints).resume(small_gan())
    out = capsys.readouterr().out
    assert f"GANCheckpoint: skipping epoch_002: {warning}" in out
    assert "Resumed from epoch_001.keras: continuing at epoch 2." in out
    assert initial_epoch == 1 and int(model.g_optimizer.iterations) == 2


def test_resume_with_no_readable_checkpoint_raises_a_clear_error(two_checkpoints):
    for name in ("epoch_001.keras", "epoch_002.keras"):
        os.truncate(two_checkpoints / name, 10)
    with pytest.raises(
        ValueError, match="No readable checkpoint in .*epoch_002, epoch_001 are all"
    ):
        GANCheckpoint(two_checkpoints).resume(small_gan())
    with pytest.raises(ValueError, match="Cannot resume from .*epoch_001.keras.*has 10 bytes"):
        GANCheckpoint(two_checkpoints).resume(small_gan(), path=two_checkpoints / "epoch_001.keras")


def toy_gan():
    """A GAN on 2-D points with one hidden layer of 8: the cheapest model that saves like any."""
    keras.utils.set_random_seed(0)
    gan = GAN(
        networks.mlp_generator(
            LATENT, output_shape=(2,), hidden_units=(8,), output_activation=None
        ),
        networks.mlp_discriminator((2,), hidden_units=(8,)),
    )
    gan.compile(run_eagerly=True)  # no tracing: seconds count in the killed child
    return gan


def points(n=2 * BATCH):
    return np.random.default_rng(0).normal(0, 1, (n, 2)).astype("float32")


_KILLED_CHILD = """
import os, sys, time
from gancore import callbacks
from tests.test_faults import points, toy_gan

replace = os.replace

def replace_then_hang(source, target):
    if str(target).endswith(KILL_BEFORE):
        print("SAVING", flush=True)  # the parent kills us here, mid-save
        time.sleep(600)
    replace(source, target)

callbacks.os.replace = replace_then_hang
toy_gan().fit(points(), batch_size=8, epochs=3, verbose=0, callbacks=[callbacks.GANCheckpoint(sys.argv[1])])
"""


def test_a_training_process_killed_mid_save_resumes_from_the_last_whole_checkpoint(
    tmp_path, capsys
):
    # Epoch 2's .keras is in place and its .json about to be renamed when SIGKILL
    # arrives: the torn state a Colab disconnect leaves.
    script = "KILL_BEFORE = 'epoch_002.json'\n" + textwrap.dedent(_KILLED_CHILD)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, cwd=ROOT, env=env
    )
    try:
        lines = iter(child.stdout.readline, b"")
        assert b"SAVING\n" in lines, "the child ended before its second save"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    left = sorted(p.name for p in tmp_path.iterdir())
    assert "epoch_002.keras" in left and "epoch_002.json" not in left  # torn

    ckpt = GANCheckpoint(tmp_path)
    model, initial_epoch = ckpt.resume(toy_gan())
    assert "skipping epoch_002: epoch_002.json is missing" in capsys.readouterr().out
    assert initial_epoch == 1 and int(model.g_optimizer.iterations) == 2
    model.fit(points(), batch_size=BATCH, epochs=2, initial_epoch=1, verbose=0, callbacks=[ckpt])
    assert [p.name for p in ckpt.checkpoints] == ["epoch_001.keras", "epoch_002.keras"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".partial-")]
    assert json.loads((tmp_path / "epoch_002.json").read_text())["epoch"] == 2


# -- 5. damaged data files name themselves ----------------------------------------------


def _mnist_arrays():
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 5, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 3, dtype=np.uint8),
    }


@pytest.mark.parametrize(
    "write, problem",
    [
        (lambda p: p.write_bytes(b""), r"mnist.npz is empty \(0 bytes\)"),
        (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), r"mnist.npz is not a readable .npz archive"),
        (lambda p: np.savez(p, x_train=np.zeros(3)), r"mnist.npz is not a readable .npz archive .*KeyError"),
        (lambda p: np.savez(p, **{**_mnist_arrays(), "x_train": np.zeros((5, 28, 28))}),
         r"mnist.npz holds images of shape \(5, 28, 28\) and dtype float64"),
    ],
    ids=["empty", "garbage", "missing-array", "float-images"],
)  # fmt: skip
def test_damaged_mnist_npz_names_the_file_and_the_variable(tmp_path, monkeypatch, write, problem):
    write(tmp_path / "mnist.npz")
    monkeypatch.setenv("GANCORE_DATA_DIR", str(tmp_path))
    with pytest.raises(data.DataUnavailableError, match=problem + r".*GANCORE_DATA_DIR="):
        data.load_dataset("mnist", source="full", verbose=False)


def _fashion_folder(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir(parents=True)
    for stem, offset, array in [
        ("train-images-idx3-ubyte", 16, np.zeros((4, 28, 28), np.uint8)),
        ("train-labels-idx1-ubyte", 8, np.zeros(4, np.uint8)),
        ("t10k-images-idx3-ubyte", 16, np.zeros((2, 28, 28), np.uint8)),
        ("t10k-labels-idx1-ubyte", 8, np.zeros(2, np.uint8)),
    ]:
        with gzip.open(folder / f"{stem}.gz", "wb") as f:
            f.write(b"\0" * offset + array.tobytes())
    return folder


def test_damaged_fashion_mnist_files_name_themselves(tmp_path, monkeypatch):
    folder = _fashion_folder(tmp_path)
    monkeypatch.setenv("GANCORE_DATA_DIR", str(tmp_path))
    data.load_dataset("fashion_mnist", verbose=False)  # whole: loads
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(data.DataUnavailableError, match=r"train-labels-idx1-ubyte.gz is not a "
                       r"readable gzip file .*BadGzipFile.*GANCORE_DATA_DIR"):  # fmt: skip
        data.load_dataset("fashion_mnist", verbose=False)
    _fashion_folder(tmp_path / "again")
    monkeypatch.setenv("GANCORE_DATA_DIR", str(tmp_path / "again"))
    with gzip.open(tmp_path / "again/fashion-mnist/t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"\0" * 16 + bytes(28 * 28))  # one image where the labels promise two
    with pytest.raises(data.DataUnavailableError, match=r"t10k-images-idx3-ubyte.gz holds 784 "
                       r"pixels, not the 2 images of 28x28"):  # fmt: skip
        data.load_dataset("fashion_mnist", verbose=False)


def test_damaged_cifar_pickle_names_itself(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(b"\x80\x04garbage")
    monkeypatch.setenv("GANCORE_DATA_DIR", str(tmp_path))
    with pytest.raises(data.DataUnavailableError, match=r"data_batch_1 is not a readable CIFAR-10 "
                       r"pickle .*GANCORE_DATA_DIR"):  # fmt: skip
        data.load_dataset("cifar10", verbose=False)


def test_image_folder_names_a_non_image_and_a_grey_image_among_colour_ones(tmp_path):
    from PIL import Image

    Image.new("RGB", (20, 20), (255, 0, 0)).save(tmp_path / "a.png")
    (tmp_path / "b.jpg").write_text("a text file with an image suffix")
    with pytest.raises(ValueError, match=r"b.jpg is not a readable image \(UnidentifiedImageError"):
        data.load_image_folder(tmp_path, image_size=8)
    (tmp_path / "b.jpg").unlink()
    Image.new("L", (20, 20), 128).save(tmp_path / "c.png")
    with pytest.raises(ValueError, match=r"c.png is a greyscale image \(mode 'L'\) among 1 colour"):
        data.load_image_folder(tmp_path, image_size=8)


# -- 6. the divergence guard ------------------------------------------------------------


def test_checkpoint_refuses_an_exploded_loss_and_stops_training(tmp_path, capsys):
    model = small_gan()
    ckpt = GANCheckpoint(tmp_path)
    ckpt.set_model(model)
    ckpt.on_epoch_end(0, {"d_loss": 0.7, "g_loss": 0.9})
    ckpt.on_epoch_end(1, {"d_loss": 3e7, "g_loss": 0.9})
    assert model.stop_training
    assert (
        "GANCheckpoint: not saving epoch 2 and stopping training: d_loss=3e+07 above "
        "max_loss=1e+06 (diverged). Newest checkpoint: epoch_001.keras." in capsys.readouterr().out
    )
    assert [p.name for p in ckpt.checkpoints] == ["epoch_001.keras"]
    relaxed = GANCheckpoint(tmp_path, max_loss=None)
    relaxed.set_model(model)
    relaxed.on_epoch_end(1, {"d_loss": 3e7})
    assert relaxed.latest.name == "epoch_002.keras"


def test_checkpoint_refuses_constant_samples(tmp_path, capsys):
    model = small_gan()
    ckpt = GANCheckpoint(tmp_path)
    ckpt.set_model(model)
    ckpt.on_epoch_end(0, {"d_loss": 0.7})
    for weight in model.generator.weights:  # a dead generator: tanh(0) everywhere
        weight.assign(np.zeros(weight.shape, "float32"))
    ckpt.on_epoch_end(1, {"d_loss": 0.7})
    assert model.stop_training
    assert (
        "not saving epoch 2 and stopping training: all 16 generated samples are identical, "
        "every value 0 (collapsed)" in capsys.readouterr().out
    )
    assert ckpt.latest.name == "epoch_001.keras"
