"""Backups taken under write load, checked, restored; the admin routes and the CLI."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from vault.jobs.backups import take_backup
from vault.store.backup_files import backup_files
from vault.store.core import copies
from vault.store.errors import SchemaTooNew, StoreUnavailable
from vault.store.sqlite import SQLiteStore, backup
from vault.store.sqlite.migrations import LATEST_VERSION

from tests import store_settings
from tests.conftest import create_session
from vault.inputs import NewMessage, NewSession
from vault.queries import HistoryQuery


async def keep_writing(store, session_id: str, acked: list[str], stop: asyncio.Event) -> None:
    while not stop.is_set():
        [message] = await store.add_messages(
            session_id, [NewMessage(session_id=session_id, role="user", content="x" * 300)]
        )
        acked.append(message.id)


async def test_backup_under_write_load_restores_every_earlier_write(store, tmp_path):
    session = await store.create_session(NewSession(agent_name="backup"))
    acked: list[str] = []
    stop = asyncio.Event()
    writers = [asyncio.ensure_future(keep_writing(store, session.id, acked, stop)) for _ in range(8)]
    while len(acked) < 500:
        await asyncio.sleep(0.01)
    acked_before_backup = list(acked)
    info = await store.backup(str(tmp_path / "copy.db"))
    written_during_backup = len(acked) - len(acked_before_backup)
    stop.set()
    await asyncio.gather(*writers)
    assert info.integrity_check == "ok"
    assert written_during_backup > 0, "the writer must keep going while the backup runs"

    restored_path = tmp_path / "restored" / "storage.db"
    restored_path.parent.mkdir()
    assert backup.restore(tmp_path / "copy.db", restored_path).aside is None
    restored = SQLiteStore(str(restored_path), store_settings.SQLITE)
    await restored.start()
    try:
        page = await restored.list_messages(HistoryQuery(session_id=session.id, limit=1000, offset=0))
        ids = {message.id for message in page.items}
        while page.has_more:
            page = await restored.list_messages(
                HistoryQuery(session_id=session.id, limit=1000, after=str(page.items[-1].seq))
            )
            ids |= {message.id for message in page.items}
    finally:
        await restored.close()
    assert set(acked_before_backup) <= ids


async def test_take_backup_keeps_the_newest(store, tmp_path):
    folder = tmp_path / "backups"
    made = [Path((await take_backup(store, str(folder), keep=2)).file) for _ in range(4)]
    assert backup_files(str(folder)) == [made[3], made[2]]


def corrupt_copy(source: Path, target: Path) -> None:
    data = bytearray(source.read_bytes())
    for offset in range(4096, len(data), 4096):
        data[offset : offset + 16] = b"\xff" * 16  # every b-tree page header
    target.write_bytes(bytes(data))


async def test_restore_refuses_corrupt_and_newer_files(store, tmp_path):
    for _ in range(50):
        await store.create_session(NewSession(agent_name="x" * 200))
    good = tmp_path / "good.db"
    await store.backup(str(good))
    target = tmp_path / "live.db"

    corrupt = tmp_path / "corrupt.db"
    corrupt_copy(good, corrupt)
    with pytest.raises(StoreUnavailable):
        backup.restore(corrupt, target)

    newer = tmp_path / "newer.db"
    newer.write_bytes(good.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'future', '')", (LATEST_VERSION + 1,))
    with pytest.raises(SchemaTooNew):
        backup.restore(newer, target)
    assert not target.exists()


async def test_restore_keeps_the_old_database_aside(store, tmp_path):
    await store.create_session(NewSession(agent_name="kept"))
    copy = tmp_path / "copy.db"
    await store.backup(str(copy))
    live = tmp_path / "live.db"
    live.write_bytes(copy.read_bytes())
    aside = backup.restore(copy, live).aside
    assert aside is not None and aside.exists()
    assert copies.check(live).ok


async def test_admin_backup_routes(client, config):
    await create_session(client)
    response = await client.post("/storage/admin/backup")
    assert response.status == 201
    info = await response.json()
    assert info["integrity_check"] == "ok" and info["size"] > 0
    assert (Path(config.backup_dir) / info["file"]).is_file()
    listed = await (await client.get("/storage/admin/backups")).json()
    assert [entry["file"] for entry in listed] == [info["file"]]


def vault_cli(*args: str, db_path: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vault", *args, "--db-path", db_path], capture_output=True, text=True, timeout=120
    )


async def test_cli_backup_and_restore(store, db_path, tmp_path):
    session = await store.create_session(NewSession(agent_name="cli"))
    copy = tmp_path / "cli-copy.db"
    result = vault_cli("backup", "--to", str(copy), db_path=db_path)
    assert result.returncode == 0, result.stderr
    assert "integrity_check ok" in result.stdout

    other = str(tmp_path / "other" / "storage.db")
    result = vault_cli("restore", str(copy), db_path=other)
    assert result.returncode == 0, result.stderr
    restored = SQLiteStore(other, store_settings.SQLITE)
    await restored.start()
    try:
        assert (await restored.get_session(session.id)).agent_name == "cli"
    finally:
        await restored.close()

    corrupt = tmp_path / "corrupt.db"
    corrupt_copy(copy, corrupt)
    result = vault_cli("restore", str(corrupt), db_path=other)
    assert result.returncode == 2
    assert result.stderr.startswith("vault: refusing")


async def test_restore_is_refused_while_a_service_uses_the_database(db_path, tmp_path):
    # Rule: a restore never moves a database out from under a running writer (its later
    # acknowledged writes would land in the moved-aside file).
    live = SQLiteStore(db_path, store_settings.SQLITE)
    await live.start()
    try:
        await live.create_session(NewSession(agent_name="before"))
        copy = tmp_path / "copy.db"
        await live.backup(str(copy))
        result = vault_cli("restore", str(copy), db_path=db_path)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            f"vault: refusing to restore: {db_path} is in use by a running service; stop it first"
        ]
        after = await live.create_session(NewSession(agent_name="after"))
    finally:
        await live.close()
    assert not list(Path(db_path).parent.glob("*.before-restore-*"))
    reopened = SQLiteStore(db_path, store_settings.SQLITE)
    await reopened.start()
    try:
        assert (await reopened.get_session(after.id)).agent_name == "after"
    finally:
        await reopened.close()
    # Once the service has stopped, the same restore goes ahead.
    assert vault_cli("restore", str(copy), db_path=db_path).returncode == 0


def test_restore_of_a_missing_file_says_so(db_path, tmp_path):
    result = vault_cli("restore", str(tmp_path / "nothing.db"), db_path=db_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"vault: no backup file at {tmp_path / 'nothing.db'}"


async def test_cli_backup_refuses_to_overwrite_a_file_without_force(store, db_path, tmp_path):
    # `vault backup --to` never silently replaces an existing file.
    await store.create_session(NewSession(agent_name="kept"))
    existing = tmp_path / "precious.db"
    existing.write_bytes(b"not to be lost")
    result = vault_cli("backup", "--to", str(existing), db_path=db_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"vault: {existing} already exists; pass --force to replace it"]
    assert existing.read_bytes() == b"not to be lost"
    forced = vault_cli("backup", "--to", str(existing), "--force", db_path=db_path)
    assert forced.returncode == 0, forced.stderr
    assert copies.check(existing).ok
