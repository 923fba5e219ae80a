"""The framework adapters' latency beside the frameworks' own stores, in one run.

    python bench/adapters.py [--operations 500] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

LangGraph: checkpoint put and get-tuple (the latest, and by id) through
AsyncVaultSaver against `vault serve` on SQLite and on PostgreSQL, and
through LangGraph's own AsyncSqliteSaver (a file) and AsyncPostgresSaver (a
scratch database on the same server). ADK: append_event through
VaultSessionService (`vault serve` on SQLite) and through ADK's own
DatabaseSessionService on SQLite (sqlite+aiosqlite, a file).

Each workload is one thread (one session) grown one step at a time, one
call in flight: a `messages` channel that gains a 300-byte message each
step and a small `step` channel, both new in every checkpoint; an event of
300 bytes of text with a one-key state delta. The servers are pinned to
core 0; this process (and with it the frameworks' in-process stores) to
core 1. Every figure is a percentile over the calls, after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
from postgres import drop_database, scratch_database

WARM_UP = 50
MESSAGE = "x" * 300


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


async def timed(calls: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    for n in range(WARM_UP):
        await call(-1 - n)
    samples = []
    for n in range(calls):
        started = time.perf_counter()
        await call(n)
        samples.append(time.perf_counter() - started)
    return samples


async def checkpoint_latency(saver, operations: int) -> dict[str, tuple[float, float]]:
    from langgraph.checkpoint.base import empty_checkpoint

    thread = f"bench-{uuid.uuid4().hex}"
    stored: list[dict] = []
    messages: list[dict] = []
    parent: dict = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}

    async def put(n: int) -> None:
        nonlocal parent
        messages.append({"role": "user", "content": MESSAGE})
        checkpoint = empty_checkpoint()
        version = saver.get_next_version(None if not stored else stored[-1]["v"], None)
        checkpoint["channel_values"] = {"messages": list(messages), "step": n}
        checkpoint["channel_versions"] = {"messages": version, "step": version}
        metadata = {"source": "loop", "step": n, "parents": {}}
        parent = await saver.aput(parent, checkpoint, metadata, {"messages": version, "step": version})
        stored.append({"config": parent, "v": version})

    put_samples = await timed(operations, put)
    latest = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    latest_samples = await timed(operations, lambda n: saver.aget_tuple(latest))
    by_id_samples = await timed(operations, lambda n: saver.aget_tuple(stored[n % len(stored)]["config"]))
    return {
        "put": percentiles(put_samples),
        "get_tuple (latest)": percentiles(latest_samples),
        "get_tuple (by id)": percentiles(by_id_samples),
    }


async def append_latency(service, operations: int) -> tuple[float, float]:
    from google.adk.events.event import Event
    from google.adk.events.event_actions import EventActions
    from google.genai import types

    session = await service.create_session(app_name="bench", user_id="u1")

    async def append(n: int) -> None:
        event = Event(
            invocation_id="bench",
            author="user" if n % 2 else "agent",
            content=types.Content(role="user", parts=[types.Part(text=MESSAGE)]),
            actions=EventActions(state_delta={"step": n}),
        )
        await service.append_event(session, event)

    return percentiles(await timed(operations, append))


async def measure(args, work: Path, vault_sqlite: str, vault_postgres: str, scratch_url: str) -> dict:
    from google.adk.sessions.database_session_service import DatabaseSessionService
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from vault.integrations.adk import VaultSessionService
    from vault.integrations.langgraph import AsyncVaultSaver

    figures: dict[str, dict] = {}
    for name, url in (
        ("AsyncVaultSaver, The Vault on SQLite", vault_sqlite),
        ("AsyncVaultSaver, The Vault on PostgreSQL", vault_postgres),
    ):
        async with AsyncVaultSaver(url) as saver:
            figures[name] = await checkpoint_latency(saver, args.operations)
    async with AsyncSqliteSaver.from_conn_string(str(work / "langgraph.db")) as saver:
        figures["AsyncSqliteSaver (LangGraph, a file)"] = await checkpoint_latency(saver, args.operations)
    async with AsyncPostgresSaver.from_conn_string(scratch_url) as saver:
        await saver.setup()
        figures["AsyncPostgresSaver (LangGraph)"] = await checkpoint_latency(saver, args.operations)

    sessions = VaultSessionService(vault_sqlite)
    try:
        figures["VaultSessionService, The Vault on SQLite"] = {
            "append_event": await append_latency(sessions, args.operations)
        }
    finally:
        await sessions.close()
    database = DatabaseSessionService(f"sqlite+aiosqlite:///{work / 'adk.db'}")
    figures["DatabaseSessionService (ADK, SQLite file)"] = {
        "append_event": await append_latency(database, args.operations)
    }
    return figures


def render(figures: dict, args) -> str:
    lines = ["| store | call | p50 ms | p95 ms |", "|---|---|---:|---:|"]
    for store, calls in figures.items():
        for call, (p50, p95) in calls.items():
            lines.append(f"| {store} | {call} | {p50:.2f} | {p95:.2f} |")
    lines.append("")
    lines.append(f"{args.operations} calls each, one at a time, after {WARM_UP} to warm up.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=500)
    parser.add_argument(
        "--postgres", default=os.environ.get("VAULT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        vault_url, vault_db = scratch_database(args.postgres)
        frameworks_url, frameworks_db = scratch_database(args.postgres, "_frameworks")
        on_sqlite = servers.vault("sqlite", 0, work / "vault.db", work / "vault-sqlite.log")
        on_postgres = servers.vault(
            "postgres", 0, work / "unused.db", work / "vault-postgres.log", DATABASE_URL=vault_url
        )
        try:
            figures = asyncio.run(measure(args, work, on_sqlite.url, on_postgres.url, frameworks_url))
        finally:
            on_sqlite.stop()
            on_postgres.stop()
            drop_database(args.postgres, vault_db)
            drop_database(args.postgres, frameworks_db)
    print(render(figures, args))


if __name__ == "__main__":
    main()
