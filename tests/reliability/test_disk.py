"""A full disk, on a small tmpfs this test mounts.

Needs root (or CAP_SYS_ADMIN) to mount; skips with the reason otherwise.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import add_message, create_session
from vault.app import create_app
from vault.config import Config

TMPFS_SIZE = "4m"


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = run("mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    run("umount", "-l", str(mount_point))


def integrity(db_path: Path) -> str:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; unbuffered, so closing it has nothing left to write."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle, pytest.raises(OSError):
        while True:
            handle.write(b"\0" * 65536)
    return filler


async def test_full_disk_answers_507_keeps_reads_and_recovers(aiohttp_client, small_disk):
    db_path = small_disk / "vault.db"
    client = await aiohttp_client(create_app(Config(db_path=str(db_path))))
    session = await create_session(client)
    kept = await add_message(client, session["id"], "written before the disk filled")
    # Fill the disk from outside the service, then keep writing until it says so.
    filler = fill(small_disk)
    statuses = []
    for index in range(200):
        response = await client.post(
            "/storage/history", json={"session_id": session["id"], "role": "user", "content": "y" * 4000 + str(index)}
        )
        statuses.append(response.status)
        if response.status == 507:
            assert (await response.json())["error"] == "disk_full"
            break
    assert statuses[-1] == 507, statuses
    assert set(statuses) <= {201, 507}
    history = await client.get(f"/storage/history?session_id={session['id']}&limit=1000")
    assert history.status == 200
    assert kept["id"] in {message["id"] for message in await history.json()}
    # Space comes back: writes resume, and nothing was corrupted.
    filler.unlink()
    await add_message(client, session["id"], "written after space came back")
    assert integrity(db_path) == "ok"


async def test_clearing_history_and_backing_up_on_a_full_disk_answer_507(aiohttp_client, small_disk):
    # A full disk is 507 disk_full on every write route, not a 503 naming some other SQLite error.
    db_path = small_disk / "vault.db"
    client = await aiohttp_client(create_app(Config(db_path=str(db_path), backup_dir=str(small_disk / "backups"))))
    session = await create_session(client)
    messages = [{"role": "user", "content": "x" * 2000} for _ in range(200)]
    for _ in range(4):
        response = await client.post("/storage/history/batch", json={"session_id": session["id"], "messages": messages})
        assert response.status == 201
    filler = fill(small_disk)
    cleared = await client.delete(f"/storage/history?session_id={session['id']}")
    assert cleared.status == 507, await cleared.text()
    assert (await cleared.json())["error"] == "disk_full"
    backup = await client.post("/storage/admin/backup")
    assert backup.status == 507, await backup.text()
    assert (await backup.json())["error"] == "disk_full"
    filler.unlink()
    await add_message(client, session["id"], "written after space came back")
    assert integrity(db_path) == "ok"
