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
    import subprocess
    import sys

    from gancore import zoo

    monkeypatch.setenv("GANCORE_OUTPUT_DIR", str(tmp_path))
    run = config.start_run("quick", seed=0, verbose=False)
    for name in ("wgan_gp", "cvae"):
        recipe = zoo.RECIPES[name]
        model = recipe.compile(recipe.build(8))
        runs.save_trained(model, name, run=run, chapter="99", train_seconds=1, images_seen=1)
    code = (
        "from gancore import runs; "
        "print(*(type(runs.load_trained(n)[0]).__name__ for n in ('wgan_gp', 'cvae')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["WGAN", "ConditionalVAE"], result.stderr[-2000:]
