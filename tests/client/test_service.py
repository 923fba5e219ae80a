"""Service and admin routes through both clients, against the real service."""

from __future__ import annotations

import os

from vault.client import BackupFile, Health, JobStatus
from vault.models import BackupInfo


async def test_health_and_ready(vault):
    health = await vault.health()
    assert isinstance(health, Health)
    assert (health.status, health.service, health.backend) == ("healthy", "storage_service", "sqlite")
    assert health.backends == {
        "database": "sqlite",
        "cache": "database",
        "state": "database",
        "artifacts": "filesystem",
    }
    assert await vault.ready() is True


async def test_backup_and_list(vault, service):
    info = await vault.backup()
    assert isinstance(info, BackupInfo)
    # The service names its backups by file name, in the backup folder beside its database.
    assert info.integrity_check == "ok" and os.path.exists(
        os.path.join(os.path.dirname(service.db_path), "backups", info.file)
    )
    listed = await vault.list_backups()
    assert all(isinstance(item, BackupFile) for item in listed)
    assert info.file in [item.file for item in listed]


async def test_jobs(vault):
    jobs = {job.id: job for job in await vault.jobs()}
    assert all(isinstance(job, JobStatus) for job in jobs.values())
    assert {"cache-expiry", "metric-rollups", "idempotency-expiry"} <= set(jobs)
    assert jobs["metric-rollups"].next_run is not None
