"""The backup job: a checked copy of the live database, keeping the newest N."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

from vault.store.blobs import artifacts_folder
from vault.store.interface import Store

from vault.models import BackupInfo

PREFIX = "vault-"
SUFFIX = ".db"


def backup_files(backup_dir: str) -> list[Path]:
    """Backups in the folder, newest first (names sort by time)."""
    folder = Path(backup_dir)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), reverse=True)


def _new_name() -> str:
    now = time.time()
    return f"{PREFIX}{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}{int(now * 1e6) % 1_000_000:06d}Z{SUFFIX}"


async def take_backup(store: Store, backup_dir: str, keep: int) -> BackupInfo:
    info = await store.backup(str(Path(backup_dir) / _new_name()))
    for old in backup_files(backup_dir)[keep:]:
        old.unlink(missing_ok=True)
        await asyncio.to_thread(shutil.rmtree, artifacts_folder(old), ignore_errors=True)
    return info
