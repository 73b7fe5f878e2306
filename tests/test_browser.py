"""The rendered site as a reader sees it: every chapter page loaded in headless Chromium.

The book theme loads MathJax 3 from a CDN, which this offline machine cannot
reach, so the test serves the same MathJax release (from the npm registry)
next to the pages and points the pages' MathJax script at it. Everything else
is the built site as published. With `$GANCORE_SCREENSHOT_DIR` set, a
screenshot of each whole page lands there, to look at.

Without Chromium, ChromeDriver, Selenium or npm, one test fails with one line
saying how to get them (`bash scripts/test.sh` installs them), and the page
tests are not run: the run fails, it never skips quietly.
"""

import functools
import http.server
import os
import re
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from gancore import chapter_setup
from tests.conftest import chapter_files

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
MATHJAX_CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/mathjax@3/es5/([\w-]+\.js)")
MATHJAX_VERSION = "3.2.2"
MATHJAX_CACHE = Path.home() / ".cache" / "gancore-tests" / f"mathjax-{MATHJAX_VERSION}"


def missing_tools() -> str:
    """What this machine lacks to run the browser tests, as one line; '' when nothing."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not (MATHJAX_CACHE / "es5" / "tex-mml-chtml.js").exists() and not shutil.which("npm"):
        missing.append("npm (to fetch MathJax)")
    if not missing:
        return ""
    return (
        f"No real browser for the rendered-site test: {', '.join(missing)} not found. "
        "Run `bash scripts/test.sh` (it installs them), or: "
        "apt-get install chromium chromium-driver npm && pip install -r requirements-test.txt"
    )


MISSING = missing_tools()


def test_a_real_browser_is_installed():
    """The one failure a machine without a browser gets (the page tests below then don't run)."""
    if MISSING:
        pytest.fail(MISSING, pytrace=False)


@pytest.fixture(scope="session")
def mathjax_dir(tmp_path_factory) -> Path:
    """MathJax's es5 folder from the npm registry (cached between runs)."""
    cache = MATHJAX_CACHE
    if not (cache / "es5" / "tex-mml-chtml.js").exists():
        work = tmp_path_factory.mktemp("npm")
        subprocess.run(
            ["npm", "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"], cwd=work, check=True
        )
        with tarfile.open(next(work.glob("mathjax-*.tgz"))) as archive:
            archive.extractall(work, filter="data")
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copytree(work / "package" / "es5", cache / "es5", dirs_exist_ok=True)
    return cache / "es5"


@pytest.fixture(scope="session")
def site(built_book, mathjax_dir, tmp_path_factory):
    """Serves a copy of the built site on localhost with MathJax served locally."""
    root = tmp_path_factory.mktemp("site") / "html"
    shutil.copytree(built_book, root)
    shutil.copytree(mathjax_dir, root / "_mathjax")
    for page in root.rglob("*.html"):
        html = page.read_text()
        if MATHJAX_CDN.search(html):
            local = os.path.relpath(root / "_mathjax", page.parent)
            page.write_text(MATHJAX_CDN.sub(lambda m, local=local: f"{local}/{m.group(1)}", html))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--disable-quic", "--window-size=1280,2000"):  # fmt: skip
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as error:  # one line, not a traceback per page
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        pytest.fail(
            f"Chromium did not start ({CHROMIUM}, {CHROMEDRIVER}): {first_line}", pytrace=False
        )
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path | None:
    """Where whole-page screenshots go, to be looked at: `$GANCORE_SCREENSHOT_DIR`, or none.

    A 20,000-pixel screenshot took most of a page's eight seconds, and nothing
    asserts on it, so a plain test run takes none.
    """
    folder = os.environ.get("GANCORE_SCREENSHOT_DIR")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def _wait_for_mathjax(driver, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script(
            "return !!(window.MathJax && MathJax.startup && MathJax.startup.promise"
            " && (MathJax.startup.promise.then(() => { window.__mathDone = true; }),"
            " window.__mathDone));"
        )
    )


@pytest.mark.skipif(bool(MISSING), reason="no browser: test_a_real_browser_is_installed failed")
@pytest.mark.parametrize("chapter", chapter_files())
def test_chapter_page_in_a_real_browser(site, browser, screenshot_dir, chapter):
    browser.get(f"{site}/{chapter}.html")
    _wait_for_mathjax(browser)

    title = browser.execute_script("return document.querySelector('main h1')?.innerText || ''")
    assert title.strip(), f"{chapter}: no title"

    rendered = browser.execute_script("return document.querySelectorAll('mjx-container').length")
    assert rendered > 0, f"{chapter}: MathJax rendered no formula"
    text = browser.execute_script("return document.querySelector('main').innerText")
    assert "$$" not in text and "\\begin{" not in text, f"{chapter}: raw TeX left on the page"

    images = browser.execute_script(
        "return [...document.querySelectorAll('main img')].map(i => [i.src, i.complete, i.naturalWidth]);"
    )
    assert images, f"{chapter}: no images"
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert not broken, f"{chapter}: images that did not load: {broken}"

    url, branch = chapter_setup.repository()
    repo = url.split("github.com/")[1]
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{chapter}.ipynb"
    links = browser.execute_script("return [...document.querySelectorAll('a')].map(a => a.href);")
    assert colab in links, f"{chapter}: no Colab launch link to {colab}"

    if screenshot_dir is None:
        return
    # The whole page, not just the first screen, so it can be read afterwards.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height, 30000))
    browser.save_screenshot(str(screenshot_dir / f"{Path(chapter).name}.png"))
    browser.set_window_size(1280, 2000)
