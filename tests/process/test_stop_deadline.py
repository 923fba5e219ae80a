"""A stop that cannot finish (the database locked by another process) still ends within the bound."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3

import aiohttp
import pytest

pytestmark = pytest.mark.slow

# Liveness bounds only: far past VAULT_SHUTDOWN_TIMEOUT, never a measurement.
EXITS_WITHIN = 60
WAIT_FOR_LOG = 30


async def _wait_for_log(vault, text: str) -> None:
    async with asyncio.timeout(WAIT_FOR_LOG):
        while text not in vault.log_path.read_text():
            await asyncio.sleep(0.01)


async def _send_write(port: int, session_id: str) -> asyncio.StreamWriter:
    """A whole write request sent on a connection of its own, left waiting for its answer."""
    body = json.dumps({"session_id": session_id, "role": "user", "content": "late"}).encode()
    head = (
        f"POST /storage/history HTTP/1.1\r\nHost: vault\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode() + body)
    await writer.drain()
    return writer


# Rule: VAULT_SHUTDOWN_TIMEOUT bounds the whole stop; past it the process exits non-zero, saying what it abandoned.
async def test_a_stop_stuck_on_an_outside_lock_exits_by_itself(vault_process):
    vault = vault_process(VAULT_SHUTDOWN_TIMEOUT="2")
    await vault.start()
    async with aiohttp.ClientSession(base_url=vault.url) as http:
        created = await http.post("/storage/sessions", json={"agent_name": "stopper"})
        session_id = (await created.json())["id"]
        acknowledged = []
        for number in range(5):
            answer = await http.post(
                "/storage/history", json={"session_id": session_id, "role": "user", "content": f"m{number}"}
            )
            assert answer.status == 201
            acknowledged.append((await answer.json())["id"])

        blocker = sqlite3.connect(vault.db_path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            late = await _send_write(vault.port, session_id)
            # Answered after the late write's bytes were in: that write is with the writer, held by the lock.
            assert (await http.get("/health")).status == 200
            vault.process.send_signal(signal.SIGTERM)
            await _wait_for_log(vault, "stopping:")
            vault.process.send_signal(signal.SIGTERM)
            returncode = await asyncio.to_thread(vault.process.wait, EXITS_WITHIN)
            late.close()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()

    assert returncode != 0
    log = vault.log_path.read_text()
    assert "stop not finished within 2s; abandoned: " in log, log
    with sqlite3.connect(vault.db_path) as db:
        stored = {row[0] for row in db.execute("SELECT id FROM messages")}
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert set(acknowledged) <= stored
