"""Checkpoint writes over the writer's sqlite3 connection: each runs in its command's savepoint."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from vault.store.core import checkpoints, commands

CHECKPOINT_INSERT = (
    "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint,"
    " metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)"
    " DO UPDATE SET parent_checkpoint_id = excluded.parent_checkpoint_id, run_id = excluded.run_id,"
    " checkpoint = excluded.checkpoint, metadata = excluded.metadata"
)
WRITE_INSERT = (
    "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data,"
    " task_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)"
)


def put_checkpoint(conn: sqlite3.Connection, command: commands.PutCheckpoint) -> None:
    conn.execute(CHECKPOINT_INSERT, command.checkpoint)
    # A value is written once per version; a retried put finds it there.
    conn.executemany(
        "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, data)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        command.blobs,
    )


def put_checkpoint_writes(conn: sqlite3.Connection, command: commands.PutCheckpointWrites) -> None:
    kept = [row for row in command.writes if row[4] >= 0]
    replaced = [row for row in command.writes if row[4] < 0]
    conn.executemany(WRITE_INSERT + " DO NOTHING", kept)
    conn.executemany(
        WRITE_INSERT + " DO UPDATE SET channel = excluded.channel, type = excluded.type, data = excluded.data,"
        " task_path = excluded.task_path",
        replaced,
    )


def delete_thread(conn: sqlite3.Connection, command: commands.DeleteThread) -> int:
    thread = (command.thread_id,)
    conn.execute("DELETE FROM checkpoint_writes WHERE thread_id = ?", thread)
    conn.execute("DELETE FROM checkpoint_blobs WHERE thread_id = ?", thread)
    return conn.execute("DELETE FROM checkpoints WHERE thread_id = ?", thread).rowcount


def _delete_checkpoints(conn: sqlite3.Connection, keys: list[tuple[str, str, str]]) -> int:
    """Delete these (thread, namespace, id) checkpoints with their writes, then the values nothing names any more."""
    conn.executemany(
        "DELETE FROM checkpoint_writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?", keys
    )
    conn.executemany("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?", keys)
    for thread_id, namespace in {(key[0], key[1]) for key in keys}:
        _drop_unnamed_blobs(conn, thread_id, namespace)
    return len(keys)


def _drop_unnamed_blobs(conn: sqlite3.Connection, thread_id: str, namespace: str) -> None:
    named = _named_blobs(
        row[0]
        for row in conn.execute(
            "SELECT checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ?", (thread_id, namespace)
        )
    )
    stored = conn.execute(
        "SELECT channel, version FROM checkpoint_blobs WHERE thread_id = ? AND checkpoint_ns = ?",
        (thread_id, namespace),
    ).fetchall()
    conn.executemany(
        "DELETE FROM checkpoint_blobs WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? AND version = ?",
        [(thread_id, namespace, channel, version) for channel, version in stored if (channel, version) not in named],
    )


def _named_blobs(checkpoint_texts: Iterable[str]) -> set[tuple[str, str]]:
    return {pair for text in checkpoint_texts for pair in checkpoints.wanted_blobs(text)}


def delete_runs(conn: sqlite3.Connection, command: commands.DeleteRuns) -> int:
    keys = []
    for run_id in command.run_ids:
        keys += conn.execute(
            "SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints WHERE run_id = ?", (run_id,)
        ).fetchall()
    return _delete_checkpoints(conn, keys)


def copy_thread(conn: sqlite3.Connection, command: commands.CopyThread) -> int:
    source, target = command.source_thread_id, command.target_thread_id
    if source == target:
        return 0
    copied = conn.execute(
        "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint,"
        " metadata, created_at) SELECT ?, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint,"
        " metadata, created_at FROM checkpoints WHERE thread_id = ? ON CONFLICT DO NOTHING",
        (target, source),
    ).rowcount
    conn.execute(
        "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, data)"
        " SELECT ?, checkpoint_ns, channel, version, type, data FROM checkpoint_blobs WHERE thread_id = ?"
        " ON CONFLICT DO NOTHING",
        (target, source),
    )
    conn.execute(
        "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data,"
        " task_path) SELECT ?, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path"
        " FROM checkpoint_writes WHERE thread_id = ? ON CONFLICT DO NOTHING",
        (target, source),
    )
    return copied


def prune_threads(conn: sqlite3.Connection, command: commands.PruneThreads) -> int:
    if not command.keep_latest:
        return sum(delete_thread(conn, commands.DeleteThread(thread_id)) for thread_id in command.thread_ids)
    keys = []
    for thread_id in command.thread_ids:
        keys += conn.execute(
            "SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id FROM checkpoints c WHERE c.thread_id = ?"
            " AND c.checkpoint_id < (SELECT max(n.checkpoint_id) FROM checkpoints n"
            " WHERE n.thread_id = c.thread_id AND n.checkpoint_ns = c.checkpoint_ns)",
            (thread_id,),
        ).fetchall()
    return _delete_checkpoints(conn, keys)
