"""Crash-safe lockfile writes: an advisory lock around read-modify-write, and an atomic
replace, so a crash never leaves half a file and concurrent writers never lose an update
(internal).

The advisory lock is ``fcntl.flock`` on a sibling file ``.<name>.flock`` that is left in place
(removing it would let a third process lock a different inode). Windows has no ``flock``; there
writes are still atomic but concurrent writers are not serialized.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from llmring.exceptions import LockfileError

if sys.platform != "win32":
    import fcntl

__all__ = ["atomic_write", "exclusive_lock", "lock_path_for", "read_text"]

_NEW_FILE_MODE = 0o644


def lock_path_for(path: Path) -> Path:
    """The advisory lock file that guards ``path``."""
    return path.with_name(f".{path.name}.flock")


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock for ``path`` (blocking until it is free)."""
    try:
        fd = os.open(lock_path_for(path), os.O_RDWR | os.O_CREAT, _NEW_FILE_MODE)
    except OSError as exc:
        raise LockfileError(f"cannot lock {path}: {exc.strerror}") from exc
    try:
        if sys.platform != "win32":
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_text(path: Path) -> str:
    """The file's text, line endings as written (so a rewrite keeps them)."""
    with open(path, encoding="utf-8", newline="") as file:
        return file.read()


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once: write a temporary file beside it, fsync it,
    then ``os.replace``. On any failure the old file is untouched and the temporary is gone."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = _NEW_FILE_MODE
    except OSError as exc:
        raise LockfileError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise LockfileError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(text.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise LockfileError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; best effort (not every platform can open a directory)."""
    if sys.platform == "win32":
        return
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
