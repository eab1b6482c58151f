"""Every committed notebook is clean: executed top to bottom in a fresh kernel, quiet,
free of machine-specific paths, and (for lessons) complete.

These checks read the notebooks' JSON only; nbval (in the same `make test`) re-executes
them and compares outputs. To fix most failures here, run `make refresh`.

Also tests mtl_lessons.run_notebooks, the runner behind `make course` and `make refresh`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from mtl_lessons import run_notebooks

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
ALL_NOTEBOOKS = LESSONS + SOLUTIONS

FILE_NAME = re.compile(r"^\d{2}_[a-z0-9]+(_[a-z0-9]+)*\.ipynb$")
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:root|home|tmp|work|Users|private/var)/[\w./-]+")
NOISE = re.compile(
    r"Warning:|WARNING|it/s\]|s/it\]|oneDNN custom operations|absl::InitializeLog|cpu_feature_guard"
)
# Sections every lesson needs, matched against its markdown headings (English or Chinese).
LESSON_SECTIONS = {
    "learning objectives": re.compile(r"learning objectives|学习目标", re.IGNORECASE),
    "summary": re.compile(r"summary|小结|总结", re.IGNORECASE),
    "exercises": re.compile(r"exercises?|练习", re.IGNORECASE),
    "further reading": re.compile(r"further reading|延伸阅读|扩展阅读|参考资料", re.IGNORECASE),
}
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+)$", re.MULTILINE)
TEXT_MIME = ("text/plain", "text/html", "text/markdown", "text/latex")


def _params(paths: list[Path], what: str) -> list[Any]:
    """One pytest param per notebook, or a single clearly skipped one if there are none."""
    if not paths:
        return [pytest.param(None, id="none", marks=pytest.mark.skip(reason=f"no {what} yet"))]
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in paths]


all_notebooks = pytest.mark.parametrize(
    "path", _params(ALL_NOTEBOOKS, "notebooks in notebooks/ or solutions/")
)
lessons = pytest.mark.parametrize("path", _params(LESSONS, "lesson notebooks in notebooks/"))


def load(path: Path) -> dict[str, Any]:
    """The notebook's JSON."""
    return json.loads(path.read_text(encoding="utf-8"))


def text(value: Any) -> str:
    """A notebook string field, stored either as one string or as a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def code_cells(nb: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(index, cell) of every code cell."""
    return [(i, c) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def output_texts(nb: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, text) of every textual output: streams, text/* data and error tracebacks."""
    found: list[tuple[str, str]] = []
    for i, cell in code_cells(nb):
        for output in cell.get("outputs", []):
            kind = output["output_type"]
            where = f"cell {i} ({kind})"
            if kind == "stream":
                found.append((where, text(output.get("text", ""))))
            elif kind in ("execute_result", "display_data"):
                for mime in TEXT_MIME:
                    if mime in output.get("data", {}):
                        found.append((f"{where} {mime}", text(output["data"][mime])))
            elif kind == "error":
                found.append((where, "\n".join(output.get("traceback", []))))
    return found


@all_notebooks
def test_file_name(path: Path) -> None:
    assert FILE_NAME.match(path.name), (
        f"{path.name}: name notebooks NN_lower_snake_case.ipynb (two digits, then [a-z0-9_])"
    )


@all_notebooks
def test_kernelspec_is_python3(path: Path) -> None:
    kernelspec = load(path)["metadata"].get("kernelspec", {})
    assert kernelspec.get("name") == "python3", (
        f"kernelspec is {kernelspec.get('name')!r}; `make refresh` saves it as 'python3'"
    )


@all_notebooks
def test_first_cell_is_a_title(path: Path) -> None:
    cells = load(path)["cells"]
    assert cells, "the notebook is empty"
    first = cells[0]
    assert first["cell_type"] == "markdown", "the first cell must be markdown"
    assert text(first["source"]).startswith("# "), "the first cell must start with '# Title'"


@all_notebooks
def test_executed_top_to_bottom_in_a_fresh_kernel(path: Path) -> None:
    counts = [cell.get("execution_count") for _, cell in code_cells(load(path))]
    assert counts == list(range(1, len(counts) + 1)), (
        f"execution counts are {counts}, expected 1..{len(counts)}: run `make refresh` "
        "(and delete empty code cells, which are never executed)"
    )


@all_notebooks
def test_no_error_outputs(path: Path) -> None:
    errors = [
        f"cell {i}: {out.get('ename')}: {out.get('evalue')}"
        for i, cell in code_cells(load(path))
        for out in cell.get("outputs", [])
        if out["output_type"] == "error"
    ]
    assert not errors, errors


@all_notebooks
def test_no_stderr_output(path: Path) -> None:
    stderr = [
        f"cell {i}: {text(out.get('text', ''))[:200]!r}"
        for i, cell in code_cells(load(path))
        for out in cell.get("outputs", [])
        if out["output_type"] == "stream" and out.get("name") == "stderr"
    ]
    assert not stderr, f"stderr output (warnings, logs, progress bars): {stderr}"


@all_notebooks
def test_no_machine_paths(path: Path) -> None:
    nb = load(path)
    places = output_texts(nb) + [
        (f"cell {i} source", text(cell["source"])) for i, cell in enumerate(nb["cells"])
    ]
    hits = [f"{where}: {m.group(0)}" for where, body in places for m in MACHINE_PATH.finditer(body)]
    assert not hits, f"machine-specific paths (use paths relative to the notebook): {hits}"


@all_notebooks
def test_no_warning_or_progress_noise(path: Path) -> None:
    hits = [
        f"{where}: ...{body[max(0, m.start() - 40): m.end() + 40]!r}..."
        for where, body in output_texts(load(path))
        for m in NOISE.finditer(body)
    ]
    assert not hits, f"warning / progress-bar noise in outputs: {hits}"


# What marks a cell as printing wall-clock figures: a timer in its source, or a time or speed
# figure in its outputs ("12.3 s", "450 ms", "samples/s", "wall time", "took ...").
TIMING = re.compile(
    r"perf_counter|process_time|time\.time\(|time\.monotonic|timeit|%%?time\b|samples_per_second"
    r"|\bseconds\b|samples/s|examples/s|it/s|steps/s|ms/step|wall[- ]?(?:clock|time)|elapsed|latency"
    r"|\btook\b|\d\s*(?:ms|µs|us|s|sec|secs)\b",
    re.IGNORECASE,
)
IGNORE_TAG = "nbval-ignore-output"


@all_notebooks
def test_ignore_output_tag_only_on_timing_cells(path: Path) -> None:
    """nbval compares every output exactly; only a cell that prints wall-clock figures (seconds,
    samples/s) may opt out with the tag nbval-ignore-output (and it prints nothing else)."""
    nb = load(path)
    offending = []
    for i, cell in enumerate(nb["cells"]):
        if IGNORE_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        outputs = [
            text(out.get("text", "")) + "".join(text(v) for k, v in out.get("data", {}).items() if k in TEXT_MIME)
            for out in cell.get("outputs", [])
        ]
        if not TIMING.search(text(cell["source"]) + "\n".join(outputs)):
            first = next((line for line in text(cell["source"]).splitlines() if line.strip()), "")
            offending.append(f"cell {i} ({first[:60]!r})")
    assert not offending, (
        f"{path.parent.name}/{path.name}: {IGNORE_TAG} on cells that print no wall-clock figures: "
        f"{', '.join(offending)}; remove the tag (nbval then compares the output; round a value that "
        "drifts in its last digits where it is printed), or move the timing into a cell of its own"
    )


@all_notebooks
def test_no_execution_timing_metadata(path: Path) -> None:
    timed = [i for i, cell in enumerate(load(path)["cells"]) if "execution" in cell.get("metadata", {})]
    assert not timed, f"cells {timed} carry 'execution' timing metadata: run `make refresh`"


@lessons
def test_lesson_has_required_sections(path: Path) -> None:
    headings = [
        heading
        for cell in load(path)["cells"]
        if cell["cell_type"] == "markdown"
        for heading in HEADING.findall(text(cell["source"]))
    ]
    missing = [
        section
        for section, pattern in LESSON_SECTIONS.items()
        if not any(pattern.search(heading) for heading in headings)
    ]
    assert not missing, f"markdown headings missing for: {missing} (headings: {headings})"


@lessons
def test_lesson_has_a_solutions_notebook(path: Path) -> None:
    prefix = path.name[:3]  # "NN_"
    matches = [s.name for s in SOLUTIONS if s.name.startswith(prefix)]
    assert matches, f"no solutions/{prefix}*.ipynb for lesson {path.name}"


# --- the runner ---------------------------------------------------------------------------


def _write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny")] + [
        nbformat.v4.new_code_cell(source) for source in sources
    ]
    nb.metadata["kernelspec"] = {"name": "someone-elses-kernel", "display_name": "x", "language": "python"}
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2020-01-01T00:00:00Z"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_run_notebooks_writes_executed_copy_to_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _write_notebook(tmp_path / "lessons" / "01_tiny.ipynb", "print(1+1)")
    before = source.read_bytes()
    status = run_notebooks.main(["--out", str(tmp_path / "build"), str(source)])
    assert status == 0
    assert source.read_bytes() == before, "--out must not touch the source notebook"
    executed = nbformat.read(tmp_path / "build" / "lessons" / "01_tiny.ipynb", as_version=4)
    cell = executed.cells[1]
    assert cell.execution_count == 1
    assert [(o.output_type, o.get("text")) for o in cell.outputs] == [("stream", "2\n")]
    assert executed.metadata.kernelspec.name == "python3"
    assert "execution" not in cell.metadata
    out = capsys.readouterr().out
    assert re.search(r"01_tiny\.ipynb\s+\d+\.\d s  ok$", out, flags=re.MULTILINE), out
    assert re.search(r"^total  1 notebooks  \d+\.\d s  0 failed$", out, flags=re.MULTILINE), out


def test_run_notebooks_reports_a_failing_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _write_notebook(tmp_path / "lessons" / "02_boom.ipynb", "raise ValueError('boom')")
    before = source.read_bytes()
    status = run_notebooks.main(["--inplace", str(source)])
    assert status == 1
    assert source.read_bytes() == before, "--inplace must not overwrite a notebook that failed"
    out = capsys.readouterr().out
    assert re.search(r"02_boom\.ipynb\s+\d+\.\d s  FAILED$", out, flags=re.MULTILINE), out
    assert "CellExecutionError" in out and "boom" in out
    assert "total  1 notebooks" in out and "1 failed" in out


def test_run_notebooks_inplace_gives_identical_reruns(tmp_path: Path) -> None:
    source = _write_notebook(tmp_path / "03_again.ipynb", "import os\nprint(os.environ['KERAS_BACKEND'])")
    assert run_notebooks.main(["--inplace", str(source)]) == 0
    first = source.read_bytes()
    nb = nbformat.read(source, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[1].outputs[0].text == "tensorflow\n"
    assert all("execution" not in cell.metadata for cell in nb.cells)
    assert run_notebooks.main(["--inplace", str(source)]) == 0
    assert source.read_bytes() == first


def test_run_notebooks_skips_unmatched_glob_and_rejects_missing_file(tmp_path: Path) -> None:
    assert run_notebooks.main(["--out", str(tmp_path / "b"), str(tmp_path / "none" / "*.ipynb")]) == 0
    with pytest.raises(SystemExit) as exit_info:
        run_notebooks.main(["--out", str(tmp_path / "b"), str(tmp_path / "missing.ipynb")])
    assert exit_info.value.code == 2


def test_importing_the_runner_imports_no_framework() -> None:
    code = ("import sys, mtl_lessons.run_notebooks; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"


def test_runner_merges_stream_chunks():
    """print() output that reaches the kernel in several chunks is saved as one stream output."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="PASS: a"),
        nbformat.v4.new_output("stream", name="stdout", text="\n"),
        nbformat.v4.new_output("stream", name="stderr", text="e"),
    ]
    outputs = run_notebooks.clean_metadata(nb).cells[0].outputs
    assert [(o["name"], o["text"]) for o in outputs] == [("stdout", "PASS: a\n"), ("stderr", "e")]
