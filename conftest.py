"""Test-session setup shared by the unit tests and the notebook runs (nbval).

Notebook kernels are subprocesses that inherit this environment, so setting it
here runs every chapter in the quick profile, offline, writing into a
temporary folder.
"""

import os
import tempfile

import pytest

os.environ["GANCORE_PROFILE"] = "quick"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GANCORE_OUTPUT_DIR", tempfile.mkdtemp(prefix="gancore-test-outputs-"))
# The JAX processes of the tests (parity, the re-run unit tests, a chapter) share one
# compilation cache. JAX compiles every new shape of every eager operation; most of a JAX
# test's time here was compiling, and the processes compile many of the same kernels.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="gancore-test-jax-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")


def pytest_collectstart(collector):
    # Keras and TensorFlow write log lines and warnings to stderr, and figures'
    # HTML/JS reprs vary: compare only stdout and text/plain of checked cells.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "text/html", "application/javascript")


# `scripts/test.sh` runs the tests on two processes (pytest-xdist, `--dist loadgroup`).
# A group runs on one process, in order. By default a group is a file: its module fixtures
# (the backend parity run, the built book) are then made once. The chapters form two chains:
# chapters 3-6 save trained models that 7, 11, 13 and 14 load, and the others stand alone.
CHAPTERS_THAT_SAVE_OR_LOAD = ("03_", "04_", "05_", "06_", "07_", "11_", "13_", "14_")
SAVED_MODEL_CHAIN = "chapters 3-7, 11, 13, 14"  # the xdist group of those chapters
BOOK_FILES = ("test_book.py", "test_browser.py")  # share the session's built book
BACKEND_SUBPROCESS_TESTS = (  # each runs pytest in its own process: a group of its own
    "test_backend_specific_unit_tests_pass",
    "test_dcgan_chapter_runs_under_jax",
)


def xdist_group(item) -> str:
    name = item.path.name
    if item.path.suffix == ".ipynb":
        return SAVED_MODEL_CHAIN if name.startswith(CHAPTERS_THAT_SAVE_OR_LOAD) else "chapters"
    if name in BOOK_FILES:
        return "book"
    if getattr(item, "originalname", None) in BACKEND_SUBPROCESS_TESTS:
        return item.nodeid
    return str(item.path.relative_to(item.config.rootpath))


# The longest groups start first (scripts/test.sh turns off xdist's own order, which puts
# the groups with the most tests first and so left the 250-second JAX re-run for last).
LONGEST_FIRST = (
    "tests/test_backends.py::test_backend_specific_unit_tests_pass[jax]",
    "tests/test_backends.py",  # the three-backend parity run
    SAVED_MODEL_CHAIN,
    "chapters",
    "tests/test_backends.py::test_dcgan_chapter_runs_under_jax",
    "tests/test_distribution.py",
    "book",
)


def start_order(group: str) -> int:
    return LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups from the marks
def pytest_collection_modifyitems(config, items):
    groups = {item.nodeid: xdist_group(item) for item in items}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item.nodeid]))
    items.sort(key=lambda item: start_order(groups[item.nodeid]))  # stable: keeps each file's order
