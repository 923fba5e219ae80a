"""Backup files: a backup is a Vault SQLite database whichever backend wrote it.

Its checks and the blobs copied beside it are the same for both backends.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from attrs import frozen
from vault.store.blobs import BlobStore, ExportResult, artifacts_folder

log = logging.getLogger(__name__)

# Called with (done, total) as a copy goes on.
Progress = Callable[[int, int], None]


def fsync(path: str | Path) -> None:
    """Flush a file, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@frozen
class Check:
    ok: bool
    result: str
    schema_version: int


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version of a Vault SQLite database; 0 before its first migration."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def check(path: str | Path) -> Check:
    """Open a database file read-only and run `PRAGMA integrity_check` on it."""
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return Check(False, f"cannot open: {exc}", 0)
    try:
        result = "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
        version = schema_version(conn)
    except sqlite3.Error as exc:
        return Check(False, f"not a usable database: {exc}", 0)
    finally:
        conn.close()
    return Check(result == "ok", result, version)


def referenced_blobs(path: str | Path) -> list[str]:
    """Every sha256 referenced by the artifacts of a database file (a backup copy)."""
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    try:
        return [
            row[0]
            for row in conn.execute("SELECT DISTINCT sha256 FROM artifacts WHERE sha256 IS NOT NULL ORDER BY sha256")
        ]
    finally:
        conn.close()


def copy_artifacts(copy: str | Path, blobs: BlobStore) -> ExportResult:
    """Copy every blob the database copy references into its artifacts folder (hard links where possible)."""
    folder = artifacts_folder(copy)
    if folder.exists():
        shutil.rmtree(folder)  # left by an earlier attempt at this name
    sha256s = referenced_blobs(copy)
    if not sha256s:
        return ExportResult(0, 0)
    result = blobs.export(sha256s, folder)
    if result.missing:
        log.error(
            "backup %s: %d artifact blobs were missing from %s: %s",
            copy,
            len(result.missing),
            blobs.location,
            ", ".join(result.missing[:10]),
        )
    return result
