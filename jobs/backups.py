"""The backup job: a checked copy of the live database, keeping the newest N."""

from __future__ import annotations

from vault.jobs.scheduler import JobSkipped
from vault.store.errors import BackupRunning
from vault.store.interface import Store

from vault.models import BackupInfo


async def take_backup(store: Store, backup_dir: str, keep: int) -> BackupInfo:
    return await store.backup_into(backup_dir, keep)


async def scheduled_backup(store: Store, backup_dir: str, keep: int) -> BackupInfo:
    """The scheduled run: skipped, not failed, while another backup (one asked for over HTTP) runs."""
    try:
        return await take_backup(store, backup_dir, keep)
    except BackupRunning as running:
        raise JobSkipped(str(running)) from running
