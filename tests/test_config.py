import keras
import pytest

from gancore import config


def test_environment_variable_picks_the_profile(monkeypatch):
    monkeypatch.setenv("GANCORE_PROFILE", "full")
    assert config.resolve_profile() == "full"


def test_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("GANCORE_PROFILE", "full")
    assert config.resolve_profile("quick") == "quick"


def test_auto_is_standard_without_a_gpu(monkeypatch):
    monkeypatch.setattr(config, "gpu_available", lambda: False)
    assert config.resolve_profile("auto") == "standard"
    monkeypatch.setattr(config, "gpu_available", lambda: True)
    assert config.resolve_profile("auto") == "full"


def test_unknown_profile_names_the_valid_ones(monkeypatch):
    monkeypatch.delenv("GANCORE_PROFILE", raising=False)
    with pytest.raises(ValueError, match="Unknown run profile 'fast'.*'quick', 'standard', 'full'"):
        config.resolve_profile("fast")
    monkeypatch.setenv("GANCORE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="GANCORE_PROFILE"):
        config.resolve_profile()


def test_by_profile_follows_start_run():
    config.start_run("standard", seed=1, verbose=False)
    assert config.by_profile(quick=1, standard=5, full=50) == 5
    config.start_run("quick", seed=1, verbose=False)
    assert config.by_profile(quick=1, standard=5, full=50) == 1


def test_seed_everything_makes_keras_and_numpy_repeat():
    import keras
    import numpy as np

    config.seed_everything(7)
    first = (np.random.rand(3), keras.random.normal((3,)))  # noqa: NPY002
    config.seed_everything(7)
    second = (np.random.rand(3), keras.random.normal((3,)))  # noqa: NPY002
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(first[1]), keras.ops.convert_to_numpy(second[1])
    )


def test_start_run_prints_provenance(capsys):
    run = config.start_run("quick", seed=3)
    out = capsys.readouterr().out
    assert f"Profile: quick | seed 3 | backend {keras.backend.backend()}" in out
    assert "Device: CPU" in out and "keras 3." in out and "gancore 0." in out
    assert run.profile == "quick" and run.info["backend"] == keras.backend.backend()
    run.finish()
    assert "Wall time: 0 min" in capsys.readouterr().out
