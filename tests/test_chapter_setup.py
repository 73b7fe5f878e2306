"""Every chapter opens the same way: the Colab setup cell, a parameters cell, provenance."""

import json

import pytest

from gancore import chapter_setup
from tests.conftest import ROOT, chapter_files

CHAPTERS = [ROOT / f"{name}.ipynb" for name in chapter_files()]


def _code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_every_notebook_in_chapters_is_in_the_toc():
    on_disk = sorted(p.name for p in (ROOT / "chapters").glob("*.ipynb"))
    assert on_disk == sorted(p.name for p in CHAPTERS)


def test_setup_cell_uses_the_repository_of_config():
    url, branch = chapter_setup.repository()
    source = chapter_setup.setup_cell_source()
    assert f"git+{url}@{branch}" in source and '"google.colab" in sys.modules' in source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_starts_with_setup_parameters_and_provenance(path):
    notebook = json.loads(path.read_text())
    assert {"kernelspec", "language_info"} <= set(notebook["metadata"])
    cells = _code_cells(path)
    assert "".join(cells[0]["source"]) == chapter_setup.setup_cell_source(), (
        f"{path.name}: first code cell differs from the setup cell; run "
        "`python -m gancore.chapter_setup --sync`"
    )
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters'"
    params = "".join(tagged[0]["source"])
    assert "PROFILE = None" in params and "SEED = " in params
    assert any("gancore.start_run(PROFILE, seed=SEED)" in "".join(c["source"]) for c in cells[:4])
    assert "RUN.finish()" in "".join(cells[-1]["source"])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_committed_outputs_come_from_a_real_run(path):
    cells = _code_cells(path)
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert outputs, f"{path.name}: no committed outputs"
    assert not [o for o in outputs if o["output_type"] == "error"], f"{path.name}: error output"
    text = "".join("".join(o.get("text", "")) for o in outputs)
    assert "Profile: standard" in text or "Profile: full" in text, (
        f"{path.name}: committed outputs must come from the standard or full profile"
    )
    assert "Wall time:" in text, f"{path.name}: the last cell's wall time is missing"
