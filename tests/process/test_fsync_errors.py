"""I/O errors on fsync, injected with libfiu into the real process.

fiu-run preloads libfiu's POSIX wrappers; fiu-ctrl turns failures of
fsync/fdatasync on and off while the service runs. Skipped where libfiu's
tools are not installed (.ci/run installs them).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import aiohttp
import pytest

from tests.services import missing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("fiu-run") is None, reason=missing("libfiu's fiu-run is not installed (fiu-utils)")
    ),
]


def fiu_ctrl(pid: int, command: str) -> None:
    subprocess.run(["fiu-ctrl", "-c", command, str(pid)], check=True, capture_output=True, timeout=30)


async def post_session(http: aiohttp.ClientSession, url: str, name: str) -> tuple[int, dict]:
    async with http.post(f"{url}/storage/sessions", json={"agent_name": name}) as response:
        return response.status, await response.json()


async def test_failed_fsync_fails_the_write_and_the_writer_recovers(vault_process):
    vault = vault_process(LOG_LEVEL="info")
    vault.command_prefix = ["fiu-run", "-x"]
    await vault.start()
    pid = vault.process.pid
    async with aiohttp.ClientSession() as http:
        status, before = await post_session(http, vault.url, "before")
        assert status == 201

        fiu_ctrl(pid, "enable name=posix/io/sync/*")
        status, failed = await post_session(http, vault.url, "during")
        assert status == 503 and failed["error"] == "unavailable"
        async with http.get(f"{vault.url}/ready") as response:
            assert response.status == 503
        # While storage keeps failing, every write keeps failing: nothing is acknowledged.
        status, _ = await post_session(http, vault.url, "still failing")
        assert status == 503

        fiu_ctrl(pid, "disable name=posix/io/sync/*")
        status, after = await post_session(http, vault.url, "after")
        assert status == 201
        async with http.get(f"{vault.url}/ready") as response:
            assert response.status == 200
        for session in (before, after):
            async with http.get(f"{vault.url}/storage/sessions/{session['id']}") as response:
                assert response.status == 200
    vault.kill()
    assert "passed quick_check" in vault.log_path.read_text()
    with sqlite3.connect(vault.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
