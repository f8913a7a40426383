"""Crash-safe lockfile writes: an advisory lock around read-modify-write, and an atomic
replace, so a crash never leaves half a file and concurrent writers never lose an update
(internal).

The advisory lock is ``fcntl.flock`` on a sibling file ``.<name>.flock`` that is left in place
(removing it would let a third process lock a different inode). In a shared directory it is made
writable for whoever may write there; see ``exclusive_lock``. Windows has no ``flock``; there
writes are still atomic but concurrent writers are not serialized.

A lockfile over ``MAX_LOCKFILE_BYTES`` is refused before it is read: TOML parsing is slow
enough that a runaway or hostile file would stall the process for a minute and more.
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

__all__ = [
    "MAX_LOCKFILE_BYTES",
    "atomic_write",
    "check_size",
    "exclusive_lock",
    "lock_path_for",
    "read_text",
]

_NEW_FILE_MODE = 0o644

#: Real lockfiles are a few kilobytes; 16,000 bindings take about 1.5 MB.
MAX_LOCKFILE_BYTES = 5 * 1024 * 1024


def check_size(size: int, path: object) -> None:
    """``LockfileError`` for a lockfile of ``size`` bytes over ``MAX_LOCKFILE_BYTES``."""
    if size > MAX_LOCKFILE_BYTES:
        raise LockfileError(
            f"{path} is {size:,} bytes, over the {MAX_LOCKFILE_BYTES:,}-byte limit for a "
            "lockfile; refused unread"
        )


def lock_path_for(path: Path) -> Path:
    """The advisory lock file that guards ``path``."""
    return path.with_name(f".{path.name}.flock")


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock for ``path`` (blocking until it is free).

    The sibling lock file is shared by every user who edits ``path``: it is created
    group-writable or world-writable when the directory is, and one that is not writable for
    this user (another user made it 0644) is locked through a read-only descriptor, which
    ``flock`` accepts. Only if it cannot be opened at all is the lockfile itself locked.
    """
    if sys.platform == "win32":  # no flock: writes are still atomic (see the module doc)
        yield
        return
    fd = _lock_sibling(path)
    if fd is None:
        fd = _lock_itself(path)
    try:
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _lock_sibling(path: Path) -> int | None:
    """The sibling lock file, open and locked; None when this user cannot use it."""
    lock = lock_path_for(path)
    try:
        fd = _open_shared(lock, _shared_mode(path.parent))
    except PermissionError:
        return None
    except OSError as exc:
        raise LockfileError(f"cannot lock {path}: {lock}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # e.g. NFS, where an exclusive lock needs a writable descriptor
        os.close(fd)
        return None
    return fd


def _open_shared(lock: Path, mode: int) -> int:
    """Open ``lock``, creating it with exactly ``mode`` (not narrowed by the umask)."""
    try:
        return os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        pass
    except PermissionError:
        return os.open(lock, os.O_RDONLY)  # another user's file: flock needs no write access
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:  # another process created it just now
        return _open_shared(lock, mode)
    with suppress(OSError):
        os.fchmod(fd, mode)
    return fd


def _shared_mode(directory: Path) -> int:
    """0644, plus group and world write where ``directory`` grants them: whoever may write
    the lockfile there may take its lock."""
    try:
        granted = os.stat(directory).st_mode
    except OSError:
        return _NEW_FILE_MODE
    return _NEW_FILE_MODE | (granted & 0o022)


def _lock_itself(path: Path) -> int:
    """Lock ``path``'s own inode, re-checking after each wait that a writer did not replace
    the file meanwhile (``atomic_write`` swaps inodes)."""
    lock = lock_path_for(path)
    while True:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise LockfileError(
                f"cannot lock {path}: the lock file {lock} is not usable by this user and "
                f"{path} cannot be locked instead ({exc.strerror}); ask the owner of {lock} "
                "to make it group-writable, or remove it"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except OSError as exc:
            os.close(fd)
            raise LockfileError(f"cannot lock {path}: {exc.strerror}") from exc
        os.close(fd)  # replaced while we waited: lock the new file


def read_text(path: Path) -> str:
    """The file's text, line endings as written (so a rewrite keeps them); a file over
    ``MAX_LOCKFILE_BYTES`` is a ``LockfileError`` before anything is read."""
    with open(path, "rb") as file:
        check_size(os.fstat(file.fileno()).st_size, path)
        data = file.read(MAX_LOCKFILE_BYTES + 1)  # a file still growing is bounded too
    check_size(len(data), path)
    return data.decode("utf-8")


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
