"""The primary lost and a standby promoted under a running service; a replica lost.

Each test has a primary and standby of its own (tests/postgres/replication.py),
since it stops one of them.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest

from tests.conftest import create_session
from tests.postgres.replication import (
    Pair,
    make_synchronous,
    reads_by_server,
    running_pair,
    wait_caught_up,
    wait_for,
    wait_streaming,
)
from vault.app import create_app

# Liveness bounds only: a write must resume this soon after the promotion, and
# no request may take longer than this while the primary is gone.
RESUMES_WITHIN = 30
ANSWERS_WITHIN = 15


@pytest.fixture
def pair():
    yield from running_pair()


async def post_message(client, session_id: str, content: str) -> tuple[int, dict, dict]:
    async with asyncio.timeout(ANSWERS_WITHIN):
        body = {"session_id": session_id, "role": "user", "content": content}
        response = await client.post("/storage/history", json=body)
        body = await response.json()
    return response.status, dict(response.headers), body


class Writer:
    """Appends messages one after another, keeping what was acknowledged (201) and every other status seen."""

    def __init__(self, client, session_id: str) -> None:
        self.client = client
        self.session_id = session_id
        self.acknowledged: list[str] = []
        self.refusals: list[tuple[int, bool]] = []  # (status, has Retry-After)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        number = 0
        while True:
            number += 1
            status, headers, body = await post_message(self.client, self.session_id, f"write {number}")
            if status == 201:
                self.acknowledged.append(body["id"])
            else:
                self.refusals.append((status, "Retry-After" in headers))
                await asyncio.sleep(0.05)

    async def until(self, acknowledged: int) -> None:
        await wait_for(lambda: self._count(acknowledged), f"{acknowledged} acknowledged writes")

    async def _count(self, acknowledged: int) -> bool:
        if self._task.done():
            self._task.result()
        return len(self.acknowledged) >= acknowledged

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


# Rule: with the primary gone, reads keep coming from the replica and writes answer 503 with
# Retry-After; once the standby is promoted, writes resume by themselves and every write
# acknowledged before the failover is there (synchronous replication).
@pytest.mark.timeout(300)
async def test_failover_keeps_every_acknowledged_write_and_writes_resume(aiohttp_client, tmp_path, pair: Pair):
    await make_synchronous(pair)
    # The read just after the primary stops waits for the standby to replay what it flushed:
    # 50 ms (the default) is a bet on a busy two-core machine, and this test is not about time.
    client = await aiohttp_client(create_app(pair.config(tmp_path, replica_wait_ms=2000)))
    session = (await create_session(client))["id"]
    writer = Writer(client, session)
    try:
        await writer.until(100)
        pair.primary.stop("immediate")
        lost_at = len(writer.acknowledged)

        # Reads: served by the replica, as long as it has replayed what this instance wrote.
        replica_reads = (await reads_by_server(client)).get(pair.standby.host, 0)
        read = await client.get("/storage/history", params={"session_id": session, "limit": "1"})
        assert read.status == 200, await read.text()
        assert (await reads_by_server(client))[pair.standby.host] > replica_reads

        # /ready: not ready without a primary, and says the replica is up.
        ready = await client.get("/ready")
        assert ready.status == 503
        assert [replica["state"] for replica in (await ready.json())["replicas"]] == ["up"]

        # Writes: refused (503, Retry-After) until there is a primary again.
        await wait_for(lambda: _refused(writer), "a write refused while the primary is down")

        pair.standby.promote()
        await asyncio.wait_for(writer.until(lost_at + 20), RESUMES_WITHIN)
    finally:
        await writer.stop()

    assert writer.refusals
    assert all(refusal == (503, True) for refusal in writer.refusals), writer.refusals
    conn = await asyncpg.connect(pair.standby.dsn)
    try:
        stored = {row["id"] for row in await conn.fetch("SELECT id FROM messages WHERE session_id = $1", session)}
    finally:
        await conn.close()
    assert set(writer.acknowledged) <= stored


async def _refused(writer: Writer) -> bool:
    return bool(writer.refusals)


# Rule: a replica that is down is skipped (the primary serves), does not make /ready fail,
# and serves reads again once it is back.
@pytest.mark.timeout(180)
async def test_a_replica_down_is_skipped_and_taken_back(aiohttp_client, tmp_path, pair: Pair):
    await wait_streaming(pair)
    client = await aiohttp_client(create_app(pair.config(tmp_path)))
    session = (await create_session(client))["id"]
    pair.standby.stop("immediate")

    for number in range(20):
        status, _, written = await post_message(client, session, f"replica down {number}")
        assert status == 201
        read = await client.get("/storage/history", params={"session_id": session, "limit": "1"})
        assert read.status == 200
        assert [message["id"] for message in await read.json()] == [written["id"]]
    ready = await client.get("/ready")
    assert ready.status == 200
    assert [replica["state"] for replica in (await ready.json())["replicas"]] == ["down"]

    pair.standby.start()
    await wait_caught_up(pair)
    before = (await reads_by_server(client)).get(pair.standby.host, 0)

    async def served_by_replica() -> bool:
        await client.get("/storage/history", params={"session_id": session, "limit": "1"})
        return (await reads_by_server(client)).get(pair.standby.host, 0) > before

    await wait_for(served_by_replica, "a read served by the replica once it is back")
