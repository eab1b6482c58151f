"""Execute course notebooks headless, one fresh kernel each, and report a timing table.

Used by the Makefile::

    python -m mtl_lessons.run_notebooks --out build notebooks/*.ipynb solutions/*.ipynb
    python -m mtl_lessons.run_notebooks --inplace notebooks/*.ipynb     # maintainers

Each notebook runs top to bottom in a new ``python3`` kernel (the Python that runs this
module) whose working directory is the notebook's own folder, so relative paths such as
``../datasets`` work exactly as in JupyterLab. The kernel gets a quiet TensorFlow
environment (see :data:`KERNEL_ENV`) and matplotlib's inline backend.

``--out DIR`` writes ``DIR/<folder>/<name>.ipynb`` (``build/notebooks/01_x.ipynb``) and
never touches the source; a notebook that fails is still written there, up to the failing
cell, for inspection. The runner lists what it wrote, with each file's SHA-256, in
``DIR/.run_notebooks.json`` (:data:`MANIFEST_NAME`), and refuses to write over a file it did
not write there, or that changed since (e.g. ``--out OTHER_CHECKOUT`` would otherwise replace
that checkout's own notebooks, and a copy edited in ``build/`` would be lost); running
``make course`` into ``build/`` again is fine. ``--inplace`` overwrites the source with
fresh outputs (the explicit overwrite), but only when the whole notebook succeeded. Every
notebook is written atomically (a temporary file in the same folder, then ``os.replace``).
All arguments are checked before any notebook runs. Either way the saved notebook has
``kernelspec.name == "python3"`` and no per-cell ``execution`` timing metadata, so
re-running an unchanged, deterministic notebook gives an identical file.

One line per notebook is printed, then a total line::

    notebooks/01_intro.ipynb                                12.3 s  ok
    total  1 notebooks  12.3 s  0 failed

The exit status is 1 if any notebook failed, 2 for a usage error (nothing is run), else 0.

Importing this module imports neither PyTorch nor TensorFlow.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

from .atomic import atomic_write

KERNEL_NAME = "python3"
"""Kernel every notebook runs in (and the ``kernelspec.name`` saved in it)."""

KERNELSPEC = {"name": KERNEL_NAME, "display_name": "Python 3 (ipykernel)", "language": "python"}
"""The ``kernelspec`` metadata written into every executed notebook."""

DEFAULT_TIMEOUT = 600
"""Seconds one cell may run before the notebook counts as failed."""

KERNEL_ENV: Mapping[str, str] = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # no C++ INFO/WARNING lines from TensorFlow on stderr
    "TF_ENABLE_ONEDNN_OPTS": "0",  # no "oneDNN custom operations" banner; bit-stable results
    "KERAS_BACKEND": "tensorflow",
    "PYTHONHASHSEED": "0",
}
"""Environment variables set in every child kernel (on top of this process's own)."""

MANIFEST_NAME = ".run_notebooks.json"
"""File in an ``--out`` folder listing the notebooks the runner wrote there (path → SHA-256)."""

ERROR_LINES = 12
"""How many lines of a failing notebook's error are printed."""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NAME_WIDTH = 52


@dataclass(frozen=True)
class Result:
    """Outcome of running one notebook."""

    path: Path
    seconds: float
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True if every cell ran without an error."""
        return self.error is None


def kernel_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment for a child kernel: ``base`` (default ``os.environ``) plus
    :data:`KERNEL_ENV`, without ``MPLBACKEND`` so that ipykernel picks the inline backend
    (a CI's ``MPLBACKEND=Agg`` would otherwise drop every figure from the outputs)."""
    env = dict(os.environ if base is None else base)
    env.update(KERNEL_ENV)
    env.pop("MPLBACKEND", None)
    return env


def clean_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Make a notebook's metadata run-independent, in place, and return it.

    Sets ``kernelspec`` to :data:`KERNELSPEC`, removes the ``execution`` timing
    metadata (``iopub.execute_input`` and friends) that JupyterLab records per cell, and
    merges consecutive stream outputs of the same stream: the kernel flushes ``print`` in
    chunks whose boundaries depend on timing, so unmerged files would differ between runs.
    """
    nb.metadata["kernelspec"] = nbformat.from_dict(dict(KERNELSPEC))
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
        if cell.get("cell_type") == "code":
            cell.outputs = _coalesce_streams(cell.outputs)
    return nb


def _coalesce_streams(outputs: list) -> list:
    """Join runs of stream outputs with the same name (stdout/stderr) into one output each."""
    merged: list = []
    for out in outputs:
        previous = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == out.get("name")):
            previous["text"] = "".join(previous["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def output_path(notebook: Path, out_dir: Path) -> Path:
    """Where ``--out out_dir`` writes ``notebook``: ``out_dir/<its folder name>/<its name>``."""
    return out_dir / notebook.resolve().parent.name / notebook.name


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(out_dir: Path) -> dict[str, str]:
    """What the runner wrote into ``out_dir``: ``{"notebooks/01_x.ipynb": sha256}`` (empty if none).

    Raises:
        ValueError: the manifest exists but is not the runner's JSON (it was edited or damaged).
    """
    path = out_dir / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        written = data["written"]
        if not isinstance(written, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in written.items()):
            raise TypeError("'written' is not a mapping of paths to digests")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a manifest written by run_notebooks ({exc}); "
                         f"delete the folder {out_dir} (e.g. `make clean`) and run again") from exc
    return written


def write_manifest(out_dir: Path, written: Mapping[str, str]) -> None:
    """Write ``out_dir``'s manifest (atomically)."""
    text = json.dumps({"written_by": "python -m mtl_lessons.run_notebooks", "written": dict(sorted(written.items()))},
                      indent=1) + "\n"
    atomic_write(out_dir / MANIFEST_NAME, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=True)


def check_targets(notebooks: Sequence[Path], out_dir: Path) -> list[str]:
    """The problems (empty if none) with writing ``notebooks`` into ``out_dir``: a target that is a
    source notebook, that two notebooks share, or that exists but was not written there by the
    runner (absent from the manifest, or changed since)."""
    try:
        written = read_manifest(out_dir)
    except ValueError as exc:
        return [str(exc)]
    problems: list[str] = []
    seen: dict[Path, Path] = {}
    for path in notebooks:
        target = output_path(path, out_dir)
        key = target.resolve()
        if key == path.resolve():
            problems.append(f"--out {out_dir} would overwrite {path} itself; use --inplace for that")
        elif key in seen:
            problems.append(f"{seen[key]} and {path} would both be written to {target}; run them separately")
        elif target.is_dir():
            problems.append(f"{target} is a folder; cannot write {path} there")
        elif target.exists():
            name = target.relative_to(out_dir).as_posix()
            if name not in written:
                problems.append(f"{target} exists and was not written by run_notebooks (it is not in "
                                f"{out_dir / MANIFEST_NAME}); refusing to overwrite it: choose another "
                                f"--out folder, or move the file away (use --inplace to refresh a source notebook)")
            elif file_digest(target) != written[name]:
                problems.append(f"{target} changed since run_notebooks wrote it (edited?); refusing to "
                                f"overwrite it: move it away or delete it, or choose another --out folder")
        seen[key] = path
    return problems


def write_notebook(nb: nbformat.NotebookNode, target: Path) -> None:
    """Write ``nb`` to ``target`` atomically (a temporary file in the same folder, then ``os.replace``)."""
    atomic_write(target, lambda tmp: nbformat.write(nb, str(tmp)), overwrite=True)


def execute_notebook(
    path: Path, timeout: int = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None
) -> tuple[nbformat.NotebookNode, BaseException | None]:
    """Run ``path`` in a fresh :data:`KERNEL_NAME` kernel with its folder as working directory.

    Returns the (partly, on error) executed notebook with cleaned metadata and the exception
    that stopped it, or ``None`` when every cell succeeded.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.resolve().parent)}},
        record_timing=False,
        allow_errors=False,
        # The kernel's own start-up log (e.g. "running over TCP without encryption")
        # goes to this process's stderr, not into the notebook; keep the table readable.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    error: BaseException | None = None
    try:
        client.execute(env=kernel_env(env))
    except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
        error = exc
    return clean_metadata(nb), error


def error_summary(error: BaseException, max_lines: int = ERROR_LINES) -> str:
    """The exception's class name and the first ``max_lines`` non-blank lines of its message,
    without terminal colour codes, indented for the table."""
    text = _ANSI.sub("", str(error))
    lines = [line for line in text.splitlines() if line.strip()][:max_lines]
    return "\n".join([f"    {type(error).__name__}"] + [f"    | {line}" for line in lines])


def format_row(result: Result, width: int = _NAME_WIDTH) -> str:
    """One fixed-width table line: path (padded to ``width`` characters), seconds with one decimal,
    ok/FAILED. ``run`` passes the longest path's length, so a long name never shifts the columns."""
    name = str(result.path)
    return f"{name:<{width}} {result.seconds:7.1f} s  {'ok' if result.ok else 'FAILED'}"


def format_total(results: Sequence[Result]) -> str:
    """The closing line: ``total  N notebooks  S s  K failed``."""
    seconds = sum(r.seconds for r in results)
    failed = sum(not r.ok for r in results)
    return f"total  {len(results)} notebooks  {seconds:.1f} s  {failed} failed"


def collect(paths: Sequence[str]) -> list[Path]:
    """Turn the command line's paths into existing notebook files.

    A path that still contains a glob character and does not exist is a shell pattern that
    matched nothing (e.g. ``solutions/*.ipynb`` before any solution exists): it is skipped
    with a note. Any other missing path is an error (:class:`FileNotFoundError`).
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            if path not in found:
                found.append(path)
        elif any(ch in raw for ch in "*?[") and not path.exists():
            print(f"note: no notebook matches {raw}", file=sys.stderr)
        else:
            raise FileNotFoundError(f"no such notebook: {raw}")
    return found


def run(
    notebooks: Sequence[Path],
    out_dir: Path | None,
    timeout: int = DEFAULT_TIMEOUT,
) -> list[Result]:
    """Execute each notebook, write it (to ``out_dir`` or, with ``out_dir=None``, in place),
    print its table line as soon as it is done, and return the results.

    With ``out_dir``, the targets are checked first (:func:`check_targets`, ValueError if any
    problem) and each written file is recorded in ``out_dir``'s manifest."""
    written: dict[str, str] = {}
    if out_dir is not None:
        problems = check_targets(notebooks, out_dir)
        if problems:
            raise ValueError("; ".join(problems))
        written = read_manifest(out_dir)
    results: list[Result] = []
    width = max([_NAME_WIDTH, *(len(str(path)) for path in notebooks)])
    for path in notebooks:
        start = time.perf_counter()
        nb: nbformat.NotebookNode | None
        try:
            nb, error = execute_notebook(path, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - e.g. a file that is not a notebook
            nb, error = None, exc
        result = Result(path, time.perf_counter() - start, error)
        if nb is None:
            pass
        elif out_dir is not None:
            target = output_path(path, out_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_notebook(nb, target)
            written[target.relative_to(out_dir).as_posix()] = file_digest(target)
            write_manifest(out_dir, written)
        elif result.ok:
            write_notebook(nb, path)
        results.append(result)
        print(format_row(result, width), flush=True)
        if isinstance(error, CellTimeoutError):
            print(f"    a cell ran longer than the limit of {timeout} s and was stopped; on a slow or busy machine "
                  f"raise the limit: make course TIMEOUT={2 * timeout} (or --timeout {2 * timeout})", flush=True)
        elif error is not None:
            print(error_summary(error), flush=True)
    return results


def _positive_seconds(text: str) -> int:
    """``--timeout``'s type: a whole number of seconds ≥ 1 (0 or less is not "no limit")."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds >= 1, got {text!r}")
    return value


def check_out_dir(out_dir: Path) -> str | None:
    """The problem with ``--out out_dir`` (None if none), creating the folder if it is missing."""
    if out_dir.exists() and not out_dir.is_dir():
        return f"--out {out_dir}: is a file, not a folder"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"--out {out_dir}: cannot create the folder ({exc.strerror or exc})"
    if not os.access(out_dir, os.W_OK | os.X_OK):
        return f"--out {out_dir}: the folder is not writable"
    return None


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m mtl_lessons.run_notebooks",
        description="Execute notebooks headless, each in a fresh python3 kernel, "
        "and print a timing table. Exit status 1 if any notebook fails.",
    )
    parser.add_argument("notebooks", nargs="*", help="notebook files (.ipynb) to execute, in order")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write executed copies to DIR/<folder>/<name>.ipynb; sources stay untouched; "
        "never overwrites a file in DIR that the runner did not write (see DIR/" + MANIFEST_NAME + ")",
    )
    where.add_argument(
        "--inplace",
        action="store_true",
        help="overwrite each source notebook with its fresh outputs (only if it succeeded)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"per-cell time limit in seconds, >= 1 (default {DEFAULT_TIMEOUT})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        notebooks = collect(args.notebooks)
    except FileNotFoundError as exc:
        parser.error(str(exc))  # exits with status 2
    not_notebooks = [str(path) for path in notebooks if path.suffix != ".ipynb"]
    if not_notebooks:
        parser.error(f"not notebooks (.ipynb): {not_notebooks}")
    out_dir: Path | None = args.out
    if out_dir is not None:
        problem = check_out_dir(out_dir)
        if problem:
            parser.error(problem)
        problems = check_targets(notebooks, out_dir)
        if problems:
            parser.error("; ".join(problems))  # exits with status 2, before anything runs
    if not notebooks:
        print("no notebooks to run")
    results = run(notebooks, out_dir, timeout=args.timeout)
    print(format_total(results), flush=True)
    return 1 if any(not r.ok for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
