"""``python -m mtl_lessons <target>`` runs the same commands as ``make <target>`` (for readers without GNU make)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mtl_lessons import __main__ as entry

ROOT = Path(__file__).resolve().parents[1]


def dry_run(*argv: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "mtl_lessons", *argv, "--dry-run"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return proc.stdout.splitlines()


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
@pytest.mark.parametrize("target", ["course", "test", "unit", "lab", "refresh", "data", "bench", "serve", "site"])
def test_each_target_runs_the_makefiles_command(target):
    if not (ROOT / entry.stamp()).exists():
        pytest.skip(".venv is not set up for the current dependency files (make would first run its set-up)")
    made = subprocess.run(["make", "-s", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True)
    assert dry_run(target) == [made.stdout.splitlines()[-1]]


def test_timeout_reaches_the_runner():
    if not (ROOT / entry.stamp()).exists():
        pytest.skip(".venv is not set up for the current dependency files")
    assert "--timeout 1200 " in dry_run("course", "--timeout", "1200")[0]


def fake_clone(tmp_path: Path, monkeypatch) -> Path:
    for name in entry.DEP_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setattr(entry, "ROOT", tmp_path)
    return tmp_path


def test_setup_creates_the_venv_then_installs_the_lock_like_the_makefile(tmp_path, monkeypatch):
    clone = fake_clone(tmp_path, monkeypatch)
    python = str(entry.venv_bin("python"))
    assert entry.setup_commands() == [
        [sys.executable, "-m", "venv", ".venv"], [python, "-m", "pip", "install", "-q", f"pip=={entry.PIP_VERSION}"],
        [python, "-m", "pip", "install", "-q", "-r", "requirements-lock.txt"],
        [python, "-m", "pip", "install", "-qq", "--no-deps", "-e", "."]]
    (clone / entry.venv_bin("python")).parent.mkdir(parents=True)
    (clone / entry.venv_bin("python")).touch()
    assert [c[3:] for c in entry.setup_commands()] == [["install", "-q", "-r", "requirements-lock.txt"],
                                                     ["install", "-qq", "--no-deps", "-e", "."]]
    (clone / entry.stamp()).touch()  # up to date: nothing to install
    assert entry.setup_commands() == []


@pytest.mark.skipif(os.name == "nt", reason="a POSIX shell script stands in for another Python")
def test_a_venv_of_another_python_is_refused_with_one_message(tmp_path, monkeypatch):
    clone = fake_clone(tmp_path, monkeypatch)
    fake = clone / entry.venv_bin("python")
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho False\n")
    fake.chmod(0o755)
    message = entry.check_python()
    assert message is not None and "another Python" in message and ".venv" in message


def test_bad_arguments_are_named(capsys):
    for argv, expected in ((["course", "--timeout", "0"], "--timeout: must be a whole number of seconds >= 1"),
                           (["build"], "invalid choice: 'build'")):
        with pytest.raises(SystemExit) as exit_info:
            entry.main(argv)
        assert exit_info.value.code == 2 and expected in capsys.readouterr().err


def test_clean_removes_build_only(tmp_path, monkeypatch):
    clone = fake_clone(tmp_path, monkeypatch)
    (clone / "build" / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(clone)
    assert entry.main(["clean"]) == 0
    assert not (clone / "build").exists() and (clone / "notebooks").is_dir()


def test_torch_cpu_installs_pytorchs_cpu_build_before_the_lock(tmp_path, monkeypatch):
    clone = fake_clone(tmp_path, monkeypatch)
    monkeypatch.setattr(entry.sys, "platform", "linux")
    python = str(entry.venv_bin("python"))
    cpu = [python, "-m", "pip", "install", "-q", "torch==2.13.0+cpu", "--index-url", "https://download.pytorch.org/whl/cpu"]
    commands = entry.setup_commands("cpu")
    assert commands[2] == cpu and commands[3][-2:] == ["-r", "requirements-lock.txt"]
    assert cpu not in entry.setup_commands()
    # set up without --torch: --torch cpu still installs the CPU build once (its own stamp) ...
    (clone / entry.stamp()).parent.mkdir(parents=True)
    (clone / entry.stamp()).touch()
    assert entry.setup_commands() == [] and cpu in entry.setup_commands("cpu")
    # ... and after it, neither asks for anything (main touches both stamps)
    (clone / entry.stamp("cpu")).touch()
    assert entry.setup_commands("cpu") == [] and entry.stamp("cpu").name.endswith("-cpu")
    monkeypatch.setattr(entry.sys, "platform", "darwin")  # PyPI's torch is CPU-only there
    (clone / entry.stamp("cpu")).unlink()
    assert entry.setup_commands("cpu") and cpu not in entry.setup_commands("cpu")


@pytest.mark.skipif(shutil.which("make") is None or not sys.platform.startswith("linux"),
                    reason="GNU make on Linux is needed")
def test_torch_cpu_is_the_makefiles_command_and_other_values_are_refused():
    made = subprocess.run(["make", "-s", "-n", "-B", "setup", "TORCH=cpu"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.splitlines()
    python = str(entry.venv_bin("python"))
    expected = f"{python} -m pip install -q torch==2.13.0+cpu --index-url https://download.pytorch.org/whl/cpu"
    assert expected in made and made.index(expected) < made.index(f"{python} -m pip install -q -r requirements-lock.txt")
    assert "touch .venv/.installed-" in made[-1] and made[-1].count(".installed-") == 2
    refused = subprocess.run(["make", "-s", "-n", "setup", "TORCH=gpu"], cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode != 0 and "TORCH=gpu is not understood; say TORCH=cpu" in refused.stderr
