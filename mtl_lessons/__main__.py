"""``python -m mtl_lessons <target>``: the Makefile's targets without GNU make (e.g. on Windows).

Run it from the clone's folder with Python 3.11: ``python -m mtl_lessons course`` (or ``py -3.11 -m
mtl_lessons course`` on Windows). Like ``make``, it first creates ``.venv`` and installs the locked
dependencies when they are missing or changed (the same stamp file as the Makefile, so the two can be
mixed), then runs the same command as the Makefile's target. ``--dry-run`` prints the commands instead;
``tests/test_entry_point.py`` checks that they equal ``make -n <target>``'s.

Standard library only: it runs before anything is installed.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(".venv")
PIP_VERSION = "26.3"
LOCK = "requirements-lock.txt"
DEP_FILES = ("pyproject.toml", LOCK)
SANITIZE = "tests/nbval_sanitize.cfg"
BUILD_DIR = "build"
DEFAULT_TIMEOUT = 600
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TARGETS = {
    "setup": "create .venv (if missing) and install the locked dependencies (if changed)",
    "course": "execute every notebook headless into build/ (sources untouched)",
    "test": "run all tests: unit tests, notebook hygiene, and every notebook under nbval",
    "unit": "run the unit tests only (no notebook is executed)",
    "lab": "start JupyterLab from .venv",
    "refresh": "maintainers: re-execute notebooks in place to update their committed outputs",
    "data": "regenerate datasets/ from the simulator",
    "bench": "print samples per second of train for each architecture in both frameworks",
    "serve": "start lesson 10's ranking service (FastAPI, uvicorn) on http://127.0.0.1:8000",
    "site": "build the course website (lessons, solutions, data card, glossary) into build/site, offline",
    "clean": "remove build/",
}


def venv_bin(name: str) -> Path:
    """A program inside ``.venv`` (``bin/`` on POSIX, ``Scripts/`` on Windows), relative to the clone."""
    if os.name == "nt":
        return VENV / "Scripts" / (name + (".exe" if name in ("python", "jupyter") else ""))
    return VENV / "bin" / name


def dependency_hash() -> str:
    """The first 16 hex digits of the sha256 of the dependency files: the Makefile's stamp name."""
    digest = hashlib.sha256()
    for name in DEP_FILES:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


def torch_cpu(torch: str | None) -> str | None:
    """``"linux"`` or ``"other"`` for ``--torch cpu`` (the Makefile's ``TORCH_CPU``), else None."""
    if torch is None:
        return None
    return "linux" if sys.platform.startswith("linux") else "other"


def stamp(torch: str | None = None) -> Path:
    """The set-up stamp; ``--torch cpu`` has its own (``-cpu``), so asking for it installs it once."""
    return VENV / f".installed-{dependency_hash()}{'-cpu' if torch_cpu(torch) else ''}"


def torch_pin() -> str:
    """The lock file's torch line, e.g. ``torch==2.13.0``."""
    for line in (ROOT / LOCK).read_text().splitlines():
        if line.startswith("torch=="):
            return line.strip()
    raise SystemExit(f"error: {LOCK} has no torch== line")


def notebooks() -> list[str]:
    """Every notebook, lessons first, each folder sorted (the Makefile's ``NOTEBOOKS``)."""
    found = []
    for folder in ("notebooks", "solutions"):
        found += sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / folder).glob("*.ipynb"))
    return found


def setup_commands(torch: str | None = None) -> list[list[str]]:
    """The commands that bring ``.venv`` up to date (none when its stamp is current).

    ``torch="cpu"`` on Linux first installs PyTorch's CPU-only build from PyTorch's own wheel index
    (``make setup TORCH=cpu``); the lock's ``torch==…`` then finds it installed and keeps it.
    """
    if (ROOT / stamp(torch)).exists():
        return []
    python = str(venv_bin("python"))
    commands = []
    if not (ROOT / venv_bin("python")).exists():
        commands += [[sys.executable, "-m", "venv", str(VENV)], [python, "-m", "pip", "install", "-q", f"pip=={PIP_VERSION}"]]
    if torch_cpu(torch) == "linux":
        commands.append([python, "-m", "pip", "install", "-q", f"{torch_pin()}+cpu", "--index-url", TORCH_CPU_INDEX])
    return commands + [[python, "-m", "pip", "install", "-q", "-r", LOCK],
                       [python, "-m", "pip", "install", "-qq", "--no-deps", "-e", "."]]


def target_commands(target: str, timeout: int) -> list[list[str]]:
    """The command(s) of ``target`` after set-up, exactly as the Makefile runs them."""
    python = str(venv_bin("python"))
    if target == "course":
        return [[python, "-m", "mtl_lessons.run_notebooks", "--timeout", str(timeout), "--out", BUILD_DIR, *notebooks()]]
    if target == "refresh":
        return [[python, "-m", "mtl_lessons.run_notebooks", "--timeout", str(timeout), "--inplace", *notebooks()]]
    if target == "test":
        folders = [folder for folder in ("tests", "notebooks", "solutions") if (ROOT / folder).is_dir()]
        return [[python, "-m", "pytest", *folders, "--nbval", "--nbval-current-env", "--nbval-sanitize-with", SANITIZE, "-q"]]
    if target == "unit":
        return [[python, "-m", "pytest", "tests", "-q"]]
    if target == "lab":
        root = hasattr(os, "geteuid") and os.geteuid() == 0  # JupyterLab refuses root without --allow-root
        return [[str(venv_bin("jupyter")), "lab", *(["--allow-root"] if root else [])]]
    if target == "data":
        return [[python, "-m", "mtl_lessons.data"]]
    if target == "bench":
        return [[python, "-m", "mtl_lessons.bench"]]
    if target == "serve":
        return [[python, "-m", "mtl_lessons.serve"]]
    if target == "site":
        return [[python, "-m", "mtl_lessons.site", "--out", f"{BUILD_DIR}/site"]]
    return []  # setup, clean


def check_python() -> str | None:
    """A message if this interpreter or an existing ``.venv`` is not Python 3.11, else None."""
    if sys.version_info[:2] != (3, 11):
        return (f"error: this is Python {sys.version.split()[0]}, the course needs 3.11: run "
                f"`python3.11 -m mtl_lessons <target>` (Windows: `py -3.11 -m mtl_lessons <target>`)")
    venv_python = ROOT / venv_bin("python")
    if venv_python.exists():
        probe = subprocess.run([str(venv_python), "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                               capture_output=True, text=True, check=False)
        if probe.stdout.strip() != "True":
            return f"error: {VENV} was made with another Python; remove the folder {VENV} and run this again"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtl_lessons",
                                     description="The Makefile's targets, without make.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(f"  {name:<8} {text}" for name, text in TARGETS.items()))
    parser.add_argument("target", choices=list(TARGETS), metavar="target", help="one of: " + ", ".join(TARGETS))
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help="course/refresh: seconds a cell may run (default %(default)s)")
    parser.add_argument("--torch", choices=["cpu"], default=None,
                        help="cpu: install PyTorch's CPU-only build from PyTorch's wheel index (Linux; "
                             "the Makefile's TORCH=cpu)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    args = parser.parse_args(argv)
    if args.timeout < 1:
        parser.error(f"argument --timeout: must be a whole number of seconds >= 1, got {args.timeout}")
    os.chdir(ROOT)
    if args.target == "clean":
        if args.dry_run:
            print(f"rm -rf {BUILD_DIR}")
        else:
            shutil.rmtree(BUILD_DIR, ignore_errors=True)
        return 0
    setup = setup_commands(args.torch)
    commands = setup + target_commands(args.target, args.timeout)
    if args.dry_run:
        for command in commands:
            print(shlex.join(command))
        return 0
    problem = check_python()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    if setup and torch_cpu(args.torch) == "other":
        print("--torch cpu changes nothing here: outside Linux, PyPI's torch is already the CPU-only build")
    for command in commands:
        print(shlex.join(command), flush=True)
        status = subprocess.run(command, check=False).returncode
        if status != 0:
            return status
    if setup:
        for old in VENV.glob(".installed-*"):
            old.unlink()
        stamp(args.torch).touch()
        stamp().touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
