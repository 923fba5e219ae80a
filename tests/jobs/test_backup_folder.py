"""The backup folder: leftovers of killed backups, one backup at a time, names rather than paths, admin keys."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from vault.jobs.wiring import build_jobs
from vault.store import backup_files

from tests.conftest import create_session
from vault.app import create_app
from vault.config import Config
from vault.models import BackupInfo

LEFTOVERS = (".vault-20260101T000000000000Z.db.partial", ".vault-20260101T000000000000Z.db.partial-journal")


def leave_leftovers(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = [folder / name for name in LEFTOVERS]
    for path in made:
        path.write_bytes(b"a copy cut short by kill -9")
    return made


class HeldBackup:
    """A backup into a folder that runs until the test lets it finish."""

    def __init__(self, folder: Path) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.task = asyncio.ensure_future(backup_files.backup_into(self._copy, str(folder), keep=5))

    async def _copy(self, target: str) -> BackupInfo:
        self.started.set()
        await self.release.wait()
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_bytes(b"")
        return BackupInfo(
            file=target, size=0, created_at="2026-01-01T00:00:00Z", duration_seconds=0, integrity_check="ok"
        )

    async def __aenter__(self) -> HeldBackup:
        await self.started.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        await self.task


async def test_leftovers_of_a_killed_backup_are_removed_at_start(aiohttp_client, config):
    # A backup killed mid-copy leaves no partial file in the backup folder for ever: start-up removes it.
    made = leave_leftovers(Path(config.backup_dir))
    await aiohttp_client(create_app(config))
    assert not any(path.exists() for path in made)


async def test_leftovers_of_a_killed_backup_are_removed_before_each_backup(client, config):
    # A backup first removes what an earlier, killed backup left.
    made = leave_leftovers(Path(config.backup_dir))
    assert (await client.post("/storage/admin/backup")).status == 201
    assert not any(path.exists() for path in made)
    assert [path.name.startswith("vault-") for path in Path(config.backup_dir).iterdir() if path.is_file()] == [True]


async def test_a_second_backup_while_one_runs_is_a_409_naming_it(client, config):
    # One backup at a time: another request is refused with the running one's name and start time, no path.
    async with HeldBackup(Path(config.backup_dir)):
        response = await client.post("/storage/admin/backup")
        assert response.status == 409
        body = await response.json()
        assert body["error"] == "backup_running"
        [running] = backup_files._running.values()
        assert running[0] in body["detail"] and running[1] in body["detail"]
        assert config.backup_dir not in body["detail"]
    assert (await client.post("/storage/admin/backup")).status == 201


async def test_the_scheduled_backup_skips_while_one_runs(store, tmp_path):
    # The scheduled backup does not fail (nor wait) while another backup runs: the run is recorded as skipped.
    config = Config(db_path=store.path, backup_dir=str(tmp_path / "backups"), backup_interval=3600)
    runner = build_jobs(config, store)
    async with HeldBackup(tmp_path / "backups"):
        assert await runner.run("backup") is None
    status = runner.status("backup")
    assert (status.skipped, status.failures, status.runs, status.last_outcome) == (1, 0, 0, "skipped")
    await runner.run("backup")
    assert (runner.status("backup").runs, runner.status("backup").last_outcome) == (1, "ok")


async def test_backup_answers_name_files_not_server_paths(client, config):
    # The admin answers show a backup's file name, never the server's absolute path.
    await create_session(client)
    info = await (await client.post("/storage/admin/backup")).json()
    listed = await (await client.get("/storage/admin/backups")).json()
    assert "/" not in info["file"] and info["file"].startswith("vault-")
    assert [entry["file"] for entry in listed] == [info["file"]]


@pytest.fixture
async def keyed_client(aiohttp_client, db_path):
    config = Config(db_path=db_path, api_keys=("user-key",), admin_api_keys=("admin-key",))
    return await aiohttp_client(create_app(config))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_admin_keys_alone_reach_the_admin_routes(keyed_client):
    # With VAULT_ADMIN_API_KEYS set, an ordinary key gets 403 on /storage/admin/*, and no key 401.
    for path in ("/storage/admin/jobs", "/storage/admin/backups"):
        assert (await keyed_client.get(path, headers=bearer("user-key"))).status == 403
        assert (await keyed_client.get(path)).status == 401
        assert (await keyed_client.get(path, headers=bearer("admin-key"))).status == 200
    refused = await keyed_client.post("/storage/admin/backup", headers=bearer("user-key"))
    assert (refused.status, (await refused.json())["error"]) == (403, "forbidden")
    # VAULT_API_KEYS still governs the rest.
    assert (await keyed_client.get("/storage/sessions", headers=bearer("user-key"))).status == 200
    assert (await keyed_client.get("/storage/sessions", headers=bearer("admin-key"))).status == 401
