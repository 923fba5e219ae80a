"""A database that comes back on a read-only filesystem: reads work, writes get 503.

The filesystem is a small tmpfs the test mounts (root needed; skipped otherwise).
It is remounted read-only while the service is down, after a kill -9 left the
WAL behind, as after a disk error that made the kernel remount it, or after a
clean stop that left neither -wal nor -shm.
"""

from __future__ import annotations

import subprocess

import aiohttp
import pytest

pytestmark = pytest.mark.slow


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    run("umount", "-l", str(mount_point))


async def serves_reads_from_read_only_after(stop, small_disk, tmp_path) -> None:
    """Start, write, stop with `stop(vault)`, remount read-only, start: reads 200, writes 503; then read-write."""
    from tests.process.conftest import VaultProcess

    vault = VaultProcess(str(small_disk / "vault.db"), tmp_path / "vault.log", LOG_LEVEL="warning")
    try:
        await vault.start()
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{vault.url}/storage/sessions", json={"agent_name": "ro"}) as response:
                session_id = (await response.json())["id"]
            stop(vault)
            assert run("mount", "-o", "remount,ro", str(small_disk)).returncode == 0
            await vault.start()
            async with http.get(f"{vault.url}/storage/sessions/{session_id}") as response:
                assert response.status == 200
            async with http.get(f"{vault.url}/storage/sessions") as response:
                assert response.status == 200
            async with http.post(f"{vault.url}/storage/sessions", json={"agent_name": "refused"}) as response:
                assert response.status == 503
                assert response.headers["Retry-After"]
                assert (await response.json())["error"] == "read_only"
            vault.kill()
            assert run("mount", "-o", "remount,rw", str(small_disk)).returncode == 0
            await vault.start()
            async with http.post(f"{vault.url}/storage/sessions", json={"agent_name": "accepted"}) as response:
                assert response.status == 201
    finally:
        vault.stop()


async def test_read_only_database_serves_reads_and_refuses_writes(vault_process, small_disk, tmp_path):
    await serves_reads_from_read_only_after(lambda vault: vault.kill(), small_disk, tmp_path)


def stop_cleanly(vault) -> None:
    assert vault.terminate() == 0
    assert not list(vault.log_path.parent.glob("disk/vault.db-*"))


async def test_a_cleanly_stopped_database_on_a_read_only_filesystem_serves_reads(small_disk, tmp_path):
    # After a clean stop there is no -wal nor -shm, and none can be made: the service opens the
    # database read-only and serves reads (writes 503 read_only) rather than refusing to start.
    await serves_reads_from_read_only_after(stop_cleanly, small_disk, tmp_path)
