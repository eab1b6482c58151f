"""Tests of mtl_lessons.atomic.atomic_write (temp file in the same folder + os.replace)."""
from __future__ import annotations

import os
import stat

import pytest

from mtl_lessons.atomic import atomic_write


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_a_new_file_with_normal_permissions(tmp_path):
    out = atomic_write(tmp_path / "a.txt", lambda p: p.write_text("hello"), overwrite=False)
    assert out == tmp_path / "a.txt" and out.read_text() == "hello"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert _leftovers(tmp_path) == []


def test_refuses_to_replace_an_existing_file_without_overwrite(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    called = []
    with pytest.raises(FileExistsError, match=r"a\.txt.*overwrite=True"):
        atomic_write(path, lambda p: called.append(p), overwrite=False)
    assert called == [] and path.read_text() == "old"
    atomic_write(path, lambda p: p.write_text("new"), overwrite=True)
    assert path.read_text() == "new" and _leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_error_inside_the_writer_leaves_the_old_file_and_no_temp_file(tmp_path, error):
    path = tmp_path / "card.md"
    path.write_text("hand-written text\n")
    path.chmod(0o640)

    def half_write(tmp):
        tmp.write_text("stub")
        raise error

    with pytest.raises(type(error)):
        atomic_write(path, half_write, overwrite=True)
    assert path.read_text() == "hand-written text\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["card.md"]


def test_replacing_keeps_the_old_permissions(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write(path, lambda p: p.write_text("new"), overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_temp_file_is_in_the_destination_folder(tmp_path):
    seen = []
    atomic_write(tmp_path / "a.bin", lambda p: (seen.append(p), p.write_bytes(b"x")), overwrite=False)
    assert seen[0].parent == tmp_path and seen[0] != tmp_path / "a.bin"


def test_bad_destinations_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        atomic_write(tmp_path / "missing" / "a.txt", lambda p: None, overwrite=True)
    with pytest.raises(IsADirectoryError, match="folder"):
        atomic_write(tmp_path, lambda p: None, overwrite=True)
    with pytest.raises(TypeError, match="write must be a callable"):
        atomic_write(tmp_path / "a.txt", "text", overwrite=True)
    assert _leftovers(tmp_path) == []
