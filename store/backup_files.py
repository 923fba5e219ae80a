"""The backup folder: timestamped backup files, each with its `.artifacts/` folder beside it.

Whatever the backend, a backup is one SQLite file (see Store.backup); this
module names them, lists them, keeps the newest N, removes what a killed
backup left behind, and lets one backup into a folder run at a time (each
writes a database-sized file). File work runs on a thread, never on the event
loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from vault.store.blobs import artifacts_folder
from vault.store.errors import BackupRunning, DiskFull

from vault import clock
from vault.models import BackupFile, BackupInfo, UtcTime

PREFIX = "vault-"
SUFFIX = ".db"
# What a backup killed mid-copy leaves: its partial copy (vault.store.sqlite.backup) and that copy's journal.
LEFTOVERS = (f".{PREFIX}*{SUFFIX}.partial", f".{PREFIX}*{SUFFIX}.partial-journal")

# The backup running into each folder of this process (file name, start time), by the folder's resolved path.
_running: dict[Path, tuple[str, str]] = {}


def backup_files(backup_dir: str) -> list[Path]:
    """Backups in the folder, newest first (names sort by time)."""
    folder = Path(backup_dir)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), reverse=True)


def new_backup_name() -> str:
    now = time.time()
    return f"{PREFIX}{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}{int(now * 1e6) % 1_000_000:06d}Z{SUFFIX}"


def _describe(backup_dir: str) -> list[BackupFile]:
    found = []
    for path in backup_files(backup_dir):
        # Pruned between the listing and now: it is no longer a backup to show.
        with contextlib.suppress(FileNotFoundError):
            stat = os.stat(path)
            created_at = UtcTime(clock.format_time(clock.from_epoch(stat.st_mtime)))
            found.append(BackupFile(file=str(path), size=stat.st_size, created_at=created_at))
    return found


async def list_backups(backup_dir: str) -> list[BackupFile]:
    """The backups in the folder, newest first, with their sizes."""
    return await asyncio.to_thread(_describe, backup_dir)


def _prune(backup_dir: str, keep: int) -> None:
    for old in backup_files(backup_dir)[keep:]:
        old.unlink(missing_ok=True)
        shutil.rmtree(artifacts_folder(old), ignore_errors=True)


def _remove_leftovers(backup_dir: str) -> int:
    folder = Path(backup_dir)
    if not folder.is_dir():
        return 0
    removed = 0
    for pattern in LEFTOVERS:
        for leftover in folder.glob(pattern):
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


async def remove_leftovers(backup_dir: str) -> int:
    """Remove the partial copies of backups that were killed (not that of one running here)."""
    if Path(backup_dir).resolve() in _running:
        return 0
    return await asyncio.to_thread(_remove_leftovers, backup_dir)


async def backup_into(backup: Callable[[str], Awaitable[BackupInfo]], backup_dir: str, keep: int) -> BackupInfo:
    """Take a backup under a new name in the folder, then keep only the newest `keep` (and their artifacts).

    BackupRunning (naming the running one) while another backup into the folder runs.
    """
    folder = Path(backup_dir).resolve()
    if folder in _running:
        raise BackupRunning(*_running[folder])
    name = new_backup_name()
    _running[folder] = (name, clock.now_text())
    try:
        await asyncio.to_thread(_remove_leftovers, backup_dir)
        info = await backup(str(Path(backup_dir) / name))
        await asyncio.to_thread(_prune, backup_dir, keep)
    except OSError as exc:
        # Writing the copy's artifacts, or its fsync, can meet the full disk outside SQLite.
        if exc.errno == errno.ENOSPC:
            raise DiskFull("backup failed: the disk is full") from exc
        raise
    finally:
        del _running[folder]
    return info
