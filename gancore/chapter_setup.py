"""The setup cell that opens every chapter, generated from `_config.yml`.

Every chapter's first code cell installs gancore on Colab from the book's
repository. The repository URL is one setting, `repository.url` in
`_config.yml`; this module writes the cell from it, and the tests check that
every chapter carries exactly this cell.

    python -m gancore.chapter_setup --sync     # rewrite the cell in every chapter
    python -m gancore.chapter_setup --check    # exit 1 if a chapter differs
    python -m gancore.chapter_setup --print    # the cell, to paste into a new chapter
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETUP_TEMPLATE = """\
# Setup (the same in every chapter): on Colab, install gancore first.
import sys

if "google.colab" in sys.modules:
    import subprocess

    package = "gancore @ git+{url}@{branch}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)

import gancore"""


def repository(config_path: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """The (url, branch) of the book's repository, from `_config.yml`."""
    import yaml

    config = yaml.safe_load(config_path.read_text())
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def setup_cell_source(config_path: Path = ROOT / "_config.yml") -> str:
    """The exact source of the setup cell for the configured repository."""
    url, branch = repository(config_path)
    return SETUP_TEMPLATE.format(url=url, branch=branch)


def chapter_paths() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*.ipynb"))


def first_code_cell(notebook: dict) -> dict:
    return next(c for c in notebook["cells"] if c["cell_type"] == "code")


def sync(check_only: bool = False) -> list[Path]:
    """Rewrites (or, with `check_only`, lists) the chapters whose setup cell differs."""
    expected = setup_cell_source()
    stale = []
    for path in chapter_paths():
        notebook = json.loads(path.read_text())
        cell = first_code_cell(notebook)
        if "".join(cell["source"]) != expected:
            stale.append(path)
            if not check_only:
                cell["source"] = expected.splitlines(keepends=True)
                path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sync", action="store_true", help="rewrite stale setup cells")
    parser.add_argument("--check", action="store_true", help="exit 1 if a setup cell is stale")
    parser.add_argument("--print", action="store_true", help="print the setup cell's source")
    args = parser.parse_args(argv)
    if args.print:
        print(setup_cell_source())
        return 0
    stale = sync(check_only=not args.sync)
    for path in stale:
        print(f"{'rewrote' if args.sync else 'stale'}: {path.relative_to(ROOT)}")
    if not stale:
        print("Every chapter carries the setup cell for", repository()[0])
    return 1 if (stale and not args.sync) else 0


if __name__ == "__main__":
    sys.exit(main())
