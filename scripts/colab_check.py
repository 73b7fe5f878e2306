"""The Colab install, tried on this machine: a fresh runtime, the setup cell, two chapters.

    python scripts/colab_check.py                   # chapters 1 and 4, quick profile
    python scripts/colab_check.py --keep            # keep the work folder to look at
    python scripts/colab_check.py --runtime DIR     # reuse a kept runtime (DIR/bin/python)
    python scripts/colab_check.py --keras "keras>=3,<4" --tensorflow "tensorflow-cpu>=2,<3"

What a reader gets after pressing the Colab button, as closely as a CPU machine
without internet can have it:

1. A snapshot of this checkout (its tracked files as they are now) becomes a
   git repository on the branch `_config.yml` names: what the repository URL
   serves once pushed.
2. A fresh virtualenv plays the Colab runtime: TensorFlow and Keras at Colab's
   major versions (by default releases Colab shipped in 2025; `tensorflow-cpu`
   here, the GPU build there), a current pip and the Jupyter kernel
   machinery, nothing of ours. Colab also has matplotlib, Pillow and
   more preinstalled; this runtime does not, so a dependency missing from
   `pyproject.toml` fails here even if Colab would hide it.
3. The setup cell of each chapter runs as it does on Colab (with
   `google.colab` imported), its `git+<repository.url>@<branch>` swapped for
   `git+file://<snapshot>@<branch>`. A cell whose URL is not the one in
   `_config.yml` fails here, before anything is installed.
4. Each chapter then runs top to bottom with nbconvert, in the quick profile,
   in a folder outside the checkout (like Colab's /content), so gancore can
   only come from the installed package: assets left out of the package fail.

Prints each step's time and exits 0 only if everything passed. Needs git and
the package index (pip's configured index or a local mirror).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# gancore's setup-cell module on its own (it needs PyYAML only), not the package, which imports Keras.
_spec = importlib.util.spec_from_file_location(
    "chapter_setup", ROOT / "gancore" / "chapter_setup.py"
)
chapter_setup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chapter_setup)

CHAPTERS = ["01_convolution", "04_dcgan"]
# Colab's major versions, at releases Colab shipped in 2025 (TensorFlow 2.19 with Keras
# 3.8-3.10): older than this project's own install, so the check also covers a runtime whose
# preinstalled Keras the setup cell must upgrade. Colab has the GPU build `tensorflow`.
# Colab moves on a few times a year: `--tensorflow "tensorflow-cpu>=2,<3" --keras "keras>=3,<4"`
# tries the newest releases.
TENSORFLOW = "tensorflow-cpu==2.19.*"
KERAS = "keras==3.10.*"
# What a Colab runtime has to run a notebook at all; not gancore's dependencies.
KERNEL = ["ipykernel", "nbconvert"]


class CheckFailed(Exception):
    pass


def step(name):
    """Prints `name`, then its time when the `with` block ends."""

    class _Step:
        def __enter__(self):
            self.start = time.monotonic()
            print(f"--- {name}", flush=True)

        def __exit__(self, *exc):
            outcome = "failed" if exc[0] else "done"
            print(f"    {outcome} in {time.monotonic() - self.start:.0f} s", flush=True)

    return _Step()


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise CheckFailed(
            f"{' '.join(map(str, cmd))} exited {result.returncode}:\n"
            + (result.stdout + result.stderr)[-4000:]
        )
    return result


def snapshot(work: Path, branch: str) -> Path:
    """A git repository of the checkout's tracked files as they are now, on `branch`."""
    repo = work / "repo"
    listed = run(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git = ["git", "-c", "user.name=colab-check", "-c", "user.email=colab-check@localhost"]
    run([*git, "init", "-q", "-b", branch], cwd=repo)
    run([*git, "add", "-A"], cwd=repo)
    run([*git, "commit", "-q", "-m", "snapshot for scripts/colab_check.py"], cwd=repo)
    return repo


def colab_runtime(work: Path, tensorflow: str, keras: str, env: dict) -> Path:
    """A fresh virtualenv with TensorFlow, Keras and the kernel machinery only."""
    env_dir = work / "colab-runtime"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # Colab's pip is a current one (the one venv bundles may be older and stricter about URLs).
    run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], env=env)
    run([python, "-m", "pip", "install", "-q", tensorflow, keras, *KERNEL], env=env)
    # A kernel spec of this runtime's own Python, so nbconvert cannot pick another one.
    run(
        [python, "-m", "ipykernel", "install", "--prefix", env_dir, "--name", "colab-check"],
        env=env,
    )
    return python


def setup_cell(chapter: Path) -> str:
    cells = json.loads(chapter.read_text())["cells"]
    return "".join(next(c for c in cells if c["cell_type"] == "code")["source"])


def install_command(source: str, snapshot_repo: Path) -> str:
    """The setup cell with the repository URL of `_config.yml` swapped for the snapshot."""
    url, branch = chapter_setup.repository()
    real = f"git+{url}@{branch}"
    if source.count(real) != 1:
        raise CheckFailed(
            f"the setup cell does not install {real!r}, the repository of _config.yml "
            "(run `python -m gancore.chapter_setup --sync`):\n" + source
        )
    return source.replace(real, f"git+file://{snapshot_repo}@{branch}")


def run_setup_cell(python: Path, source: str, env: dict) -> str:
    """Runs the cell as on Colab: `google.colab` imported, so it installs gancore."""
    program = (
        "import sys, types\n"
        "sys.modules['google'] = types.ModuleType('google')\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        f"exec(compile({source!r}, 'setup cell', 'exec'))\n"
        "print('gancore from', gancore.__file__)\n"
    )
    return run([python, "-c", program], env=env, cwd=env["HOME"]).stdout


def run_chapter(python: Path, chapter: Path, content: Path, env: dict) -> Path:
    """Runs the chapter with nbconvert in the Colab-like folder; returns the executed copy."""
    notebook = content / chapter.name
    shutil.copy2(chapter, notebook)
    # `jupyter nbconvert` finds `jupyter-nbconvert` on PATH: the runtime's own, first.
    env = {**env, "PATH": f"{python.parent}{os.pathsep}{env['PATH']}"}
    run(
        [python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
         "--ExecutePreprocessor.kernel_name=colab-check", "--ExecutePreprocessor.timeout=900",
         notebook],
        env=env, cwd=content,
    )  # fmt: skip
    text = "".join(
        "".join(output.get("text", ""))
        for cell in json.loads(notebook.read_text())["cells"]
        for output in cell.get("outputs", [])
    )
    if "Profile: quick" not in text or "Wall time:" not in text:
        raise CheckFailed(f"{chapter.name}: ran, but printed no 'Profile: quick' and wall time")
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="+", default=CHAPTERS, help="chapter file stems")
    parser.add_argument("--tensorflow", default=TENSORFLOW, help=f"default {TENSORFLOW!r}")
    parser.add_argument("--keras", default=KERAS, help=f"default {KERAS!r}")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--runtime",
        type=Path,
        help="reuse this Colab-like virtualenv (from --keep); gancore is reinstalled",
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="gancore-colab-check-"))
    content, home = work / "content", work / "home"
    content.mkdir()
    home.mkdir()
    # The runtime's own environment: no checkout on the path, no data folder, no
    # Jupyter or pip settings of this user, the quick profile.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "JUPYTER", "GANCORE_", "KERAS_", "VIRTUAL_ENV"))
    }
    active = os.environ.get(
        "VIRTUAL_ENV"
    )  # this script's own virtualenv is not on the runtime's PATH
    env["PATH"] = os.pathsep.join(
        d
        for d in env.get("PATH", os.defpath).split(os.pathsep)
        if not active or not d.startswith(active)
    )
    env.update(
        HOME=str(home),
        JUPYTER_DATA_DIR=str(home / "jupyter"),
        PYTHONNOUSERSITE="1",
        GANCORE_PROFILE="quick",
        GANCORE_OUTPUT_DIR=str(work / "outputs"),
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    # pip's own settings (an index mirror) and cache still apply: they are the machine's, not ours.
    user_pip_config = Path.home() / ".config" / "pip" / "pip.conf"
    if "PIP_CONFIG_FILE" not in env and user_pip_config.exists():
        env["PIP_CONFIG_FILE"] = str(user_pip_config)
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    start = time.monotonic()
    try:
        url, branch = chapter_setup.repository()
        print(f"Colab-like check of {url}@{branch} in {work}")
        with step("snapshot of the checkout's tracked files"):
            repo = snapshot(work, branch)
        if args.runtime:
            python = args.runtime.resolve() / "bin" / "python"
            run([python, "-m", "pip", "uninstall", "-q", "-y", "gancore"], env=env)
        else:
            with step(f"Colab-like runtime: {args.tensorflow}, {args.keras}, {' '.join(KERNEL)}"):
                python = colab_runtime(work, args.tensorflow, args.keras, env)
        chapters = [ROOT / "chapters" / f"{stem}.ipynb" for stem in args.chapters]
        sources = [install_command(setup_cell(chapter), repo) for chapter in chapters]
        for chapter, source in zip(chapters, sources, strict=True):
            # Each chapter's own setup cell, as a reader opening that chapter runs it.
            with step(f"setup cell of {chapter.stem}, as on Colab"):
                print("   ", run_setup_cell(python, source, env).strip().splitlines()[-1])
            if chapter == chapters[0]:
                versions = run([python, "-m", "pip", "list", "--format=freeze"], env=env).stdout
                wanted = {"gancore", "keras", "tensorflow-cpu", "numpy", "matplotlib", "pillow"}
                print("    " + ", ".join(
                    v for v in versions.split() if v.split("==")[0].lower().replace("_", "-") in wanted
                ))  # fmt: skip
            with step(f"{chapter.stem} in the quick profile (nbconvert --execute)"):
                run_chapter(python, chapter, content, env)
    except CheckFailed as error:
        print(f"FAILED: {error}", file=sys.stderr)
        print(f"(work folder kept: {work})", file=sys.stderr)
        return 1
    size = run(["du", "-sh", python.parent.parent]).stdout.split()[0]
    print(f"Colab-like install and chapters passed in {time.monotonic() - start:.0f} s "
          f"(runtime virtualenv {size})")  # fmt: skip
    if args.keep:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
