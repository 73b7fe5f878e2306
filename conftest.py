"""Test-session setup shared by the unit tests and the notebook runs (nbval).

Notebook kernels are subprocesses that inherit this environment, so setting it
here runs every chapter in the quick profile, offline, writing into a
temporary folder.
"""

import os
import tempfile

os.environ["GANCORE_PROFILE"] = "quick"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GANCORE_OUTPUT_DIR", tempfile.mkdtemp(prefix="gancore-test-outputs-"))


def pytest_collectstart(collector):
    # Keras and TensorFlow write log lines and warnings to stderr, and figures'
    # HTML/JS reprs vary: compare only stdout and text/plain of checked cells.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "text/html", "application/javascript")
