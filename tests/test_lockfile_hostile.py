"""The lockfile at size and across users: an oversized file is refused unread, and the lock
file in a shared directory does not lock out the other users who may write there.

The cross-user cases fork a child that drops to another uid (they need root to do that; as
another user they are skipped and the permission cases run by chmod instead). The timing of a
16,000-binding ``lock validate`` is in benchmarks/bench_hostile.py.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmring.config import _io as _lockfile_io
from llmring.config._io import MAX_LOCKFILE_BYTES, lock_path_for, read_text
from llmring.config.lockfile import Lockfile, edit_lockfile, starter_text
from llmring.exceptions import LockfileError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and flock")

USER_A, USER_B = 65534, 65533  # nobody, and another unprivileged uid with no files
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def bind(alias: str) -> Callable[[Path], None]:
    def run(path: Path) -> None:
        edit_lockfile(path, lambda lf: lf.set_binding(alias, "openai:gpt-4o-mini"), create=True)

    return run


def aliases(path: Path) -> list[str]:
    """The aliases bound beyond the starter file's."""
    starter = Lockfile.parse(starter_text()).effective_bindings()
    return sorted(set(Lockfile.load(path).effective_bindings()) - set(starter))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A world-writable directory that every uid can reach (pytest's tmp_path is 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="llmring-shared-", dir="/tmp"))
    directory.chmod(0o777)
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def as_user(uid: int, action: Callable[[Path], None], path: Path) -> str:
    """Run ``action(path)`` in a child process as ``uid``; what it raised, or "ok"."""
    # The child may not be able to read the package itself (a checkout under a 0700 directory,
    # as CI's is): what it needs from it is read here first.
    starter_text()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        outcome = "ok"
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.umask(0o022)
            action(path)
        except BaseException as exc:
            outcome = "".join(traceback.format_exception_only(exc)).strip()
        finally:
            os.write(write, outcome.encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome


# --- size ------------------------------------------------------------------------------------


def test_a_lockfile_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    comment = b"# " + b"x" * 1021 + b"\n"
    path.write_bytes(starter_text().encode() + comment * (MAX_LOCKFILE_BYTES // 1024))
    size = path.stat().st_size
    assert size > MAX_LOCKFILE_BYTES
    started = time.perf_counter()
    with pytest.raises(LockfileError) as caught:
        Lockfile.load(path)
    assert time.perf_counter() - started < 2  # unread: tomlkit would take minutes
    assert str(caught.value) == (
        f"{path} is {size:,} bytes, over the {MAX_LOCKFILE_BYTES:,}-byte limit for a "
        "lockfile; refused unread"
    )
    with pytest.raises(LockfileError, match="over the"):
        edit_lockfile(path, lambda lf: lf.set_binding("a", "openai:gpt-4o-mini"))
    with pytest.raises(LockfileError, match="over the"):
        Lockfile.parse(path.read_text())


def test_a_lockfile_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "llmring.lock"
    text = starter_text().encode()
    path.write_bytes(text + b"#" * (MAX_LOCKFILE_BYTES - len(text) - 1) + b"\n")
    assert path.stat().st_size == MAX_LOCKFILE_BYTES
    assert read_text(path).encode() == path.read_bytes()  # (parsing 5 MB would take seconds)


# --- the lock file's mode --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("directory_mode", "lock_mode"), [(0o755, 0o644), (0o775, 0o664), (0o777, 0o666)]
)
def test_the_lock_file_is_as_writable_as_its_directory(
    tmp_path: Path, directory_mode: int, lock_mode: int
) -> None:
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(directory_mode)
    old_umask = os.umask(0o022)  # the umask must not narrow it back to 0644
    try:
        bind("a")(directory / "llmring.lock")
    finally:
        os.umask(old_umask)
    assert mode(lock_path_for(directory / "llmring.lock")) == lock_mode


# --- other users (root forks a child per uid) --------------------------------------------------


@pytest.mark.skipif(not AS_ROOT, reason="needs root to act as two users")
def test_two_users_bind_in_a_shared_directory(shared_dir: Path) -> None:
    path = shared_dir / "llmring.lock"
    assert as_user(USER_A, bind("from-a"), path) == "ok"
    lock = lock_path_for(path)
    assert (lock.stat().st_uid, mode(lock)) == (USER_A, 0o666)
    assert as_user(USER_B, bind("from-b"), path) == "ok"
    assert aliases(path) == ["from-a", "from-b"]


@pytest.mark.skipif(not AS_ROOT, reason="needs root to act as two users")
@pytest.mark.parametrize("legacy_mode", [0o644, 0o600])
def test_another_users_narrow_lock_file_does_not_block_writes(
    shared_dir: Path, legacy_mode: int
) -> None:
    """0644 (an older llmring's): locked read-only. 0600: the lockfile itself is locked."""
    path = shared_dir / "llmring.lock"
    assert as_user(USER_A, bind("from-a"), path) == "ok"
    lock_path_for(path).chmod(legacy_mode)
    assert as_user(USER_B, bind("from-b"), path) == "ok"
    assert aliases(path) == ["from-a", "from-b"]


@pytest.mark.skipif(not AS_ROOT, reason="needs root to act as two users")
def test_no_usable_lock_is_a_clear_error(shared_dir: Path) -> None:
    path = shared_dir / "llmring.lock"
    assert as_user(USER_A, bind("from-a"), path) == "ok"
    lock = lock_path_for(path)
    lock.chmod(0o600)
    path.chmod(0o600)  # and the lockfile itself cannot be opened by user B either
    outcome = as_user(USER_B, bind("from-b"), path)
    assert outcome == (
        f"llmring.exceptions.LockfileError: cannot lock {path}: the lock file {lock} is not "
        f"usable by this user and {path} cannot be locked instead (Permission denied); ask "
        f"the owner of {lock} to make it group-writable, or remove it"
    )


@pytest.mark.skipif(AS_ROOT, reason="root ignores file modes; the fork tests cover this")
@pytest.mark.parametrize("legacy_mode", [0o444, 0o000])
def test_a_lock_file_this_user_cannot_write_does_not_block_writes(
    tmp_path: Path, legacy_mode: int
) -> None:
    path = tmp_path / "llmring.lock"
    bind("first")(path)
    lock_path_for(path).chmod(legacy_mode)
    bind("second")(path)
    assert aliases(path) == ["first", "second"]


# --- locking the lockfile itself still serializes writers ---------------------------------------


def test_writers_locking_the_lockfile_itself_lose_no_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``atomic_write`` replaces the inode, so a waiter must re-lock the new file."""
    path = tmp_path / "llmring.lock"
    bind("seed")(path)
    monkeypatch.setattr(_lockfile_io, "_lock_sibling", lambda path: None)
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            bind(f"alias-{index}")(path)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert aliases(path) == sorted(["seed", *(f"alias-{i}" for i in range(12))])
