"""Every result-like number in a chapter's prose comes from that chapter's run.

A number typed into a markdown cell matches the one run it was copied from and
contradicts every other (another profile, a GPU, a new seed). So a markdown
cell may state a result-like number (a decimal such as 12.8, a percentage such
as 67 %, a ratio such as 18x, a count such as 1,309) only if

- the same number appears in an output of the same notebook (a printed value,
  or a sentence made by `display(Markdown(...))`), or
- it is not a result: inside math (`$...$`), inline code or a code block, in
  a sentence with a `{cite}` (a published figure), or after a marker comment:
  `<!-- setting -->` or `<!-- cited -->` at the very start of a cell exempts
  the whole cell, anywhere else the paragraph that follows it.

Integers without a thousands separator (5 epochs, 128 features) are not
scanned: they are almost always settings. See CONTRIBUTING.md.
"""

import json
import re

import pytest

from tests.conftest import ROOT, chapter_files

MARKER = re.compile(r"<!--\s*(?:setting|cited)\s*-->")
NUMBER = r"\d+(?:\.\d+)?"
SPACE = "[ \u00a0\u202f]?"  # none, a space, a no-break or a narrow no-break space
# Result-like numbers in prose: counts with thousands separators, percentages
# and ratios ("18x", "1.4×" but not the size "28x28"), the first number of a
# range of them ("70–75 %"), and any other decimal.
RESULT_LIKE = re.compile(
    r"(?<![\w.,])(?:"
    rf"(?P<count>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?)"
    rf"|(?P<range>{NUMBER})(?={SPACE}[–-]{SPACE}{NUMBER}{SPACE}[%x×])"
    rf"|(?P<percent>{NUMBER}){SPACE}%"
    rf"|(?P<ratio>{NUMBER}){SPACE}[x×](?![\w\d]|{SPACE}\d)"
    r"|(?P<decimal>\d+\.\d+)"
    r")(?![\d.,]\d)"
)
# Any number in an output, thousands separators allowed: "1,309", "12.81", "67%".
OUTPUT_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
# Not results: versions (3.15.1), scientific notation (2.5e-4).
NOT_RESULTS = re.compile(r"\d+(?:\.\d+){2,}|\d+(?:\.\d+)?[eE][-+−]?\d+")
# Exempt blocks (removed before sentences are split): code, display math, comments.
EXEMPT_BLOCKS = [
    re.compile(r"^(```|~~~).*?^\1", re.S | re.M),
    re.compile(r"\$\$.*?\$\$", re.S),
    re.compile(r"<!--.*?-->", re.S),
]
# Exempt spans: inline math, inline code and roles, link targets, URLs.
EXEMPT_SPANS = [
    re.compile(r"\$[^$\n]+\$"),
    re.compile(r"\\\(.*?\\\)", re.S),
    re.compile(r"(\{\w+\})?`[^`]*`"),
    re.compile(r"\]\([^)]*\)"),
    re.compile(r"https?://\S+"),
]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(*])|\n\s*\n")


def _normalise(number: str) -> str:
    return number.replace(",", "")


def output_numbers(notebook: dict) -> set[str]:
    """Every number printed or displayed as text by the notebook's code cells."""
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            data = output.get("data", {})
            for kind in ("text/plain", "text/markdown", "text/latex"):
                texts.append("".join(data.get(kind, "")))
    return {_normalise(n) for n in OUTPUT_NUMBER.findall("\n".join(texts))}


def _unmarked_prose(markdown: str) -> str:
    """The cell's text without the spans and paragraphs that may hold numbers."""
    if MARKER.match(markdown.lstrip()):
        return ""
    # A marker exempts the rest of its paragraph.
    markdown = re.sub(MARKER.pattern + r".*?(?=\n\s*\n|\Z)", " ", markdown, flags=re.S)
    for pattern in EXEMPT_BLOCKS:
        markdown = pattern.sub(" ", markdown)
    # Sentences that cite a source quote its figures.
    markdown = " ".join(s for s in SENTENCE_END.split(markdown) if "{cite" not in s)
    for pattern in EXEMPT_SPANS:
        markdown = pattern.sub(" ", markdown)
    return NOT_RESULTS.sub(" ", markdown)


def result_numbers(markdown: str) -> list[tuple[str, str]]:
    """The result-like numbers of a markdown text, each with a little context."""
    prose = _unmarked_prose(markdown)
    found = []
    for match in RESULT_LIKE.finditer(prose):
        number = next(value for value in match.groupdict().values() if value)
        context = " ".join(prose[max(0, match.start() - 30) : match.end() + 10].split())
        found.append((_normalise(number), context))
    return found


def typed_numbers(notebook: dict) -> list[str]:
    """`cell [i]: number in '...context...'` for each result-like number not in an output."""
    printed = output_numbers(notebook)
    offences = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for number, context in result_numbers("".join(cell["source"])):
            if number not in printed:
                offences.append(f"cell [{index}]: {number} in '...{context}...'")
    return offences


# Chapters whose prose still types result numbers by hand. Each entry is a
# strict xfail: once its chapter is clean the test passes, xfail fails, and
# the entry must go.
NOT_YET_CLEAN: set[str] = set()
TYPED_BY_HAND = pytest.mark.xfail(strict=True, reason="prose numbers typed by hand (issue 16)")


@pytest.mark.parametrize(
    "chapter",
    [pytest.param(c, marks=[TYPED_BY_HAND] if c in NOT_YET_CLEAN else []) for c in chapter_files()],
)
def test_prose_numbers_come_from_the_run(chapter):
    notebook = json.loads((ROOT / f"{chapter}.ipynb").read_text())
    offences = typed_numbers(notebook)
    assert not offences, (
        f"{chapter}: {len(offences)} result-like numbers in the prose are in no output of the "
        "notebook. Print them from the run, or mark settings and cited figures "
        "(CONTRIBUTING.md):\n" + "\n".join(offences)
    )


def test_not_yet_clean_lists_only_chapters():
    assert NOT_YET_CLEAN <= set(chapter_files())


# The scanner itself, on small synthetic notebooks.


def _notebook(markdown: str, printed: str = "") -> dict:
    output = {"output_type": "stream", "name": "stdout", "text": [printed]}
    return {
        "cells": [
            {"cell_type": "code", "source": ["print(...)"], "outputs": [output]},
            {"cell_type": "markdown", "source": [markdown]},
        ]
    }


def test_typed_decimal_percentage_ratio_and_count_are_caught():
    notebook = _notebook(
        "FD 12.8, 67 % of the samples, about 18× worse, after 1,309 steps, 70–75 % accurate."
    )
    assert [o.split(" in ")[0] for o in typed_numbers(notebook)] == [
        "cell [1]: 12.8",
        "cell [1]: 67",
        "cell [1]: 18",
        "cell [1]: 1309",
        "cell [1]: 70",
        "cell [1]: 75",
    ]


def test_numbers_printed_by_the_run_pass():
    notebook = _notebook(
        "FD 12.8, 67 % of the samples, after 1,309 steps.", "FD 12.8; 67%; 1309 steps"
    )
    assert typed_numbers(notebook) == []


def test_rounded_copy_of_a_printed_number_is_still_typed_by_hand():
    assert typed_numbers(_notebook("FD 12.8.", "FD 12.81")) != []


def test_settings_math_code_citations_and_sizes_pass():
    markdown = (
        "Adam with $\\beta_1 = 0.5$ and `LEARNING_RATE = 2e-4`, on 28x28 and 3×3 kernels, "
        "Keras 3.15.1, a rate of 2.5e-4 and 128 features.\n\n"
        "Burda et al. report 86.76 nats {cite}`burda2016importance`.\n\n"
        "<!-- setting --> Weights start from N(0, 0.02²), batches of 1,000.\n\n"
        "See [the paper](https://arxiv.org/abs/1706.08500)."
    )
    assert typed_numbers(_notebook(markdown)) == []


def test_marker_at_the_start_of_a_cell_exempts_the_whole_cell():
    markdown = "<!-- cited -->\nThe table of the paper.\n\n| model | NLL |\n| VAE | 86.76 |"
    assert typed_numbers(_notebook(markdown)) == []
    assert typed_numbers(_notebook(markdown.replace("<!-- cited -->\n", ""))) != []


def test_marker_inside_a_cell_exempts_only_its_paragraph():
    markdown = "Intro.\n\n<!-- setting --> Rate 0.02.\n\nWe measured 0.75 here."
    assert [o.split(" in ")[0] for o in typed_numbers(_notebook(markdown))] == ["cell [1]: 0.75"]
