"""mtl_lessons.run_notebooks refuses bad arguments before running anything, never writes over a
file it did not write, and writes notebooks atomically (issue 11, rows 2 and 3).

The runner's normal behaviour (table, metadata, --inplace reruns) is tested in
tests/test_notebook_hygiene.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from mtl_lessons import run_notebooks


def notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny")] + [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def never_run(monkeypatch):
    """Fail the test if the runner starts a kernel."""
    def refuse(*args, **kwargs):
        raise AssertionError("a notebook was executed although the arguments were refused")

    monkeypatch.setattr(run_notebooks, "execute_notebook", refuse)


@pytest.fixture
def fake_run(monkeypatch):
    """Execute instantly: the notebook gets one output, no kernel is started."""
    calls: list[Path] = []

    def execute(path, timeout=run_notebooks.DEFAULT_TIMEOUT, env=None):
        calls.append(path)
        nb = nbformat.read(path, as_version=4)
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"run {len(calls)}\n")]
        return run_notebooks.clean_metadata(nb), None

    monkeypatch.setattr(run_notebooks, "execute_notebook", execute)
    return calls


def usage_error(capsys, argv) -> str:
    """Run the command line, assert exit status 2, return stderr."""
    with pytest.raises(SystemExit) as exit_info:
        run_notebooks.main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


# --------------------------------------------------------------------------- arguments checked first
def test_out_that_is_a_file_is_refused_before_running(tmp_path, capsys, never_run):
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep me")
    err = usage_error(capsys, ["--out", str(a_file), str(source)])
    assert f"--out {a_file}: is a file, not a folder" in err
    err = usage_error(capsys, ["--out", str(a_file / "sub"), str(source)])
    assert f"--out {a_file / 'sub'}: cannot create the folder" in err
    assert a_file.read_text() == "keep me"


@pytest.mark.parametrize("timeout", ["0", "-1", "-600", "ten", "1.5"])
def test_timeout_must_be_at_least_one_second(tmp_path, capsys, never_run, timeout):
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    err = usage_error(capsys, ["--timeout", timeout, "--out", str(tmp_path / "build"), str(source)])
    assert f"argument --timeout: must be a whole number of seconds >= 1, got {timeout!r}" in err


def test_a_file_that_is_not_a_notebook_is_refused(tmp_path, capsys, never_run):
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    other = tmp_path / "notes.md"
    other.write_text("# notes")
    err = usage_error(capsys, ["--out", str(tmp_path / "build"), str(source), str(other)])
    assert "not notebooks (.ipynb)" in err and "notes.md" in err


# --------------------------------------------------------------------------- nothing is lost
def test_out_other_checkout_does_not_overwrite_its_notebook(tmp_path, capsys, never_run):
    """`--out OTHER_CHECKOUT notebooks/x.ipynb` used to replace OTHER_CHECKOUT/notebooks/x.ipynb, exit 0."""
    source = notebook(tmp_path / "mine" / "notebooks" / "01_a.ipynb", "print('mine')")
    theirs = notebook(tmp_path / "other" / "notebooks" / "01_a.ipynb", "print('theirs: my own work')")
    before = theirs.read_bytes()
    err = usage_error(capsys, ["--out", str(tmp_path / "other"), str(source)])
    assert (f"{theirs} exists and was not written by run_notebooks (it is not in "
            f"{tmp_path / 'other' / run_notebooks.MANIFEST_NAME}); refusing to overwrite it") in err
    assert "--inplace" in err
    assert theirs.read_bytes() == before
    assert not (tmp_path / "other" / run_notebooks.MANIFEST_NAME).exists()


def test_out_onto_the_source_itself_asks_for_inplace(tmp_path, capsys, never_run):
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    err = usage_error(capsys, ["--out", str(tmp_path), str(source)])
    assert f"would overwrite {source} itself; use --inplace for that" in err


def test_two_notebooks_onto_one_target_are_refused(tmp_path, capsys, never_run):
    a = notebook(tmp_path / "a" / "notebooks" / "01_a.ipynb", "print(1)")
    b = notebook(tmp_path / "b" / "notebooks" / "01_a.ipynb", "print(2)")
    err = usage_error(capsys, ["--out", str(tmp_path / "build"), str(a), str(b)])
    assert "would both be written to" in err


def test_repeated_runs_into_the_same_out_folder_work(tmp_path, capsys, fake_run):
    """`make course` writes into build/ again and again."""
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    build = tmp_path / "build"
    for run in (1, 2, 3):
        assert run_notebooks.main(["--out", str(build), str(source)]) == 0
        written = nbformat.read(build / "notebooks" / "01_a.ipynb", as_version=4)
        assert written.cells[1].outputs[0].text == f"run {run}\n"
    manifest = json.loads((build / run_notebooks.MANIFEST_NAME).read_text())
    assert list(manifest["written"]) == ["notebooks/01_a.ipynb"]
    assert sorted(p.name for p in build.rglob("*")) == [run_notebooks.MANIFEST_NAME, "01_a.ipynb", "notebooks"]
    out = capsys.readouterr().out  # the table keeps its form
    assert "01_a.ipynb" in out and " s  ok" in out and "total  1 notebooks" in out


def test_a_copy_edited_in_the_out_folder_is_not_overwritten(tmp_path, capsys, fake_run):
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    build = tmp_path / "build"
    assert run_notebooks.main(["--out", str(build), str(source)]) == 0
    copy = build / "notebooks" / "01_a.ipynb"
    copy.write_text(copy.read_text() + " ")  # a learner's edit
    edited = copy.read_bytes()
    err = usage_error(capsys, ["--out", str(build), str(source)])
    assert f"{copy} changed since run_notebooks wrote it (edited?); refusing to overwrite it" in err
    assert copy.read_bytes() == edited and len(fake_run) == 1


def test_a_damaged_manifest_is_refused(tmp_path, capsys, never_run):
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    build = tmp_path / "build"
    build.mkdir()
    (build / run_notebooks.MANIFEST_NAME).write_text("{not json")
    err = usage_error(capsys, ["--out", str(build), str(source)])
    assert "is not a manifest written by run_notebooks" in err and "make clean" in err


def test_inplace_stays_the_explicit_overwrite(tmp_path, fake_run):
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    assert run_notebooks.main(["--inplace", str(source)]) == 0
    assert nbformat.read(source, as_version=4).cells[1].outputs[0].text == "run 1\n"


@pytest.mark.parametrize("mode", ["--out", "--inplace"])
def test_an_interrupted_write_leaves_the_old_file(tmp_path, fake_run, monkeypatch, mode):
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    build = tmp_path / "build"
    argv = ["--out", str(build), str(source)] if mode == "--out" else ["--inplace", str(source)]
    assert run_notebooks.main(argv) == 0
    target = build / "notebooks" / "01_a.ipynb" if mode == "--out" else source
    before = target.read_bytes()
    real_write = nbformat.write

    def interrupted(nb, fp, **kwargs):
        real_write(nb, fp, **kwargs)
        Path(fp).write_text(Path(fp).read_text()[:50])  # half a file ...
        raise KeyboardInterrupt  # ... then Ctrl-C

    monkeypatch.setattr(nbformat, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_notebooks.main(argv)
    assert target.read_bytes() == before
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_long_notebook_names_keep_the_table_columns_aligned(tmp_path, capsys, fake_run):
    short = notebook(tmp_path / "notebooks" / "01_a.ipynb", "print(1)")
    long = notebook(tmp_path / "notebooks" / ("02_" + "a_very_long_lesson_name_" * 4 + "x.ipynb"), "print(2)")
    assert run_notebooks.main(["--out", str(tmp_path / "build"), str(short), str(long)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.endswith(" s  ok")]
    assert len(rows) == 2 and len(str(long)) > run_notebooks._NAME_WIDTH
    assert len({row.index(" s  ok") for row in rows}) == 1, rows  # the seconds column lines up


def test_a_cell_timeout_prints_how_to_raise_the_limit(tmp_path, capsys, monkeypatch):
    from nbclient.exceptions import CellTimeoutError

    def execute(path, timeout=run_notebooks.DEFAULT_TIMEOUT, env=None):
        return nbformat.read(path, as_version=4), CellTimeoutError("A cell timed out while it was being executed")

    monkeypatch.setattr(run_notebooks, "execute_notebook", execute)
    source = notebook(tmp_path / "notebooks" / "01_a.ipynb", "import time; time.sleep(5)")
    assert run_notebooks.main(["--timeout", "7", "--out", str(tmp_path / "build"), str(source)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "limit of 7 s" in out and "make course TIMEOUT=14" in out
    assert "Traceback" not in out
