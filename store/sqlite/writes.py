"""Write operations: the function that runs each command over the writer's sqlite3 connection.

Each runs on the writer thread inside its own savepoint (vault.store.sqlite.writer),
so a raised error undoes exactly what the command did.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

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

from vault import clock, ids
from vault.inputs import is_set
from vault.jsonutil import dumps_text
from vault.merge_patch import apply_merge_patch, merge_keys
from vault.models import Artifact, CacheEntry, Message, Metric, Session, State

# -- sessions


def create_session(conn: sqlite3.Connection, command: CreateSession) -> Session:
    new = command.new
    now = clock.now_text()
    session = Session(ids.session_id(), new.agent_name, new.user_id, new.status, new.metadata, now, now, 0)
    conn.execute(
        "INSERT INTO sessions (id, agent_name, user_id, status, metadata, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session.id, session.agent_name, session.user_id, session.status, dumps_text(session.metadata), now, now),
    )
    return session


def update_session(conn: sqlite3.Connection, command: UpdateSession) -> Session:
    session_id, changes = command.session_id, command.changes
    row = conn.execute(f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound("session", session_id)
    current = rows.session(row)
    status = changes.status if is_set(changes.status) else current.status
    user_id = changes.user_id if is_set(changes.user_id) else current.user_id
    metadata = merge_keys(current.metadata, changes.metadata) if is_set(changes.metadata) else current.metadata
    now = clock.now_text()
    conn.execute(
        "UPDATE sessions SET status = ?, user_id = ?, metadata = ?, updated_at = ? WHERE id = ?",
        (status, user_id, dumps_text(metadata), now, session_id),
    )
    return Session(
        current.id, current.agent_name, user_id, status, metadata, current.created_at, now, current.message_count
    )


def delete_session(conn: sqlite3.Connection, command: DeleteSession) -> list[str]:
    session_id = command.session_id
    blobs = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT sha256 FROM artifacts WHERE session_id = ? AND sha256 IS NOT NULL", (session_id,)
        )
    ]
    # Foreign keys cascade to history, state, artifacts and metrics.
    if conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount == 0:
        raise NotFound("session", session_id)
    return blobs


# -- history


def add_messages(conn: sqlite3.Connection, command: AddMessages) -> list[Message]:
    session_id, messages = command.session_id, command.messages
    now = clock.now_text()
    # Claim the seq numbers and count the messages in one statement; the
    # command's savepoint undoes it if an insert below fails.
    row = conn.execute(
        "UPDATE sessions SET last_seq = last_seq + ?1, message_count = message_count + ?1, updated_at = ?2"
        " WHERE id = ?3 RETURNING last_seq",
        (len(messages), now, session_id),
    ).fetchone()
    if row is None:
        raise NotFound("session", session_id)
    first_seq = row[0] - len(messages) + 1
    # Built as plain dicts in Message's field order: each is stored as the JSON
    # it is served as (one encoding per message, no unstructuring pass).
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
        for seq, new in enumerate(messages, start=first_seq)
    ]
    conn.executemany(
        "INSERT INTO messages (session_id, seq, id, role, body) VALUES (?, ?, ?, ?, ?)",
        [(session_id, r["seq"], r["id"], r["role"], dumps_text(r)) for r in records],
    )
    return [Message(**record) for record in records]


def clear_history(conn: sqlite3.Connection, command: ClearHistory) -> int:
    session_id = command.session_id
    if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise NotFound("session", session_id)
    deleted = conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,)).rowcount
    conn.execute("UPDATE sessions SET message_count = 0, updated_at = ? WHERE id = ?", (clock.now_text(), session_id))
    return deleted


# -- state


def _current_state(conn: sqlite3.Connection, session_id: str, if_match: int | None) -> State:
    row = conn.execute(
        "SELECT st.data, st.version, st.updated_at FROM sessions s"
        " LEFT JOIN state st ON st.session_id = s.id WHERE s.id = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        raise NotFound("session", session_id)
    current = rows.state(session_id, row)
    if if_match is not None and if_match != current.version:
        raise PreconditionFailed(current)
    return current


def _write_state(conn: sqlite3.Connection, current: State, data: dict[str, Any]) -> State:
    now = clock.now_text()
    version = current.version + 1
    conn.execute(
        "INSERT INTO state (session_id, data, version, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, version = excluded.version,"
        " updated_at = excluded.updated_at",
        (current.session_id, dumps_text(data), version, now),
    )
    return State(current.session_id, data, version, now)


def put_state(conn: sqlite3.Connection, command: PutState) -> State:
    return _write_state(conn, _current_state(conn, command.session_id, command.if_match), command.data)


def patch_state(conn: sqlite3.Connection, command: PatchState) -> State:
    current = _current_state(conn, command.session_id, command.if_match)
    return _write_state(conn, current, apply_merge_patch(current.data, command.patch))


def delete_state(conn: sqlite3.Connection, command: DeleteState) -> State:
    current = _current_state(conn, command.session_id, command.if_match)
    if current.version == 0:
        return current
    return _write_state(conn, current, {})


# -- artifacts


def _require_session(conn: sqlite3.Connection, session_id: str | None) -> None:
    if session_id is not None and conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise NotFound("session", session_id)


def create_artifact(conn: sqlite3.Connection, command: CreateArtifact) -> Artifact:
    """With content, the record claims that blob; BlobMissing if it is not present now.

    The check runs here, ordered with blob releases on the writer thread: once
    this commits, no release removes the blob (vault.store.sqlite.blob_refs).
    """
    new, content, present = command.new, command.content, command.present
    _require_session(conn, new.session_id)
    if content is not None and (present is None or not present(content.sha256)):
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
    conn.execute(
        f"INSERT INTO artifacts ({rows.ARTIFACT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
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
        ),
    )
    return artifact


def delete_artifact(conn: sqlite3.Connection, command: DeleteArtifact) -> str | None:
    artifact_id = command.artifact_id
    row = conn.execute("DELETE FROM artifacts WHERE id = ? RETURNING sha256", (artifact_id,)).fetchone()
    if row is None:
        raise NotFound("artifact", artifact_id)
    return row[0]


# -- metrics


def record_metrics(conn: sqlite3.Connection, command: RecordMetrics) -> list[Metric]:
    metrics = command.metrics
    for session_id in {m.session_id for m in metrics if m.session_id is not None}:
        _require_session(conn, session_id)
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
    conn.executemany(
        f"INSERT INTO metrics ({rows.METRIC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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


def cache_set(conn: sqlite3.Connection, command: CacheSet) -> CacheEntry:
    key, write = command.key, command.write
    moment = clock.now()
    now = clock.format_time(moment)
    # From the same moment as created_at, so expires_at - created_at is exactly the ttl.
    expires_at = None if write.ttl is None else clock.format_time(moment + timedelta(seconds=write.ttl))
    entry = CacheEntry(key, write.value, write.ttl, now, now, expires_at)
    conn.execute(
        f"INSERT INTO cache ({rows.CACHE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, ttl = excluded.ttl,"
        " created_at = excluded.created_at, accessed_at = excluded.accessed_at, expires_at = excluded.expires_at",
        (key, dumps_text(write.value), write.ttl, now, now, expires_at),
    )
    return entry


def cache_delete(conn: sqlite3.Connection, command: CacheDelete) -> None:
    key = command.key
    row = conn.execute("DELETE FROM cache WHERE key = ? RETURNING expires_at", (key,)).fetchone()
    # An expired entry is already gone as far as clients can tell.
    if row is None or (row[0] is not None and row[0] <= clock.now_text()):
        raise NotFound("cache key", key)


def cache_cleanup_chunk(conn: sqlite3.Connection, command: CacheCleanupChunk) -> int:
    return conn.execute(
        "DELETE FROM cache WHERE key IN"
        " (SELECT key FROM cache WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)",
        (clock.now_text(), command.limit),
    ).rowcount


def prune_idempotency_chunk(conn: sqlite3.Connection, command: PruneIdempotencyChunk) -> int:
    return conn.execute(
        "DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE created_at < ? LIMIT ?)",
        (command.older_than, command.limit),
    ).rowcount


def touch_cache(conn: sqlite3.Connection, command: TouchCache) -> None:
    conn.executemany(
        "UPDATE cache SET accessed_at = ? WHERE key = ? AND accessed_at < ?",
        [(when, key, when) for key, when in command.touches.items()],
    )


def answer(conn: sqlite3.Connection, command: Answer) -> Any:
    return command.value
