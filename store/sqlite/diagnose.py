"""What `vault check` and `vault migrate` do to a SQLite database."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from attrs import define, field
from vault.store.sqlite import migrations
from vault.store.sqlite.store import SQLiteSettings, SQLiteStore


@define
class Report:
    ok: bool = True
    lines: list[str] = field(factory=list)

    def problem(self, line: str) -> None:
        self.ok = False
        self.lines.append(f"PROBLEM: {line}")


def inspect_database(path: str) -> Report:
    """Read-only look at the database: never creates or changes it."""
    report = Report()
    db = Path(path)
    if not db.exists():
        folder = db.parent
        while not folder.exists():
            folder = folder.parent
        if os.access(folder, os.W_OK):
            report.lines.append(f"database: none yet at {path}; it will be created at start-up")
        else:
            report.problem(f"no database at {path} and {folder} is not writable")
        return report
    try:
        conn = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        report.problem(f"cannot open {path}: {exc}")
        return report
    try:
        version = migrations.current_version(conn)
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        quick = conn.execute("PRAGMA quick_check").fetchone()[0]
        sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0] if version else 0
    except sqlite3.Error as exc:
        report.problem(f"{path} is not a usable database: {exc}")
        return report
    finally:
        conn.close()
    size = db.stat().st_size
    wal = Path(f"{path}-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    report.lines.append(f"database: {path} ({size / 2**20:.1f} MiB, WAL {wal_size / 2**20:.1f} MiB, {mode} mode)")
    report.lines.append(f"sessions: {sessions}")
    if version > migrations.LATEST_VERSION:
        report.problem(f"schema version {version} is newer than this Vault ({migrations.LATEST_VERSION})")
    elif version < migrations.LATEST_VERSION:
        report.lines.append(f"schema: version {version}; `vault migrate` applies up to {migrations.LATEST_VERSION}")
    else:
        report.lines.append(f"schema: version {version} (current)")
    if quick != "ok":
        report.problem(f"quick_check: {quick}")
    else:
        report.lines.append("quick_check: ok")
    return report


async def migrate(
    path: str, settings: SQLiteSettings, progress: migrations.Progress | None = None
) -> list[migrations.Migration]:
    store = SQLiteStore(path, settings)
    store.migration_progress = progress
    await store.start()
    await store.close()
    return store.applied_migrations
