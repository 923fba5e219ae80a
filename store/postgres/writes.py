"""Write operations: async functions over a connection inside the caller's transaction.

PostgreSQL serializes what must be serial through row locks, taken first:
a session's row is locked (FOR NO KEY UPDATE) before its seq counter or its
state moves, so writers on any instance queue there and each sees the last
committed value. Inserts that only need the session to exist take a share
lock (FOR KEY SHARE), which keeps a concurrent delete out until they commit
and does not block appends.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
from vault.store.core import rows
from vault.store.core.commands import (
    AddMessages,
    Answer,
    CacheCleanupChunk,
    CacheDelete,
    CacheSet,
    ClearHistory,
    CreateArtifact,
    CreateSession,
    DeleteArtifact,
    DeleteSession,
    DeleteState,
    PatchState,
    PruneIdempotencyChunk,
    PutState,
    RecordMetrics,
    TouchCache,
    UpdateSession,
)
from vault.store.errors import BlobMissing, NotFound, PreconditionFailed
from vault.store.postgres.blob_refs import lock_blob

from vault import clock, ids
from vault.inputs import is_set
from vault.jsonutil import dumps_text
from vault.merge_patch import apply_merge_patch, merge_keys
from vault.models import Artifact, CacheEntry, Message, Metric, Session, State

# -- sessions


async def create_session(conn: asyncpg.Connection, command: CreateSession) -> Session:
    new = command.new
    now = clock.now_text()
    session = Session(ids.session_id(), new.agent_name, new.user_id, new.status, new.metadata, now, now, 0)
    await conn.execute(
        "INSERT INTO sessions (id, agent_name, user_id, status, metadata, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        session.id,
        session.agent_name,
        session.user_id,
        session.status,
        dumps_text(session.metadata),
        now,
        now,
    )
    return session


async def update_session(conn: asyncpg.Connection, command: UpdateSession) -> Session:
    session_id, changes = command.session_id, command.changes
    row = await conn.fetchrow(
        f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE id = $1 FOR NO KEY UPDATE", session_id
    )
    if row is None:
        raise NotFound("session", session_id)
    current = rows.session(row)
    status = changes.status if is_set(changes.status) else current.status
    user_id = changes.user_id if is_set(changes.user_id) else current.user_id
    metadata = merge_keys(current.metadata, changes.metadata) if is_set(changes.metadata) else current.metadata
    now = clock.now_text()
    await conn.execute(
        "UPDATE sessions SET status = $1, user_id = $2, metadata = $3, updated_at = $4 WHERE id = $5",
        status,
        user_id,
        dumps_text(metadata),
        now,
        session_id,
    )
    return Session(
        current.id, current.agent_name, user_id, status, metadata, current.created_at, now, current.message_count
    )


async def delete_session(conn: asyncpg.Connection, command: DeleteSession) -> list[str]:
    session_id = command.session_id
    # FOR UPDATE waits out, then keeps out, writers that add to the session,
    # so the artifacts read here are all that the cascade deletes.
    if await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", session_id) is None:
        raise NotFound("session", session_id)
    found = await conn.fetch(
        "SELECT DISTINCT sha256 FROM artifacts WHERE session_id = $1 AND sha256 IS NOT NULL", session_id
    )
    # Foreign keys cascade to history, state, artifacts and metrics in this transaction.
    await conn.execute("DELETE FROM sessions WHERE id = $1", session_id)
    return [row["sha256"] for row in found]


# -- history


async def add_messages(conn: asyncpg.Connection, command: AddMessages) -> list[Message]:
    session_id, messages = command.session_id, command.messages
    # The row lock makes appends to one session take turns, on every instance:
    # each reads the last_seq the previous one committed, so seq has no gaps.
    last_seq = await conn.fetchval("SELECT last_seq FROM sessions WHERE id = $1 FOR NO KEY UPDATE", session_id)
    if last_seq is None:
        raise NotFound("session", session_id)
    now = clock.now_text()
    # Plain dicts in Message's field order, each stored as the JSON it is served as
    # (the same text the SQLite backend stores).
    records = [
        {
            "id": ids.message_id(),
            "session_id": session_id,
            "seq": seq,
            "role": new.role,
            "content": new.content,
            "name": new.name,
            "tool_calls": new.tool_calls,
            "tool_call_id": new.tool_call_id,
            "metadata": new.metadata,
            "timestamp": now,
        }
        for seq, new in enumerate(messages, start=last_seq + 1)
    ]
    await conn.executemany(
        "INSERT INTO messages (session_id, seq, id, role, body) VALUES ($1, $2, $3, $4, $5)",
        [(session_id, r["seq"], r["id"], r["role"], dumps_text(r)) for r in records],
    )
    await conn.execute(
        "UPDATE sessions SET last_seq = $1, message_count = message_count + $2, updated_at = $3 WHERE id = $4",
        last_seq + len(records),
        len(records),
        now,
        session_id,
    )
    return [Message(**record) for record in records]


async def clear_history(conn: asyncpg.Connection, command: ClearHistory) -> int:
    session_id = command.session_id
    if await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1 FOR NO KEY UPDATE", session_id) is None:
        raise NotFound("session", session_id)
    status = await conn.execute("DELETE FROM messages WHERE session_id = $1", session_id)
    await conn.execute(
        "UPDATE sessions SET message_count = 0, updated_at = $1 WHERE id = $2", clock.now_text(), session_id
    )
    return int(status.split()[-1])


# -- state


async def _current_state(conn: asyncpg.Connection, session_id: str, if_match: int | None) -> State:
    # The session's row is locked, not the state's: a session without state
    # has no state row to lock, and its first writers must take turns too.
    # The state is read by a second statement, which (READ COMMITTED) sees
    # what the writer before us committed while we waited for the lock.
    if await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1 FOR NO KEY UPDATE", session_id) is None:
        raise NotFound("session", session_id)
    row = await conn.fetchrow("SELECT data, version, updated_at FROM state WHERE session_id = $1", session_id)
    current = rows.state(session_id, row)
    if if_match is not None and if_match != current.version:
        raise PreconditionFailed(current)
    return current


async def _write_state(conn: asyncpg.Connection, current: State, data: dict[str, Any]) -> State:
    now = clock.now_text()
    version = current.version + 1
    await conn.execute(
        "INSERT INTO state (session_id, data, version, updated_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, version = excluded.version,"
        " updated_at = excluded.updated_at",
        current.session_id,
        dumps_text(data),
        version,
        now,
    )
    return State(current.session_id, data, version, now)


async def put_state(conn: asyncpg.Connection, command: PutState) -> State:
    current = await _current_state(conn, command.session_id, command.if_match)
    return await _write_state(conn, current, command.data)


async def patch_state(conn: asyncpg.Connection, command: PatchState) -> State:
    current = await _current_state(conn, command.session_id, command.if_match)
    return await _write_state(conn, current, apply_merge_patch(current.data, command.patch))


async def delete_state(conn: asyncpg.Connection, command: DeleteState) -> State:
    current = await _current_state(conn, command.session_id, command.if_match)
    if current.version == 0:
        return current
    return await _write_state(conn, current, {})


# -- artifacts


async def require_sessions(conn: asyncpg.Connection, session_ids: set[str]) -> None:
    """NotFound unless every session exists; holds them until commit so none is deleted meanwhile."""
    wanted = sorted(session_ids)  # one lock order for every writer
    found = await conn.fetch("SELECT id FROM sessions WHERE id = ANY($1::text[]) ORDER BY id FOR KEY SHARE", wanted)
    missing = set(wanted) - {row["id"] for row in found}
    if missing:
        raise NotFound("session", min(missing))


async def create_artifact(conn: asyncpg.Connection, command: CreateArtifact) -> Artifact:
    """With content, the record claims that blob; BlobMissing if it is not present now.

    The check runs under the blob's advisory lock, which releases take too
    (vault.store.postgres.blob_refs): once this commits, no release removes the blob.
    """
    new, content, present = command.new, command.content, command.present
    if new.session_id is not None:
        await require_sessions(conn, {new.session_id})
    if content is not None:
        await lock_blob(conn, content.sha256)
        if present is None or not await asyncio.to_thread(present, content.sha256):
            raise BlobMissing(content.sha256)
    artifact = Artifact(
        ids.artifact_id(),
        new.session_id,
        new.name,
        new.type,
        new.content_type,
        new.path,
        new.size if content is None else content.size,
        None if content is None else content.sha256,
        new.metadata,
        clock.now_text(),
    )
    await conn.execute(
        f"INSERT INTO artifacts ({rows.ARTIFACT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        artifact.id,
        artifact.session_id,
        artifact.name,
        artifact.type,
        artifact.content_type,
        artifact.path,
        artifact.size,
        artifact.sha256,
        dumps_text(artifact.metadata),
        artifact.created_at,
    )
    return artifact


async def delete_artifact(conn: asyncpg.Connection, command: DeleteArtifact) -> str | None:
    artifact_id = command.artifact_id
    row = await conn.fetchrow("DELETE FROM artifacts WHERE id = $1 RETURNING sha256", artifact_id)
    if row is None:
        raise NotFound("artifact", artifact_id)
    return row["sha256"]


# -- metrics


async def record_metrics(conn: asyncpg.Connection, command: RecordMetrics) -> list[Metric]:
    metrics = command.metrics
    await require_sessions(conn, {m.session_id for m in metrics if m.session_id is not None})
    now = clock.now_text()
    recorded = [
        Metric(
            ids.metric_id(),
            m.entity_type,
            m.entity_name,
            m.session_id,
            m.metric_name,
            m.value,
            m.labels,
            m.timestamp or now,
        )
        for m in metrics
    ]
    await conn.executemany(
        f"INSERT INTO metrics ({rows.METRIC_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            (
                m.id,
                m.entity_type,
                m.entity_name,
                m.session_id,
                m.metric_name,
                m.value,
                dumps_text(m.labels),
                m.timestamp,
            )
            for m in recorded
        ],
    )
    return recorded


# -- cache


async def cache_set(conn: asyncpg.Connection, command: CacheSet) -> CacheEntry:
    key, write = command.key, command.write
    moment = clock.now()
    now = clock.format_time(moment)
    # From the same moment as created_at, so expires_at - created_at is exactly the ttl.
    expires_at = None if write.ttl is None else clock.format_time(moment + timedelta(seconds=write.ttl))
    await conn.execute(
        f"INSERT INTO cache ({rows.CACHE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, ttl = excluded.ttl,"
        " created_at = excluded.created_at, accessed_at = excluded.accessed_at, expires_at = excluded.expires_at",
        key,
        dumps_text(write.value),
        write.ttl,
        now,
        now,
        expires_at,
    )
    return CacheEntry(key, write.value, write.ttl, now, now, expires_at)


async def cache_delete(conn: asyncpg.Connection, command: CacheDelete) -> None:
    key = command.key
    row = await conn.fetchrow("DELETE FROM cache WHERE key = $1 RETURNING expires_at", key)
    # An expired entry is already gone as far as clients can tell.
    if row is None or (row["expires_at"] is not None and row["expires_at"] <= clock.now_text()):
        raise NotFound("cache key", key)


async def cache_cleanup_chunk(conn: asyncpg.Connection, command: CacheCleanupChunk) -> int:
    # SKIP LOCKED: entries another instance is sweeping (or setting) are left to it.
    status = await conn.execute(
        "DELETE FROM cache WHERE key IN (SELECT key FROM cache WHERE expires_at IS NOT NULL AND expires_at <= $1"
        " LIMIT $2 FOR UPDATE SKIP LOCKED)",
        clock.now_text(),
        command.limit,
    )
    return int(status.split()[-1])


async def prune_idempotency_chunk(conn: asyncpg.Connection, command: PruneIdempotencyChunk) -> int:
    status = await conn.execute(
        "DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE created_at < $1"
        " LIMIT $2 FOR UPDATE SKIP LOCKED)",
        command.older_than,
        command.limit,
    )
    return int(status.split()[-1])


async def touch_cache(conn: asyncpg.Connection, command: TouchCache) -> None:
    # Sorted, so two instances touching the same keys lock them in one order.
    await conn.executemany(
        "UPDATE cache SET accessed_at = $1 WHERE key = $2 AND accessed_at < $1",
        [(when, key) for key, when in sorted(command.touches.items())],
    )


async def answer(conn: asyncpg.Connection, command: Answer) -> Any:
    return command.value
