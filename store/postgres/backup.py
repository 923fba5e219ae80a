"""Backups of a PostgreSQL Vault: one consistent snapshot, written as a Vault SQLite file.

The snapshot is a REPEATABLE READ transaction, so writers on every instance
go on while it is read. The result is a SQLite database like any SQLite
Vault's (checked with `PRAGMA integrity_check` before it is renamed into
place): it can be opened as is, restored to SQLite with `vault restore`, or
loaded back into an empty PostgreSQL database with `vault copy`. For large
databases, pg_dump is the faster tool (see the README).
"""

from __future__ import annotations

import os
from pathlib import Path

from vault.store.core.copies import Check, Progress, check, fsync
from vault.store.errors import StoreUnavailable
from vault.store.transfer.copy import CopyProgress, CopyReport, copy_between
from vault.store.transfer.postgres_side import PostgresSide
from vault.store.transfer.sqlite_side import SQLiteSide
from vault.store.transfer.tables import TABLES


async def snapshot_to_sqlite(dsn: str, target: str | Path, progress: Progress | None = None) -> Check:
    target = Path(target)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        report = await _copy(dsn, partial, progress)
        if not report.ok:
            raise StoreUnavailable(f"the backup's row counts do not match the database's: {report.counts}")
        fsync(partial)
        checked = check(partial)
        if not checked.ok:
            raise StoreUnavailable(f"the backup failed its integrity check: {checked.result}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    fsync(target.parent)
    return checked


async def _copy(dsn: str, partial: Path, progress: Progress | None) -> CopyReport:
    source = await PostgresSide.open_source(dsn)
    try:
        target = await SQLiteSide.open_target(partial)
        try:
            return await copy_between(source, target, _overall(progress, await _total_rows(source)))
        finally:
            await target.close()
    finally:
        await source.close()


async def _total_rows(source: PostgresSide) -> int:
    return sum([await source.count(table) for table in TABLES])


def _overall(progress: Progress | None, total: int) -> CopyProgress | None:
    """Turn per-table progress into (rows done, rows in all) for a backup's progress callback."""
    if progress is None:
        return None
    finished: dict[str, int] = {}

    def report(table: str, done: int, _: int) -> None:
        finished[table] = done
        progress(sum(finished.values()), total)

    return report
