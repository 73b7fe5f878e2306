"""Tests for gancore.evaluator: the shipped MNIST classifier that scores generated digits."""

import ast
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from gancore import evaluator as ev
from gancore.data import load_dataset


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist", source="sample", value_range=(-1, 1), verbose=False)


def test_shipped_weights_load_with_safe_mode_and_are_small():
    assert ev.EVALUATOR_PATH.stat().st_size < 2_000_000
    model = keras.saving.load_model(ev.EVALUATOR_PATH, compile=False, safe_mode=True)
    assert model.output.shape[-1] == 10


def test_shipped_record_has_accuracy_date_versions_and_command():
    record = json.loads(ev.info_path(ev.EVALUATOR_PATH).read_text())
    assert record["test_accuracy"] >= 0.993
    assert record["train_images"] == 60_000
    assert {"date", "versions", "command"} <= set(record)
    assert "python -m gancore.evaluator train" in record["command"]


def test_load_evaluator_returns_the_same_cached_object():
    assert ev.load_evaluator() is ev.load_evaluator()


def test_features_and_probabilities_shapes(mnist):
    evaluator = ev.load_evaluator()
    features, probs = evaluator.features_and_probabilities(mnist.x_test[:7])
    assert features.shape == (7, evaluator.feature_dim)
    assert probs.shape == (7, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(evaluator.features(mnist.x_test[:7]), features)


def test_accuracy_on_shipped_mnist_sample_is_at_least_98_percent(mnist):
    assert ev.load_evaluator().accuracy(mnist.x_test, mnist.y_test) >= 0.98


def test_images_in_unit_range_uint8_or_wrong_shape_raise(mnist):
    evaluator = ev.load_evaluator()
    with pytest.raises(ValueError, match=r"Expected images for the evaluator in \[-1, 1\]"):
        evaluator.features(np.full((2, 28, 28, 1), 255.0))
    with pytest.raises(ValueError, match=r"shape \(batch, 28, 28, 1\)"):
        evaluator.features(mnist.x_test[:2, :, :, 0])  # channel axis missing
    with pytest.raises(ValueError, match=r"shape \(batch, 28, 28, 1\)"):
        evaluator.probabilities(np.zeros((2, 32, 32, 3)))


def test_missing_weights_file_raises_a_clear_error(tmp_path):
    with pytest.raises(ev.EvaluatorMissingError, match="python -m gancore.evaluator train"):
        ev.load_evaluator(tmp_path / "missing.keras")


def test_evaluator_imports_neither_metrics_nor_the_report():
    # The dependency runs one way: evaluation_report -> metrics -> evaluator.
    source = Path(ev.__file__).read_text()
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not imported & {"gancore.metrics", "gancore.evaluation_report"}
    assert "from gancore import metrics" not in source


def test_printed_evaluator_names_its_file_without_a_machine_path():
    shown = repr(ev.load_evaluator())
    assert "from gancore/assets/evaluator.keras)" in shown
    assert str(ev.PACKAGE_PARENT) not in shown
    assert ev.shown_path("/somewhere/else/weights.keras") == "weights.keras"


def test_command_line_trains_only_and_points_to_the_report(capsys):
    with pytest.raises(SystemExit):
        ev.main(["report"])
    assert "invalid choice: 'report'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ev.main(["--help"])
    assert "gancore.evaluation_report" in capsys.readouterr().out
