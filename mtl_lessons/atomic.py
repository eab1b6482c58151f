"""Atomic file writes: a crash or a Ctrl-C never leaves a half-written file.

Every file the package writes goes through :func:`atomic_write`: the content is
written to a temporary file in the destination's own folder (same file system),
flushed to disk, then moved into place with :func:`os.replace`, which is atomic.
If the writer raises (or the process is interrupted), the old file is untouched
and the temporary file is removed.

Example::

    from mtl_lessons.atomic import atomic_write
    atomic_write("out.csv", lambda tmp: table.to_csv(tmp, index=False), overwrite=True)
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], *, overwrite: bool) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temporary file, then ``os.replace(tmp, path)``.

    Args:
        path: destination file; its folder must exist.
        write: callback that writes the whole content to the ``Path`` it receives (a new, empty
            file in the same folder as ``path``; the callback may open it in any mode or pass it to
            ``DataFrame.to_csv``, ``np.savez``, ... — a writer that appends a suffix to the name it is
            given, such as ``np.savez``, is not supported: give it an open file object instead).
        overwrite: if False and ``path`` already exists, raise ``FileExistsError`` before writing
            anything; if True, replace it.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        FileNotFoundError: the destination folder does not exist.
        IsADirectoryError: ``path`` is a folder.
        Whatever ``write`` raises; then the old file is intact and no temporary file is left.
    """
    if not callable(write):
        raise TypeError(f"write must be a callable taking a Path, got {type(write).__name__}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; atomic_write needs a file path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist; create it before writing {path.name}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:  # the bytes reach the disk before the rename
            os.fsync(f.fileno())
        if path.exists():  # keep the old file's permission bits (mkstemp creates 0600)
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
