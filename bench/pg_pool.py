"""What a query costs The Vault's process on PostgreSQL, through its pool and without one.

    python bench/pg_pool.py [--url postgresql://postgres@127.0.0.1:5432/postgres] [--queries 20000] [--rounds 3]

64 tasks share 10 connections and run `SELECT $1::int` until `--queries`
are done, three ways: through The Vault's pool (vault.store.postgres.
connection.Pool), through asyncpg's own pool, and through a bare queue of
open connections (what any pool costs beyond the query itself). Figures
are this process's CPU per query (user and system) and queries/s, medians
over rounds; run it pinned to one core (`taskset -c 0`) to keep the
PostgreSQL server off that core.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
import uvloop
from vault.store.postgres.connection import Pool

TASKS = 64
CONNECTIONS = 10

Query = Callable[[], Awaitable[None]]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(query: Query, queries: int) -> tuple[float, float]:
    """(CPU us per query, queries/s) of `queries` run by TASKS tasks at once."""
    left = queries

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await query()

    started, cpu = time.perf_counter(), cpu_seconds()
    await asyncio.gather(*(worker() for _ in range(TASKS)))
    elapsed = time.perf_counter() - started
    return (cpu_seconds() - cpu) / queries * 1e6, queries / elapsed


async def no_reset(conn: asyncpg.Connection) -> None:
    """asyncpg's pool without its reset round trip, as The Vault configures it."""


async def measure(url: str, queries: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    ours = Pool(url, size=CONNECTIONS, timeout=30, queue_max=1000, min_size=CONNECTIONS)
    await ours.open()
    theirs = await asyncpg.create_pool(url, min_size=CONNECTIONS, max_size=CONNECTIONS, reset=no_reset)
    bare = [await asyncpg.connect(url) for _ in range(CONNECTIONS)]
    free: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
    for conn in bare:
        free.put_nowait(conn)

    async def through_ours() -> None:
        async with ours.connection() as conn:
            await conn.fetchval("SELECT $1::int", 1)

    async def through_asyncpg() -> None:
        async with theirs.acquire() as conn:
            await conn.fetchval("SELECT $1::int", 1)

    async def through_a_queue() -> None:
        conn = await free.get()
        try:
            await conn.fetchval("SELECT $1::int", 1)
        finally:
            free.put_nowait(conn)

    ways = {"The Vault's pool": through_ours, "asyncpg's pool": through_asyncpg, "a bare queue": through_a_queue}
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    try:
        for _ in range(rounds):
            for name, query in ways.items():
                figures[name].append(await drive(query, queries))
    finally:
        await ours.close()
        await theirs.close()
        for conn in bare:
            await conn.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures = uvloop.run(measure(args.url, args.queries, args.rounds))
    print(f"\n{TASKS} tasks, {CONNECTIONS} connections, {args.queries:,} queries a round, medians of {args.rounds}\n")
    print("| through | CPU us per query | queries/s |")
    print("|---|---:|---:|")
    for name, rows in figures.items():
        cpu = statistics.median(row[0] for row in rows)
        rate = statistics.median(row[1] for row in rows)
        print(f"| {name} | {cpu:.1f} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
