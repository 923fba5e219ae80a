"""Write operations: the function that runs each command over the writer's sqlite3 connection.

Each runs on the writer thread inside its own savepoint (vault.store.sqlite.writer),
so a raised error undoes exactly what the command did.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from vault.store.core import commands, records, rows, scoped_state
from vault.store.core.packing import OFF, Codec, Packed
from vault.store.errors import AlreadyExists, BlobMissing, NotFound
from vault.store.sqlite import search

from vault import clock
from vault.merge_patch import apply_merge_patch
from vault.models import Artifact, CacheEntry, Metric, ScopedState, Session, State

# The state's row form once deleted.
EMPTY = OFF.pack("state", "{}")

# -- sessions


def create_session(conn: sqlite3.Connection, command: commands.CreateSession) -> Session:
    session = records.new_session(command.new)
    conn.execute(
        "INSERT INTO sessions (id, agent_name, user_id, status, metadata, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        records.session_row(session, command.max_bytes),
    )
    return session


def create_keyed_session(conn: sqlite3.Connection, command: commands.CreateKeyedSession) -> Session:
    session = create_session(conn, commands.CreateSession(command.new, command.max_bytes))
    # The writer's savepoint undoes the session's insert when the key is taken.
    bound = conn.execute(
        "INSERT INTO session_keys (app_name, user_id, session_key, session_id) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING session_id",
        (session.agent_name, session.user_id, command.key, session.id),
    ).fetchone()
    if bound is None:
        raise AlreadyExists("session key", command.key)
    return session


def update_session(conn: sqlite3.Connection, command: commands.UpdateSession) -> Session:
    row = conn.execute(f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE id = ?", (command.session_id,)).fetchone()
    if row is None:
        raise NotFound("session", command.session_id)
    session = records.changed_session(rows.session(row), command.changes)
    conn.execute(
        "UPDATE sessions SET status = ?, user_id = ?, metadata = ?, updated_at = ? WHERE id = ?",
        records.changed_session_row(session, command.max_bytes),
    )
    return session


def delete_session(conn: sqlite3.Connection, command: commands.DeleteSession) -> list[str]:
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


def add_messages(conn: sqlite3.Connection, command: commands.AddMessages) -> records.Appended:
    session_id, count, now = command.session_id, len(command.messages), command.now
    # Claim the seq numbers and count the messages in one statement; the
    # command's savepoint undoes it if an insert below fails.
    row = conn.execute(
        "UPDATE sessions SET last_seq = last_seq + ?1, message_count = message_count + ?1, updated_at = ?2"
        " WHERE id = ?3 RETURNING last_seq",
        (count, now, session_id),
    ).fetchone()
    if row is None:
        raise NotFound("session", session_id)
    first_seq = row[0] - count + 1
    _insert_rows(
        conn,
        "INSERT INTO messages (session_id, seq, id, role, body, body_packed, body_size)",
        records.message_rows(session_id, command.messages, first_seq, command.max_bytes),
    )
    search.index_messages(conn, command.messages)
    return records.Appended(session_id, command.messages, first_seq)


# Rows a statement inserts when many go in at once (7 values each: far below SQLite's bound on parameters).
ROWS_A_STATEMENT = 100


def _insert_rows(conn: sqlite3.Connection, insert: str, values: list[tuple[Any, ...]]) -> None:
    """`insert` ("INSERT INTO t (columns)") of every row, in order: whole statements of ROWS_A_STATEMENT rows.

    executemany() steps the statement once a row, and binding and stepping cost
    a message's insert about a third more than a row inside one multi-row
    VALUES. One INSERT numbers its rows consecutively, in the order given, as
    rows inserted one by one are (search.index_messages relies on that).
    """
    marks = "(" + ", ".join("?" * len(values[0])) + ")" if values else ""
    whole = len(values) - len(values) % ROWS_A_STATEMENT
    if whole:
        statement = f"{insert} VALUES {', '.join([marks] * ROWS_A_STATEMENT)}"
        for start in range(0, whole, ROWS_A_STATEMENT):
            conn.execute(statement, [value for row in values[start : start + ROWS_A_STATEMENT] for value in row])
    if whole < len(values):
        conn.executemany(f"{insert} VALUES {marks}", values[whole:])


def clear_history(conn: sqlite3.Connection, command: commands.ClearHistory) -> int:
    session_id = command.session_id
    if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise NotFound("session", session_id)
    deleted = conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,)).rowcount
    conn.execute("UPDATE sessions SET message_count = 0, updated_at = ? WHERE id = ?", (clock.now_text(), session_id))
    return deleted


# -- state


def _current_state(
    conn: sqlite3.Connection, session_id: str, if_match: int | None, codec: Codec, with_data: bool = False
) -> State:
    """The current state; its data is unpacked only when needed (a patch, or a stale If-Match's answer)."""
    row = conn.execute(
        "SELECT st.data, st.data_packed, st.data_size, st.version, st.updated_at FROM sessions s"
        " LEFT JOIN state st ON st.session_id = s.id WHERE s.id = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        raise NotFound("session", session_id)
    return rows.current_state(session_id, row, if_match, codec, with_data)


def _write_state(conn: sqlite3.Connection, current: State, data: dict[str, Any], packed: Packed) -> State:
    state = records.next_state(current, data)
    conn.execute(
        f"INSERT INTO state ({rows.STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, data_packed = excluded.data_packed,"
        " data_size = excluded.data_size, version = excluded.version, updated_at = excluded.updated_at",
        records.state_row(state, packed),
    )
    return state


def put_state(conn: sqlite3.Connection, command: commands.PutState) -> State:
    current = _current_state(conn, command.session_id, command.if_match, command.codec)
    return _write_state(conn, current, command.data, command.packed)


def patch_state(conn: sqlite3.Connection, command: commands.PatchState) -> State:
    # The merged document exists only here, so it is packed here: a patch costs the writer a compression.
    current = _current_state(conn, command.session_id, command.if_match, command.codec, with_data=True)
    data = apply_merge_patch(current.data, command.patch)
    return _write_state(
        conn, current, data, records.packed_document(command.codec, "state", data, "data", command.max_bytes)
    )


def delete_state(conn: sqlite3.Connection, command: commands.DeleteState) -> State:
    current = _current_state(conn, command.session_id, command.if_match, command.codec)
    if current.version == 0:
        return current
    return _write_state(conn, current, {}, EMPTY)


# -- state of an app, or of a user of an app


def _current_scoped_state(
    conn: sqlite3.Connection, app_name: str, user_key: str, if_match: int | None, codec: Codec, with_data: bool = False
) -> State:
    row = conn.execute(scoped_state.SQLITE_ROW_QUERY, (app_name, user_key)).fetchone()
    return scoped_state.current(app_name, user_key, row, if_match, codec, with_data)


def _write_scoped_state(
    conn: sqlite3.Connection, app_name: str, user_key: str, current: State, data: dict[str, Any], packed: Packed
) -> ScopedState:
    state = records.next_state(current, data)
    conn.execute(
        f"INSERT INTO scoped_state ({scoped_state.SCOPED_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (app_name, user_id) DO UPDATE SET data = excluded.data, data_packed = excluded.data_packed,"
        " data_size = excluded.data_size, version = excluded.version, updated_at = excluded.updated_at",
        scoped_state.row_of(app_name, user_key, state, packed),
    )
    return scoped_state.scoped(app_name, user_key, state)


def put_scoped_state(conn: sqlite3.Connection, command: commands.PutScopedState) -> ScopedState:
    app, user = command.app_name, command.user_key
    current = _current_scoped_state(conn, app, user, command.if_match, command.codec)
    return _write_scoped_state(conn, app, user, current, command.data, command.packed)


def patch_scoped_state(conn: sqlite3.Connection, command: commands.PatchScopedState) -> ScopedState:
    app, user = command.app_name, command.user_key
    current = _current_scoped_state(conn, app, user, command.if_match, command.codec, with_data=True)
    data = apply_merge_patch(current.data, command.patch)
    packed = records.packed_document(command.codec, "state", data, "data", command.max_bytes)
    return _write_scoped_state(conn, app, user, current, data, packed)


def delete_scoped_state(conn: sqlite3.Connection, command: commands.DeleteScopedState) -> ScopedState:
    app, user = command.app_name, command.user_key
    current = _current_scoped_state(conn, app, user, command.if_match, command.codec)
    if current.version == 0:
        return scoped_state.scoped(app, user, current)
    return _write_scoped_state(conn, app, user, current, {}, EMPTY)


# -- artifacts


def _require_session(conn: sqlite3.Connection, session_id: str | None) -> None:
    if session_id is not None and conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise NotFound("session", session_id)


def create_artifact(conn: sqlite3.Connection, command: commands.CreateArtifact) -> Artifact:
    """With content, the record claims that blob; BlobMissing if it is not present now.

    The check runs here, ordered with blob releases on the writer thread: once
    this commits, no release removes the blob (vault.store.sqlite.blob_refs).
    """
    _require_session(conn, command.new.session_id)
    content = command.content
    if content is not None and (command.present is None or not command.present(content.sha256)):
        raise BlobMissing(content.sha256)
    artifact = records.new_artifact(command.new, content)
    conn.execute(
        f"INSERT INTO artifacts ({rows.ARTIFACT_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*records.artifact_row(artifact), records.stored_size(content)),
    )
    return artifact


def delete_artifact(conn: sqlite3.Connection, command: commands.DeleteArtifact) -> commands.RemovedArtifact:
    artifact_id = command.artifact_id
    row = conn.execute("DELETE FROM artifacts WHERE id = ? RETURNING sha256, session_id", (artifact_id,)).fetchone()
    if row is None:
        raise NotFound("artifact", artifact_id)
    return commands.RemovedArtifact(row[0], row[1])


# -- metrics


def record_metrics(conn: sqlite3.Connection, command: commands.RecordMetrics) -> list[Metric]:
    for session_id in {m.session_id for m in command.metrics if m.session_id is not None}:
        _require_session(conn, session_id)
    recorded = records.new_metrics(command.metrics)
    conn.executemany(
        f"INSERT INTO metrics ({rows.METRIC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", records.metric_rows(recorded)
    )
    return recorded


# -- cache


def cache_set(conn: sqlite3.Connection, command: commands.CacheSet) -> CacheEntry:
    entry = records.new_cache_entry(command.key, command.write)
    conn.execute(
        f"INSERT INTO cache ({rows.CACHE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, value_packed = excluded.value_packed,"
        " value_size = excluded.value_size, ttl = excluded.ttl, created_at = excluded.created_at,"
        " accessed_at = excluded.accessed_at, expires_at = excluded.expires_at",
        records.cache_row(entry, command.packed),
    )
    return entry


def cache_delete(conn: sqlite3.Connection, command: commands.CacheDelete) -> None:
    row = conn.execute("DELETE FROM cache WHERE key = ? RETURNING expires_at", (command.key,)).fetchone()
    # An expired entry is already gone as far as clients can tell.
    if row is None or records.has_expired(row[0]):
        raise NotFound("cache key", command.key)


def cache_cleanup_chunk(conn: sqlite3.Connection, command: commands.CacheCleanupChunk) -> int:
    return conn.execute(
        "DELETE FROM cache WHERE key IN"
        " (SELECT key FROM cache WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)",
        (clock.now_text(), command.limit),
    ).rowcount


def prune_idempotency_chunk(conn: sqlite3.Connection, command: commands.PruneIdempotencyChunk) -> int:
    return conn.execute(
        "DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE created_at < ? LIMIT ?)",
        (command.older_than, command.limit),
    ).rowcount


def touch_cache(conn: sqlite3.Connection, command: commands.TouchCache) -> None:
    conn.executemany(
        "UPDATE cache SET accessed_at = ? WHERE key = ? AND accessed_at < ?",
        [(when, key, when) for key, when in command.touches.items()],
    )


def answer(conn: sqlite3.Connection, command: commands.Answer) -> Any:
    return command.value


# -- compression


def add_dictionary(conn: sqlite3.Connection, command: commands.AddDictionary) -> None:
    conn.execute(
        "INSERT INTO compression_dictionaries (id, kind, content, samples, created_at) VALUES (?, ?, ?, ?, ?)",
        (command.dict_id, command.kind, command.content, command.samples, clock.now_text()),
    )


# Each kind's rewrite: (text, frame, size, key...) as vault.store.core.repacking builds them;
# a row is only rewritten if it is still the plain row that was read.
REPACK_SQL = {
    "messages": "UPDATE messages SET body = ?, body_packed = ?, body_size = ?"
    " WHERE session_id = ? AND seq = ? AND body_packed IS NULL",
    "state": "UPDATE state SET data = ?, data_packed = ?, data_size = ?"
    " WHERE session_id = ? AND version = ? AND data_packed IS NULL",
    "cache": "UPDATE cache SET value = ?, value_packed = ?, value_size = ?"
    " WHERE key = ? AND value = ? AND value_packed IS NULL",
}


def repack(conn: sqlite3.Connection, command: commands.Repack) -> int:
    sql = REPACK_SQL[command.kind]
    return sum(conn.execute(sql, row).rowcount for row in command.rows if row[1] is not None)
