"""The backup job: a checked copy of the live database, keeping the newest N."""

from __future__ import annotations

from vault.store.interface import Store

from vault.models import BackupInfo


async def take_backup(store: Store, backup_dir: str, keep: int) -> BackupInfo:
    return await store.backup_into(backup_dir, keep)
