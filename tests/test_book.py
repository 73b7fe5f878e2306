"""The book builds with warnings as errors, and every chapter page shows its figures and math."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import chapter_files, toc_files


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def _parse(page: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(page.read_text())
    return parser


def test_every_toc_entry_has_a_page(built_book):
    for file in toc_files():
        assert (built_book / f"{file}.html").exists(), f"{file}.html missing from the built book"


@pytest.mark.parametrize("chapter", chapter_files())
def test_chapter_page_shows_figures_and_math(built_book, chapter):
    page = built_book / f"{chapter}.html"
    html = page.read_text()
    parsed = _parse(page)
    figures = [src for src in parsed.images if "_images/" in src or src.startswith("data:image")]
    assert figures, f"{chapter}: no figure from the notebook's outputs"
    for src in figures:
        if not src.startswith("data:"):
            assert (page.parent / src).resolve().exists(), (
                f"{chapter}: image {src} not in the build"
            )
    assert re.search(r'class="math[ "]', html), f"{chapter}: no math rendered by MyST"
    assert "Profile: " in html, f"{chapter}: provenance lines missing from the outputs"


def test_internal_links_resolve(built_book):
    broken = []
    for page in built_book.rglob("*.html"):
        if "_static" in page.parts:
            continue
        for href in _parse(page).links:
            target = href.split("#")[0]
            if not target or re.match(r"^[a-z]+:", target):
                continue
            if not (page.parent / target).resolve().exists():
                broken.append(f"{page.relative_to(built_book)} -> {href}")
    assert not broken, "broken internal links:\n" + "\n".join(broken)
