"""Acknowledged writes survive kill -9 and SIGTERM of the real process."""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
import pytest

pytestmark = pytest.mark.slow

WRITERS = 16


async def write_until_stopped(http: aiohttp.ClientSession, url: str, session_id: str, acked: list[str]) -> None:
    """Append messages until the server goes away; remember every 2xx answer."""
    while True:
        try:
            async with http.post(
                f"{url}/storage/history",
                json={"session_id": session_id, "role": "user", "content": "x" * 300},
            ) as response:
                if response.status != 201:
                    return
                acked.append((await response.json())["id"])
        except (TimeoutError, aiohttp.ClientError):
            return


async def wait_for(condition, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def load_then(vault, stop_server, minimum_acks: int = 300) -> tuple[str, list[str]]:
    """Run writers against `vault`, call `stop_server` mid-load, return the acknowledged ids."""
    acked: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        async with http.post(f"{vault.url}/storage/sessions", json={"agent_name": "durability"}) as response:
            session_id = (await response.json())["id"]
        writers = [
            asyncio.ensure_future(write_until_stopped(http, vault.url, session_id, acked)) for _ in range(WRITERS)
        ]
        await wait_for(lambda: len(acked) >= minimum_acks)
        await asyncio.get_running_loop().run_in_executor(None, stop_server)
        await asyncio.gather(*writers)
    return session_id, acked


def stored_message_ids(db_path: str, session_id: str) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [
            row[0] for row in conn.execute("SELECT id FROM messages WHERE session_id = ? ORDER BY seq", (session_id,))
        ]


async def test_kill_9_loses_no_acknowledged_write(vault_process):
    vault = vault_process()
    for _cycle in range(3):
        await vault.start()
        session_id, acked = await load_then(vault, vault.kill)
        await vault.start()  # recovery runs on the restarted process
        stored = stored_message_ids(vault.db_path, session_id)
        missing = set(acked) - set(stored)
        assert not missing, f"{len(missing)} acknowledged messages lost"
        # seq stays gapless after recovery.
        async with aiohttp.ClientSession() as http, http.get(f"{vault.url}/storage/sessions/{session_id}") as response:
            assert (await response.json())["message_count"] == len(stored)
        vault.kill()


async def test_sigterm_drains_and_exits_cleanly(vault_process):
    vault = vault_process()
    await vault.start()
    exit_codes: list[int] = []
    session_id, acked = await load_then(vault, lambda: exit_codes.append(vault.terminate()))
    assert exit_codes == [0]
    stored = stored_message_ids(vault.db_path, session_id)
    assert set(acked) <= set(stored)
    assert len(stored) == len(set(stored))


async def test_control_acknowledging_before_commit_is_caught(vault_process):
    # Control: with the guarantee broken on purpose, the same check finds lost writes.
    vault = vault_process(VAULT_UNSAFE_ACK_BEFORE_COMMIT="1")
    lost = 0
    for _cycle in range(5):
        await vault.start()
        session_id, acked = await load_then(vault, vault.kill)
        await vault.start()
        lost = len(set(acked) - set(stored_message_ids(vault.db_path, session_id)))
        vault.kill()
        if lost:
            break
    assert lost > 0, "acknowledging before COMMIT lost nothing: the durability test could not fail"
