"""Fixtures shared by the tests: the built book (built once per session)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files() -> list[str]:
    """Every file listed in _toc.yml, in reading order, without extension."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def chapter_files() -> list[str]:
    return [f for f in toc_files() if f.startswith("chapters/")]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Builds the book with warnings as errors; returns the HTML folder."""
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        [shutil.which("jupyter-book") or "jupyter-book", "build", str(ROOT), "--path-output", str(out),
         "-W", "-n", "--keep-going"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines() if re.search(r"WARNING|ERROR", line)]
    assert result.returncode == 0, "book build failed:\n" + "\n".join(
        warnings or log.splitlines()[-40:]
    )
    return out / "_build" / "html"
