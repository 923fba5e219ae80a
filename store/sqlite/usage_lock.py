"""Whether a database file is in use: a lock every open store holds, and a restore needs alone.

A store holds a shared `flock` on `<database>.lock` from start to close, so
several stores may share a file as before. `vault restore` replaces the file
and needs the lock exclusively: while any service has the database open it is
refused, instead of moving the file out from under the running writer (whose
later writes would land in the moved-aside file). The kernel releases the lock
when its process ends, kill -9 included, so a crash never leaves a database
marked as in use, and no PID file can go stale.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from vault.store.errors import StoreUnavailable


class DatabaseInUse(StoreUnavailable):
    """Another process holds the database open (or is restoring it)."""


def lock_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.lock")


def _open(path: Path) -> int | None:
    """The lock file, or None where it cannot exist: a read-only folder, where no restore can write either."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise StoreUnavailable(f"cannot open {path}: {exc.strerror or exc}") from exc
    with contextlib.suppress(OSError):
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    return None


class UsageLock:
    """The shared lock of one open store."""

    def __init__(self, db_path: str | Path) -> None:
        self._path = lock_path(db_path)
        self._fd: int | None = None

    def hold(self) -> None:
        fd = _open(self._path)
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DatabaseInUse(
                f"{self._path.with_suffix('')} is being restored; start again when it is done"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


@contextlib.contextmanager
def exclusive(db_path: str | Path) -> Iterator[None]:
    """Hold the database alone for a restore; DatabaseInUse while any store has it open."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(
                f"refusing to restore: {db_path} is in use by a running service; stop it first"
            ) from None
        yield
    finally:
        os.close(fd)
