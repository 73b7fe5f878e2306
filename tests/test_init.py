"""Importing gancore first keeps TensorFlow's and Keras's start-up noise out of the outputs."""

import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import gancore  # first, as in every chapter
import keras
from gancore.data import make_dataset
import numpy as np

x = np.zeros((16, 4), "float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
model.fit(make_dataset(x, x[:, :1], batch_size=8), epochs=1, verbose=0)  # default shuffle=True
print("trained")
"""


def test_tensorflow_logs_and_the_dataset_shuffle_warning_stay_out_of_stderr():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["KERAS_BACKEND"] = "tensorflow"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "trained"
    assert result.stderr == ""


def test_a_log_level_the_reader_chose_is_kept():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "1"}
    result = subprocess.run(
        [sys.executable, "-c", "import gancore, os; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"],
        capture_output=True, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    assert result.stdout.strip() == "1"
