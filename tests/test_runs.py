import json

import numpy as np
import pytest

from gancore import config, runs
from gancore.models import networks
from gancore.models.gan import GAN


def test_saved_model_and_record_load_back(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_OUTPUT_DIR", str(tmp_path))
    run = config.start_run("quick", seed=0, verbose=False)
    gan = GAN(networks.dcgan_generator(8, width=4), networks.dcgan_discriminator(width=4))
    gan.compile()
    path = runs.save_trained(
        gan, "tiny", run=run, chapter="99_test", train_seconds=2.0, images_seen=100, epochs=1
    )
    assert path == tmp_path / "trained" / "tiny.keras"
    record = json.loads((tmp_path / "trained" / "tiny.json").read_text())
    assert record["images_per_second"] == 50.0 and record["profile"] == "quick"
    assert record["epochs"] == 1 and record["class"] == "GAN"
    loaded, record = runs.load_trained("tiny")
    np.testing.assert_allclose(loaded.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-6)


def test_a_standard_run_refuses_a_quick_model(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_OUTPUT_DIR", str(tmp_path))
    run = config.start_run("quick", seed=0, verbose=False)
    gan = GAN(networks.dcgan_generator(8, width=4), networks.dcgan_discriminator(width=4))
    runs.save_trained(gan, "tiny", run=run, chapter="99_test", train_seconds=1.0, images_seen=8)
    with pytest.raises(ValueError, match="quick profile.*Re-run chapter 99_test in the 'standard'"):
        runs.load_trained("tiny", profile="standard")
    assert runs.load_trained("tiny", profile="quick")[1]["profile"] == "quick"


def test_missing_model_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCORE_OUTPUT_DIR", str(tmp_path))
    assert runs.trained_record("absent") is None
    with pytest.raises(FileNotFoundError, match="No trained model 'absent'.*run the chapter"):
        runs.load_trained("absent")


def test_a_fresh_process_loads_every_model_family(tmp_path, monkeypatch):
    """`import gancore` registers the model classes: a new process loads each kind of file.

    A GAN, a WGAN-GP (its penalty settings), a conditional VAE and a progressive GAN
    (its stage); the other models' files load in other processes in the backend parity run.
    """
    import subprocess
    import sys

    from gancore import zoo
    from gancore.models.progressive import (
        ProgressiveDiscriminator,
        ProgressiveGAN,
        ProgressiveGenerator,
    )

    monkeypatch.setenv("GANCORE_OUTPUT_DIR", str(tmp_path))
    run = config.start_run("quick", seed=0, verbose=False)
    for name in ("dcgan", "wgan_gp", "cvae"):
        recipe = zoo.RECIPES[name]
        model = recipe.compile(recipe.build(8))
        runs.save_trained(model, name, run=run, chapter="99", train_seconds=1, images_seen=1)
    filters = (8, 8, 4)
    progressive = ProgressiveGAN(
        ProgressiveGenerator(8, filters=filters, stage=1),
        ProgressiveDiscriminator(filters=filters, stage=1),
    )
    progressive.save(tmp_path / "progressive.keras")
    code = (
        "import keras; from gancore import runs; "
        "gan, wgan, cvae = (runs.load_trained(n)[0] for n in ('dcgan', 'wgan_gp', 'cvae')); "
        f"grown = keras.models.load_model(r'{tmp_path / 'progressive.keras'}', safe_mode=True); "
        "print(type(gan).__name__, type(wgan).__name__, wgan.penalty, wgan.gradient_penalty_weight,"
        " type(cvae).__name__, type(grown).__name__, grown.resolution,"
        " gan.generate(2).shape, grown.generate(2).shape)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [
        "GAN", "WGAN", "gp", "10.0", "ConditionalVAE", "ProgressiveGAN", "14",
        "(2,", "28,", "28,", "1)", "(2,", "28,", "28,", "1)",
    ], result.stdout  # fmt: skip
