#!/usr/bin/env bash
# The README's test command, and the whole of what CI runs (.ci/run calls this script):
# installs the test extras and a browser, then runs every test.
#
#     bash scripts/test.sh                  # everything
#     bash scripts/test.sh tests/test_X.py  # arguments go to pytest
#
# Run it in the environment the reader's install went into (a virtualenv, or CI's Python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# pytest, nbval, ruff, Selenium, and the JAX and PyTorch backends (requirements-test.txt
# includes the reader's requirements.txt, so this alone also works on a fresh machine).
"$PYTHON" -m pip install --quiet --disable-pip-version-check -r requirements-test.txt

# A real browser for tests/test_browser.py: Debian's Chromium and ChromeDriver, when missing.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="no"; fi
  if [ "$sudo" != "no" ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts/test.sh: installing Debian's chromium and chromium-driver"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium chromium-driver >/dev/null \
      || echo "scripts/test.sh: apt-get could not install chromium; tests/test_browser.py will fail" >&2
  else
    echo "scripts/test.sh: no Chromium and no root apt-get to install it;" \
      "tests/test_browser.py will fail and say how to get it" >&2
  fi
fi

# The full MNIST for the tests that want it, from the shared data folder beside the
# checkout when there is one (CI has one); otherwise those tests use keras.datasets.
if [ -z "${GANCORE_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  GANCORE_DATA_DIR="$(cd ../shared/data && pwd)"
  export GANCORE_DATA_DIR
fi

# Two processes (the machine's two cores): see conftest.py for what runs together.
exec "$PYTHON" -m pytest -n 2 --dist loadgroup --no-loadscope-reorder --durations=20 "$@"
