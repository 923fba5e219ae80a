"""Consistent copies of a live SQLite database, their checks, and restore.

A copy is taken with SQLite's online backup API in a single step from its own
read connection: in WAL mode that reads one snapshot while the writer goes
on, and it never restarts. (Copying page by page in small steps restarts
whenever another connection commits, so under steady writes it never ends;
bench/backup_methods.py measures both.) The copy goes to a temporary file in
the target folder, is fsynced and checked, and only then renamed into place.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from attrs import frozen
from vault.store.blobs import BlobStore, artifacts_folder
from vault.store.core.copies import Check, Progress, check, fsync
from vault.store.errors import DiskFull, SchemaTooNew, StoreUnavailable
from vault.store.sqlite import usage_lock
from vault.store.sqlite.connection import translate
from vault.store.sqlite.migrations import LATEST_VERSION

log = logging.getLogger(__name__)


def _watch_size(target: Path, total: int, progress: Progress, done: threading.Event) -> None:
    while not done.wait(0.2):
        with contextlib.suppress(FileNotFoundError):
            progress(min(target.stat().st_size, total), total)


def copy_database(source: str, target: str | Path, progress: Progress | None = None) -> Check:
    """Write a checked, durable copy of `source` to `target`; return its check."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    total = Path(source).stat().st_size
    done = threading.Event()
    watcher = None
    if progress is not None:
        watcher = threading.Thread(target=_watch_size, args=(partial, total, progress, done), daemon=True)
        watcher.start()
    try:
        src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=-1)
            # The copy is a plain file, not a WAL database.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        if isinstance(translate(exc), DiskFull):
            raise DiskFull("backup failed: the disk is full") from exc
        raise StoreUnavailable(f"backup failed: {exc}") from exc
    finally:
        done.set()
        if watcher is not None:
            watcher.join()
    if progress is not None:
        progress(partial.stat().st_size, partial.stat().st_size)
    fsync(partial)
    checked = check(partial)
    if not checked.ok:
        partial.unlink(missing_ok=True)
        raise StoreUnavailable(f"the backup failed its integrity check: {checked.result}")
    os.replace(partial, target)
    fsync(target.parent)
    return checked


@frozen
class Restored:
    # Where the old database was moved, or None if there was none.
    aside: Path | None
    # Artifact files brought into the blob store (those it lacked).
    artifacts: int


def restore(backup: str | Path, db_path: str | Path, blobs: BlobStore | None = None) -> Restored:
    """Replace the database at `db_path` with a checked copy of `backup`.

    The service must be stopped: DatabaseInUse while any store has the file
    open. The old database (with its -wal and -shm) is moved aside, not
    deleted. With `blobs`, the backup's artifact bytes are brought in first,
    so the restored records never point at missing content.
    """
    backup, db_path = Path(backup), Path(db_path)
    checked = check(backup)
    if not checked.ok:
        raise StoreUnavailable(f"{backup} is not a sound database: {checked.result}")
    if checked.schema_version > LATEST_VERSION:
        raise SchemaTooNew(
            f"{backup} has schema version {checked.schema_version}; this Vault knows up to {LATEST_VERSION}"
        )
    if checked.schema_version == 0:
        raise StoreUnavailable(f"{backup} is not a Vault database (no schema_migrations table)")
    artifacts = 0
    with usage_lock.exclusive(db_path):
        if blobs is not None and artifacts_folder(backup).is_dir():
            blobs.open()
            artifacts = blobs.import_from(artifacts_folder(backup))
        staged = db_path.with_name(f".{db_path.name}.restoring")
        copy_database(str(backup), staged)
        aside = None
        if db_path.exists():
            aside = db_path.with_name(f"{db_path.name}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}")
            _move_database(db_path, aside)
        os.replace(staged, db_path)
        fsync(db_path.parent)
    return Restored(aside, artifacts)


def _move_database(path: Path, to: Path) -> None:
    # Fold the WAL into the main file first, so the file moved aside is whole.
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("", "-wal", "-shm"):
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            os.replace(companion, Path(f"{to}{suffix}"))
