"""Checkpoint writes over a connection inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from vault.store.core import checkpoints, commands

CHECKPOINT_INSERT = (
    "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint,"
    " metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)"
    " DO UPDATE SET parent_checkpoint_id = excluded.parent_checkpoint_id, run_id = excluded.run_id,"
    " checkpoint = excluded.checkpoint, metadata = excluded.metadata"
)
WRITE_INSERT = (
    "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data,"
    " task_path) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)"
)
KEY = "thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3"


async def put_checkpoint(conn: asyncpg.Connection, command: commands.PutCheckpoint) -> None:
    await conn.execute(CHECKPOINT_INSERT, *command.checkpoint)
    if command.blobs:
        # A value is written once per version; a retried put finds it there.
        await conn.executemany(
            "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, data)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            command.blobs,
        )


async def put_checkpoint_writes(conn: asyncpg.Connection, command: commands.PutCheckpointWrites) -> None:
    kept = [row for row in command.writes if row[4] >= 0]
    replaced = [row for row in command.writes if row[4] < 0]
    if kept:
        await conn.executemany(WRITE_INSERT + " DO NOTHING", kept)
    if replaced:
        await conn.executemany(
            WRITE_INSERT + " DO UPDATE SET channel = excluded.channel, type = excluded.type, data = excluded.data,"
            " task_path = excluded.task_path",
            replaced,
        )


async def delete_thread(conn: asyncpg.Connection, command: commands.DeleteThread) -> int:
    await conn.execute("DELETE FROM checkpoint_writes WHERE thread_id = $1", command.thread_id)
    await conn.execute("DELETE FROM checkpoint_blobs WHERE thread_id = $1", command.thread_id)
    return len(await conn.fetch("DELETE FROM checkpoints WHERE thread_id = $1 RETURNING 1", command.thread_id))


async def _delete_checkpoints(conn: asyncpg.Connection, keys: list[tuple[str, str, str]]) -> int:
    """Delete these (thread, namespace, id) checkpoints with their writes, then the values nothing names any more."""
    if not keys:
        return 0
    await conn.executemany(f"DELETE FROM checkpoint_writes WHERE {KEY}", keys)
    await conn.executemany(f"DELETE FROM checkpoints WHERE {KEY}", keys)
    for thread_id, namespace in {(key[0], key[1]) for key in keys}:
        await _drop_unnamed_blobs(conn, thread_id, namespace)
    return len(keys)


async def _drop_unnamed_blobs(conn: asyncpg.Connection, thread_id: str, namespace: str) -> None:
    texts = await conn.fetch(
        "SELECT checkpoint FROM checkpoints WHERE thread_id = $1 AND checkpoint_ns = $2", thread_id, namespace
    )
    named = _named_blobs(row[0] for row in texts)
    stored = await conn.fetch(
        "SELECT channel, version FROM checkpoint_blobs WHERE thread_id = $1 AND checkpoint_ns = $2",
        thread_id,
        namespace,
    )
    unnamed = [(thread_id, namespace, row[0], row[1]) for row in stored if (row[0], row[1]) not in named]
    if unnamed:
        await conn.executemany(
            "DELETE FROM checkpoint_blobs WHERE thread_id = $1 AND checkpoint_ns = $2 AND channel = $3"
            " AND version = $4",
            unnamed,
        )


def _named_blobs(checkpoint_texts: Iterable[str]) -> set[tuple[str, str]]:
    return {pair for text in checkpoint_texts for pair in checkpoints.wanted_blobs(text)}


async def delete_runs(conn: asyncpg.Connection, command: commands.DeleteRuns) -> int:
    found = await conn.fetch(
        "SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints WHERE run_id = ANY($1::text[]) FOR UPDATE",
        command.run_ids,
    )
    return await _delete_checkpoints(conn, [tuple(row) for row in found])


async def copy_thread(conn: asyncpg.Connection, command: commands.CopyThread) -> int:
    source, target = command.source_thread_id, command.target_thread_id
    if source == target:
        return 0
    copied = await conn.fetch(
        "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint,"
        " metadata, created_at) SELECT $1, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint,"
        " metadata, created_at FROM checkpoints WHERE thread_id = $2 ON CONFLICT DO NOTHING RETURNING 1",
        target,
        source,
    )
    await conn.execute(
        "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, data)"
        " SELECT $1, checkpoint_ns, channel, version, type, data FROM checkpoint_blobs WHERE thread_id = $2"
        " ON CONFLICT DO NOTHING",
        target,
        source,
    )
    await conn.execute(
        "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data,"
        " task_path) SELECT $1, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path"
        " FROM checkpoint_writes WHERE thread_id = $2 ON CONFLICT DO NOTHING",
        target,
        source,
    )
    return len(copied)


async def prune_threads(conn: asyncpg.Connection, command: commands.PruneThreads) -> int:
    if not command.keep_latest:
        return sum([await delete_thread(conn, commands.DeleteThread(thread_id)) for thread_id in command.thread_ids])
    found = await conn.fetch(
        "SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id FROM checkpoints c WHERE c.thread_id = ANY($1::text[])"
        " AND c.checkpoint_id < (SELECT max(n.checkpoint_id) FROM checkpoints n"
        " WHERE n.thread_id = c.thread_id AND n.checkpoint_ns = c.checkpoint_ns)",
        command.thread_ids,
    )
    return await _delete_checkpoints(conn, [tuple(row) for row in found])
