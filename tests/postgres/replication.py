"""A primary and its streaming standby, made by a test, and what tests ask of them.

Both are PrivateClusters (initdb, pg_basebackup -R, pg_ctl) on free ports;
the helpers wait on conditions (the standby streaming, caught up), never on time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import asyncpg
from aiohttp.test_utils import TestClient

from tests.postgres.private_cluster import PrivateCluster
from vault.config import Config

# Liveness bound only: how long a standby may take to start streaming or catch up.
SETTLES_WITHIN = 60


class Pair:
    """A running primary and a standby streaming from it."""

    def __init__(self) -> None:
        self.primary = PrivateCluster()
        self.standby = PrivateCluster()

    def start(self) -> None:
        self.primary.create()
        self.primary.start()
        self.standby.standby_of(self.primary)
        self.standby.start()

    def remove(self) -> None:
        self.standby.remove()
        self.primary.remove()

    @property
    def both_hosts_url(self) -> str:
        """The URL naming both servers, as after a failover either may be the primary."""
        return f"postgresql://postgres@{self.primary.host},{self.standby.host}/postgres"

    def config(self, tmp_path, **options) -> Config:
        options.setdefault("database_url", self.both_hosts_url)
        options.setdefault("database_replica_urls", (self.standby.dsn,))
        options.setdefault("database_pool_size", 4)
        return Config(db_path=str(tmp_path / "unused.db"), artifact_dir=str(tmp_path / "artifacts"), **options)


def running_pair() -> Iterator[Pair]:
    pair = Pair()
    try:
        pair.start()
        yield pair
    finally:
        pair.remove()


async def execute(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def fetchval(dsn: str, query: str):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def wait_for(check, what: str) -> None:
    """Poll `check` (an async predicate) until it holds."""
    try:
        async with asyncio.timeout(SETTLES_WITHIN):
            while not await check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {SETTLES_WITHIN}s: {what}") from None


async def wait_streaming(pair: Pair, sync: bool = False) -> None:
    state = "sync" if sync else "%"

    async def streaming() -> bool:
        query = f"SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state LIKE '{state}'"
        return await fetchval(pair.primary.dsn, query) > 0

    await wait_for(streaming, "the standby streams from the primary")


async def make_synchronous(pair: Pair) -> None:
    """Commits wait for the standby to have flushed them (synchronous_commit is on by default).

    Set on the primary only, after the standby was copied from it: a promoted
    standby carrying it would wait for a standby of its own that does not exist.
    """
    await execute(pair.primary.dsn, "ALTER SYSTEM SET synchronous_standby_names = '*'")
    await execute(pair.primary.dsn, "SELECT pg_reload_conf()")
    await wait_streaming(pair, sync=True)


async def wait_caught_up(pair: Pair) -> None:
    target = await fetchval(pair.primary.dsn, "SELECT pg_current_wal_lsn()::text")

    async def caught_up() -> bool:
        return await fetchval(pair.standby.dsn, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")

    await wait_for(caught_up, "the standby replays what the primary wrote")


_READS = re.compile(r'^vault_database_reads_total\{server="([^"]+)"\} ([0-9.e+]+)$', re.MULTILINE)


async def reads_by_server(client: TestClient) -> dict[str, float]:
    """vault_database_reads from /metrics: reads served by each replica and by the primary."""
    response = await client.get("/metrics")
    assert response.status == 200
    return {server: float(count) for server, count in _READS.findall(await response.text())}
