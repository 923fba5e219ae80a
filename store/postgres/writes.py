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
from typing import Any

import asyncpg
from vault.store.core import commands, records, rows, scoped_state
from vault.store.core.packing import OFF, Codec, Packed
from vault.store.errors import AlreadyExists, BlobMissing, NotFound
from vault.store.postgres import search
from vault.store.postgres.blob_refs import lock_blob
from vault.store.postgres.locks import SCOPED_STATE_NAMESPACE

from vault import clock
from vault.jsonutil import off_loop
from vault.merge_patch import apply_merge_patch
from vault.models import Artifact, CacheEntry, Metric, ScopedState, Session, State

# The state's row form once deleted.
EMPTY = OFF.pack("state", "{}")

# -- sessions


async def create_session(conn: asyncpg.Connection, command: commands.CreateSession) -> Session:
    session = records.new_session(command.new)
    await conn.execute(
        "INSERT INTO sessions (id, agent_name, user_id, status, metadata, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        *records.session_row(session, command.max_bytes),
    )
    return session


async def create_keyed_session(conn: asyncpg.Connection, command: commands.CreateKeyedSession) -> Session:
    session = await create_session(conn, commands.CreateSession(command.new, command.max_bytes))
    # The transaction is rolled back, the session's insert with it, when the key is taken.
    bound = await conn.fetchval(
        "INSERT INTO session_keys (app_name, user_id, session_key, session_id) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING RETURNING session_id",
        session.agent_name,
        session.user_id,
        command.key,
        session.id,
    )
    if bound is None:
        raise AlreadyExists("session key", command.key)
    return session


async def update_session(conn: asyncpg.Connection, command: commands.UpdateSession) -> Session:
    row = await conn.fetchrow(
        f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE id = $1 FOR NO KEY UPDATE", command.session_id
    )
    if row is None:
        raise NotFound("session", command.session_id)
    session = records.changed_session(rows.session(row), command.changes)
    await conn.execute(
        "UPDATE sessions SET status = $1, user_id = $2, metadata = $3, updated_at = $4 WHERE id = $5",
        *records.changed_session_row(session, command.max_bytes),
    )
    return session


async def delete_session(conn: asyncpg.Connection, command: commands.DeleteSession) -> list[str]:
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


async def add_messages(conn: asyncpg.Connection, command: commands.AddMessages) -> records.Appended:
    session_id, count = command.session_id, len(command.messages)
    # Claims the seq numbers and counts the messages in one round trip. The
    # update's row lock makes appends to one session take turns, on every
    # instance: each starts from the last_seq the previous one committed, so
    # seq has no gaps; a failed insert below rolls the claim back with it.
    claimed = await conn.fetchval(
        "UPDATE sessions SET last_seq = last_seq + $1, message_count = message_count + $1, updated_at = $2"
        " WHERE id = $3 RETURNING last_seq",
        count,
        command.now,
        session_id,
    )
    if claimed is None:
        raise NotFound("session", session_id)
    first_seq = claimed - count + 1
    await conn.executemany(
        "INSERT INTO messages (session_id, seq, id, role, body, body_packed, body_size)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        records.message_rows(session_id, command.messages, first_seq, command.max_bytes),
    )
    await search.index_messages(conn, command.messages)
    return records.Appended(session_id, command.messages, first_seq)


async def clear_history(conn: asyncpg.Connection, command: commands.ClearHistory) -> int:
    session_id = command.session_id
    if await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1 FOR NO KEY UPDATE", session_id) is None:
        raise NotFound("session", session_id)
    status = await conn.execute("DELETE FROM messages WHERE session_id = $1", session_id)
    await conn.execute(
        "UPDATE sessions SET message_count = 0, updated_at = $1 WHERE id = $2", clock.now_text(), session_id
    )
    return int(status.split()[-1])


# -- state


async def _current_state(
    conn: asyncpg.Connection, session_id: str, if_match: int | None, codec: Codec, with_data: bool = False
) -> State:
    """The current state; its data is unpacked only when needed (a patch, or a stale If-Match's answer)."""
    # The session's row is locked, not the state's: a session without state
    # has no state row to lock, and its first writers must take turns too.
    # The state is read by a second statement, which (READ COMMITTED) sees
    # what the writer before us committed while we waited for the lock.
    if await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1 FOR NO KEY UPDATE", session_id) is None:
        raise NotFound("session", session_id)
    row = await conn.fetchrow(
        "SELECT data, data_packed, data_size, version, updated_at FROM state WHERE session_id = $1", session_id
    )
    size = rows.document_size(row[0], row[2]) if row is not None and with_data else 0
    return await off_loop(size, lambda: rows.current_state(session_id, row, if_match, codec, with_data))


async def _write_state(conn: asyncpg.Connection, current: State, data: dict[str, Any], packed: Packed) -> State:
    state = records.next_state(current, data)
    await conn.execute(
        f"INSERT INTO state ({rows.STATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, data_packed = excluded.data_packed,"
        " data_size = excluded.data_size, version = excluded.version, updated_at = excluded.updated_at",
        *records.state_row(state, packed),
    )
    return state


async def put_state(conn: asyncpg.Connection, command: commands.PutState) -> State:
    current = await _current_state(conn, command.session_id, command.if_match, command.codec)
    return await _write_state(conn, current, command.data, command.packed)


async def patch_state(conn: asyncpg.Connection, command: commands.PatchState) -> State:
    current = await _current_state(conn, command.session_id, command.if_match, command.codec, with_data=True)
    data = apply_merge_patch(current.data, command.patch)
    packed = records.packed_document(command.codec, "state", data, "data", command.max_bytes)
    return await _write_state(conn, current, data, packed)


async def delete_state(conn: asyncpg.Connection, command: commands.DeleteState) -> State:
    current = await _current_state(conn, command.session_id, command.if_match, command.codec)
    if current.version == 0:
        return current
    return await _write_state(conn, current, {}, EMPTY)


# -- state of an app, or of a user of an app


async def _current_scoped_state(
    conn: asyncpg.Connection, app_name: str, user_key: str, if_match: int | None, codec: Codec, with_data: bool = False
) -> State:
    # The first write of a scope has no row to lock: an advisory lock on the scope makes writers take turns.
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))", SCOPED_STATE_NAMESPACE, f"{app_name}/{user_key}"
    )
    row = await conn.fetchrow(scoped_state.POSTGRES_ROW_QUERY, app_name, user_key)
    size = 0 if row is None else rows.document_size(row[0], row[2])
    return await off_loop(size, lambda: scoped_state.current(app_name, user_key, row, if_match, codec, with_data))


async def _write_scoped_state(
    conn: asyncpg.Connection, app_name: str, user_key: str, current: State, data: dict[str, Any], packed: Packed
) -> ScopedState:
    state = records.next_state(current, data)
    await conn.execute(
        f"INSERT INTO scoped_state ({scoped_state.SCOPED_STATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (app_name, user_id) DO UPDATE SET data = excluded.data, data_packed = excluded.data_packed,"
        " data_size = excluded.data_size, version = excluded.version, updated_at = excluded.updated_at",
        *scoped_state.row_of(app_name, user_key, state, packed),
    )
    return scoped_state.scoped(app_name, user_key, state)


async def put_scoped_state(conn: asyncpg.Connection, command: commands.PutScopedState) -> ScopedState:
    app, user = command.app_name, command.user_key
    current = await _current_scoped_state(conn, app, user, command.if_match, command.codec)
    return await _write_scoped_state(conn, app, user, current, command.data, command.packed)


async def patch_scoped_state(conn: asyncpg.Connection, command: commands.PatchScopedState) -> ScopedState:
    app, user = command.app_name, command.user_key
    current = await _current_scoped_state(conn, app, user, command.if_match, command.codec, with_data=True)
    data = apply_merge_patch(current.data, command.patch)
    packed = records.packed_document(command.codec, "state", data, "data", command.max_bytes)
    return await _write_scoped_state(conn, app, user, current, data, packed)


async def delete_scoped_state(conn: asyncpg.Connection, command: commands.DeleteScopedState) -> ScopedState:
    app, user = command.app_name, command.user_key
    current = await _current_scoped_state(conn, app, user, command.if_match, command.codec)
    if current.version == 0:
        return scoped_state.scoped(app, user, current)
    return await _write_scoped_state(conn, app, user, current, {}, EMPTY)


# -- artifacts


async def require_sessions(conn: asyncpg.Connection, session_ids: set[str]) -> None:
    """NotFound unless every session exists; holds them until commit so none is deleted meanwhile."""
    wanted = sorted(session_ids)  # one lock order for every writer
    found = await conn.fetch("SELECT id FROM sessions WHERE id = ANY($1::text[]) ORDER BY id FOR KEY SHARE", wanted)
    missing = set(wanted) - {row["id"] for row in found}
    if missing:
        raise NotFound("session", min(missing))


async def create_artifact(conn: asyncpg.Connection, command: commands.CreateArtifact) -> Artifact:
    """With content, the record claims that blob; BlobMissing if it is not present now.

    The check runs under the blob's advisory lock, which releases take too
    (vault.store.postgres.blob_refs): once this commits, no release removes the blob.
    """
    if command.new.session_id is not None:
        await require_sessions(conn, {command.new.session_id})
    content = command.content
    if content is not None:
        await lock_blob(conn, content.sha256)
        if command.present is None or not await asyncio.to_thread(command.present, content.sha256):
            raise BlobMissing(content.sha256)
    artifact = records.new_artifact(command.new, content)
    await conn.execute(
        f"INSERT INTO artifacts ({rows.ARTIFACT_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        *records.artifact_row(artifact),
        records.stored_size(content),
    )
    return artifact


async def delete_artifact(conn: asyncpg.Connection, command: commands.DeleteArtifact) -> commands.RemovedArtifact:
    artifact_id = command.artifact_id
    row = await conn.fetchrow("DELETE FROM artifacts WHERE id = $1 RETURNING sha256, session_id", artifact_id)
    if row is None:
        raise NotFound("artifact", artifact_id)
    return commands.RemovedArtifact(row["sha256"], row["session_id"])


# -- metrics


async def record_metrics(conn: asyncpg.Connection, command: commands.RecordMetrics) -> list[Metric]:
    await require_sessions(conn, {m.session_id for m in command.metrics if m.session_id is not None})
    recorded = records.new_metrics(command.metrics)
    await conn.executemany(
        f"INSERT INTO metrics ({rows.METRIC_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        records.metric_rows(recorded),
    )
    return recorded


# -- cache


async def cache_set(conn: asyncpg.Connection, command: commands.CacheSet) -> CacheEntry:
    entry = records.new_cache_entry(command.key, command.write)
    await conn.execute(
        f"INSERT INTO cache ({rows.CACHE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, value_packed = excluded.value_packed,"
        " value_size = excluded.value_size, ttl = excluded.ttl, created_at = excluded.created_at,"
        " accessed_at = excluded.accessed_at, expires_at = excluded.expires_at",
        *records.cache_row(entry, command.packed),
    )
    return entry


async def cache_delete(conn: asyncpg.Connection, command: commands.CacheDelete) -> None:
    row = await conn.fetchrow("DELETE FROM cache WHERE key = $1 RETURNING expires_at", command.key)
    # An expired entry is already gone as far as clients can tell.
    if row is None or records.has_expired(row["expires_at"]):
        raise NotFound("cache key", command.key)


async def cache_cleanup_chunk(conn: asyncpg.Connection, command: commands.CacheCleanupChunk) -> int:
    # SKIP LOCKED: entries another instance is sweeping (or setting) are left to it.
    status = await conn.execute(
        "DELETE FROM cache WHERE key IN (SELECT key FROM cache WHERE expires_at IS NOT NULL AND expires_at <= $1"
        " LIMIT $2 FOR UPDATE SKIP LOCKED)",
        clock.now_text(),
        command.limit,
    )
    return int(status.split()[-1])


async def prune_idempotency_chunk(conn: asyncpg.Connection, command: commands.PruneIdempotencyChunk) -> int:
    status = await conn.execute(
        "DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE created_at < $1"
        " LIMIT $2 FOR UPDATE SKIP LOCKED)",
        command.older_than,
        command.limit,
    )
    return int(status.split()[-1])


async def touch_cache(conn: asyncpg.Connection, command: commands.TouchCache) -> None:
    # Sorted, so two instances touching the same keys lock them in one order.
    await conn.executemany(
        "UPDATE cache SET accessed_at = $1 WHERE key = $2 AND accessed_at < $1",
        [(when, key) for key, when in sorted(command.touches.items())],
    )


async def answer(conn: asyncpg.Connection, command: commands.Answer) -> Any:
    return command.value


# -- compression


async def add_dictionary(conn: asyncpg.Connection, command: commands.AddDictionary) -> None:
    # Two instances training at once (the job lock should prevent it) collide on the id: one fails.
    await conn.execute(
        "INSERT INTO compression_dictionaries (id, kind, content, samples, created_at) VALUES ($1, $2, $3, $4, $5)",
        command.dict_id,
        command.kind,
        command.content,
        command.samples,
        clock.now_text(),
    )


# Each kind's rewrite: (text, frame, size, key...) as vault.store.core.repacking builds them;
# a row is only rewritten if it is still the plain row that was read.
REPACK_SQL = {
    "messages": "UPDATE messages SET body = $1, body_packed = $2, body_size = $3"
    " WHERE session_id = $4 AND seq = $5 AND body_packed IS NULL",
    "state": "UPDATE state SET data = $1, data_packed = $2, data_size = $3"
    " WHERE session_id = $4 AND version = $5 AND data_packed IS NULL",
    "cache": "UPDATE cache SET value = $1, value_packed = $2, value_size = $3"
    " WHERE key = $4 AND value = $5 AND value_packed IS NULL",
}


async def repack(conn: asyncpg.Connection, command: commands.Repack) -> int:
    done = 0
    for row in command.rows:
        if row[1] is not None:
            status = await conn.execute(REPACK_SQL[command.kind], *row)
            done += int(status.split()[-1])
    return done
