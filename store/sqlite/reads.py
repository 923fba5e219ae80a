"""Read queries: plain functions over a read connection (WAL snapshot reads)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any, Generic, TypeVar

from attrs import frozen
from vault.store.core import checkpoints, rows, scoped_state, session_keys
from vault.store.core.dictionaries import SAMPLE_LIMIT, SAMPLE_MAX_BYTES
from vault.store.core.filters import (
    Filters,
    artifact_filters,
    checkpoint_filters,
    keyed_session_filters,
    metric_filters,
    rollup_filters,
    search_filters,
    session_filters,
)
from vault.store.core.idempotency import Replayed
from vault.store.core.packing import Codec
from vault.store.core.pages import PageFill
from vault.store.core.repacking import samples_of
from vault.store.core.rollups import rollup_window
from vault.store.core.rows import MAX_SEQ
from vault.store.errors import InvalidReference, NotFound
from vault.store.interface import IdempotencyClaim
from vault.store.sqlite import idempotency, windows
from vault.store.sqlite import search as search_index

from vault.models import (
    Artifact,
    CacheEntry,
    Checkpoint,
    Message,
    Metric,
    Page,
    RenderedMessage,
    Rollup,
    ScopedState,
    Session,
    State,
)
from vault.queries import (
    ArtifactQuery,
    CheckpointQuery,
    HistoryQuery,
    KeyedSessionQuery,
    MetricQuery,
    RollupQuery,
    SearchQuery,
    SessionQuery,
)

T = TypeVar("T")


@frozen
class Unpacking(Generic[T]):
    """A keyed document's row, found; `finish()` unpacks and parses it.

    Finding the row by its key takes microseconds and runs on the loop's own
    connection; unpacking a document of up to VAULT_MAX_DOCUMENT_BYTES may
    not, so the store decides where `finish` runs from `size`.
    """

    size: int
    finish: Callable[[], T]


def _where(filters: Filters) -> tuple[str, list[Any]]:
    """` WHERE a = ? AND ...` for the filters that were given, and their values."""
    given = [(condition, value) for condition, value in filters if value is not None]
    if not given:
        return "", []
    return " WHERE " + " AND ".join(f"{condition} ?" for condition, _ in given), [value for _, value in given]


def _page(items: list[Any], limit: int) -> Page:
    return Page(items[:limit], has_more=len(items) > limit)


# -- sessions


def _session_of(row: Any, kind: str, key: str) -> Session:
    if row is None:
        raise NotFound(kind, key)
    return rows.session(row)


def _session_page(
    conn: sqlite3.Connection, select: str, params: list[Any], query: SessionQuery | KeyedSessionQuery, build: Any
) -> Page:
    """A page of rows that start with a session's columns (its metadata the one document)."""
    found = conn.execute(f"{select} LIMIT ? OFFSET ?", (*params, query.limit + 1, query.offset))
    # Closed once the page is full: an open statement would hold its snapshot.
    with closing(found):
        return PageFill(query.limit).read(found, lambda row: len(row[4]), build)


def get_session(conn: sqlite3.Connection, session_id: str) -> Session:
    row = conn.execute(f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return _session_of(row, "session", session_id)


def list_sessions(conn: sqlite3.Connection, query: SessionQuery) -> Page:
    where, params = _where(session_filters(query))
    select = f"SELECT {rows.SESSION_COLUMNS} FROM sessions{where} ORDER BY id DESC"
    return _session_page(conn, select, params, query, rows.session)


def get_keyed_session(conn: sqlite3.Connection, app_name: str, user_id: str, key: str) -> Session:
    row = conn.execute(
        f"SELECT {session_keys.COLUMNS} FROM {session_keys.SOURCE}"
        " WHERE k.app_name = ? AND k.user_id = ? AND k.session_key = ?",
        (app_name, user_id, key),
    ).fetchone()
    return _session_of(row, "session key", key)


def list_keyed_sessions(conn: sqlite3.Connection, query: KeyedSessionQuery) -> Page:
    where, params = _where(keyed_session_filters(query))
    select = f"SELECT {session_keys.COLUMNS} FROM {session_keys.SOURCE}{where} {session_keys.ORDER}"
    return _session_page(conn, select, params, query, session_keys.keyed)


# -- history


def search(conn: sqlite3.Connection, codec: Codec, query: SearchQuery) -> Page:
    given = [(condition, value) for condition, value in search_filters(query) if value is not None]
    conditions = "".join(f" AND {condition} ?" for condition, _ in given)
    return search_index.search(conn, codec, query, conditions, [value for _, value in given])


def get_message(conn: sqlite3.Connection, codec: Codec, message_id: str) -> Unpacking[Message]:
    row = conn.execute(f"SELECT {rows.MESSAGE_BODY_COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise NotFound("message", message_id)
    return Unpacking(rows.document_size(row[3], row[5]), lambda: rows.message(rows.message_body(row, codec)))


def _seq_of(conn: sqlite3.Connection, session_id: str, ref: str, name: str) -> int:
    """A cursor is a seq number or the id of a message in this session."""
    # ASCII only: str.isdigit() also accepts digits like "²" that int() rejects.
    if ref.isascii() and ref.isdigit():
        seq = int(ref)
        if seq > MAX_SEQ:
            raise InvalidReference(["query", name], f"{ref!r} is larger than any seq number")
        return seq
    row = conn.execute("SELECT seq FROM messages WHERE id = ? AND session_id = ?", (ref, session_id)).fetchone()
    if row is None:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise NotFound("session", session_id)
        raise InvalidReference(["query", name], f"{ref!r} is neither a seq number nor a message of this session")
    return row[0]


def list_messages(conn: sqlite3.Connection, codec: Codec, query: HistoryQuery) -> Page:
    page = list_message_bodies(conn, codec, query)
    return Page([rows.message(item.body) for item in page.items], has_more=page.has_more, size=page.size)


def list_message_bodies(conn: sqlite3.Connection, codec: Codec, query: HistoryQuery) -> Page:
    """The window as the JSON it is served as."""
    page = message_window(conn, query)
    return Page(rendered(codec, page.items), has_more=page.has_more, size=page.size)


def rendered(codec: Codec, found: list[Any]) -> list[RenderedMessage]:
    """Window rows as the JSON they are served as (packed ones unpacked)."""
    return [RenderedMessage(row[0], row[2], rows.message_body(row, codec)) for row in found]


def newest_window(
    conn: sqlite3.Connection, query: HistoryQuery, kept: windows.WindowCache
) -> tuple[windows.Mark, Page, bool]:
    """The session's newest window and its mark (windows.py), read in one snapshot: the window kept
    under that mark (True), or else its rows as scanned, still to be rendered (False)."""
    conn.execute("BEGIN")
    try:
        mark = windows.session_mark(conn, query.session_id)
        page = kept.page(query.session_id, mark, query.limit)
        if page is not None:
            return mark, page, True
        return mark, message_window(conn, query), False
    finally:
        conn.execute("COMMIT")


def message_window(conn: sqlite3.Connection, query: HistoryQuery) -> Page:
    """The window's rows (MESSAGE_BODY_COLUMNS), oldest first; a packed body is still packed.

    No transaction around it: a message never changes, so a cursor's seq stays
    true, and a window that found messages proves its session exists (foreign
    key); only an empty one needs the session looked up.
    """
    clauses = ["session_id = ?"]
    params: list[Any] = [query.session_id]
    if query.role is not None:
        clauses.append("role = ?")
        params.append(query.role)
    newest_first = True
    offset = 0
    if query.after is not None:
        clauses.append("seq > ?")
        params.append(_seq_of(conn, query.session_id, query.after, "after"))
        newest_first = False
    elif query.before is not None:
        clauses.append("seq < ?")
        params.append(_seq_of(conn, query.session_id, query.before, "before"))
    elif query.offset is not None:
        newest_first = False
        offset = query.offset
    order = "DESC" if newest_first else "ASC"
    found = conn.execute(
        f"SELECT {rows.MESSAGE_BODY_COLUMNS} FROM messages WHERE {' AND '.join(clauses)}"
        f" ORDER BY seq {order} LIMIT ? OFFSET ?",
        (*params, query.limit + 1, offset),
    )
    with closing(found):
        page = PageFill(query.limit).read(found, lambda row: rows.document_size(row[3], row[5]), tuple)
    if not page.items and conn.execute("SELECT 1 FROM sessions WHERE id = ?", (query.session_id,)).fetchone() is None:
        raise NotFound("session", query.session_id)
    if newest_first:
        page.items.reverse()
    return page


# -- state


def get_state(conn: sqlite3.Connection, codec: Codec, session_id: str) -> Unpacking[State]:
    row = conn.execute(
        "SELECT st.data, st.data_packed, st.data_size, st.version, st.updated_at FROM sessions s"
        " LEFT JOIN state st ON st.session_id = s.id WHERE s.id = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        raise NotFound("session", session_id)
    return Unpacking(rows.document_size(row[0] or "", row[2]), lambda: rows.state(session_id, row, codec))


def get_scoped_state(conn: sqlite3.Connection, codec: Codec, app_name: str, user_key: str) -> ScopedState:
    row = conn.execute(scoped_state.SQLITE_ROW_QUERY, (app_name, user_key)).fetchone()
    return scoped_state.scoped(app_name, user_key, rows.state(app_name, row, codec))


# -- checkpoints


def _checkpoint(conn: sqlite3.Connection, row: Any) -> Checkpoint:
    wanted = checkpoints.wanted_blobs(row[4])
    blobs = []
    for channel, version in wanted:
        found = conn.execute(
            "SELECT channel, type, data FROM checkpoint_blobs"
            " WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? AND version = ?",
            (row[0], row[1], channel, version),
        ).fetchone()
        if found is not None:
            blobs.append(found)
    writes = conn.execute(
        f"SELECT {checkpoints.WRITE_COLUMNS} FROM checkpoint_writes"
        " WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
        (row[0], row[1], row[2]),
    ).fetchall()
    return checkpoints.checkpoint_of(row, blobs, writes)


def get_checkpoint(conn: sqlite3.Connection, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> Checkpoint:
    row = conn.execute(
        f"SELECT {checkpoints.CHECKPOINT_COLUMNS} FROM checkpoints"
        " WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
        (thread_id, checkpoint_ns, checkpoint_id),
    ).fetchone()
    if row is None:
        raise NotFound("checkpoint", checkpoint_id)
    return _checkpoint(conn, row)


def list_checkpoints(conn: sqlite3.Connection, query: CheckpointQuery) -> Page:
    where, params = _where(checkpoint_filters(query))
    found = []
    # A metadata filter is checked here, row by row, so the scan stops once the page is full.
    with closing(
        conn.execute(
            f"SELECT {checkpoints.CHECKPOINT_COLUMNS} FROM checkpoints{where}"
            " ORDER BY checkpoint_id DESC, checkpoint_ns",
            params,
        )
    ) as cursor:
        for row in cursor:
            if checkpoints.metadata_matches(row[5], query.metadata):
                found.append(row)
                if len(found) > query.limit:
                    break
    return _page([_checkpoint(conn, row) for row in found[: query.limit + 1]], query.limit)


# -- artifacts


def get_artifact(conn: sqlite3.Connection, artifact_id: str) -> Artifact:
    row = conn.execute(f"SELECT {rows.ARTIFACT_COLUMNS} FROM artifacts WHERE id = ?", (artifact_id,)).fetchone()
    if row is None:
        raise NotFound("artifact", artifact_id)
    return rows.artifact(row)


def list_artifacts(conn: sqlite3.Connection, query: ArtifactQuery) -> Page:
    where, params = _where(artifact_filters(query))
    found = conn.execute(
        f"SELECT {rows.ARTIFACT_COLUMNS} FROM artifacts{where} ORDER BY id DESC LIMIT ? OFFSET ?",
        (*params, query.limit + 1, query.offset),
    )
    with closing(found):
        return PageFill(query.limit).read(found, lambda row: len(row[8]), rows.artifact)


# -- metrics


def get_metric(conn: sqlite3.Connection, metric_id: str) -> Metric:
    row = conn.execute(f"SELECT {rows.METRIC_COLUMNS} FROM metrics WHERE id = ?", (metric_id,)).fetchone()
    if row is None:
        raise NotFound("metric", metric_id)
    return rows.metric(row)


def list_metrics(conn: sqlite3.Connection, query: MetricQuery) -> Page:
    where, params = _where(metric_filters(query))
    found = conn.execute(
        f"SELECT {rows.METRIC_COLUMNS} FROM metrics{where} ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?",
        (*params, query.limit + 1, query.offset),
    ).fetchall()
    return _page([rows.metric(row) for row in found], query.limit)


# -- cache


def cache_get(conn: sqlite3.Connection, codec: Codec, key: str, now: str) -> Unpacking[CacheEntry]:
    """The entry live at `now`, read at `now`."""
    row = conn.execute(
        f"SELECT {rows.CACHE_COLUMNS} FROM cache WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
        (key, now),
    ).fetchone()
    if row is None:
        raise NotFound("cache key", key)
    return Unpacking(rows.document_size(row[1], row[3]), lambda: rows.cache_entry(row, codec, now))


def ping(conn: sqlite3.Connection) -> None:
    conn.execute("SELECT count(*) FROM schema_migrations").fetchone()


# -- blobs

# Bound of `IN (...)` lists (SQLite allows 32766 parameters by default).
IN_CHUNK = 500


def blob_claimed(conn: sqlite3.Connection, sha256: str) -> bool:
    """Whether some artifact references the blob."""
    return conn.execute("SELECT 1 FROM artifacts WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None


def referenced_blobs(conn: sqlite3.Connection, sha256s: list[str]) -> set[str]:
    """The subset of `sha256s` that some artifact references."""
    found: set[str] = set()
    for start in range(0, len(sha256s), IN_CHUNK):
        chunk = sha256s[start : start + IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        found.update(
            row[0] for row in conn.execute(f"SELECT DISTINCT sha256 FROM artifacts WHERE sha256 IN ({marks})", chunk)
        )
    return found


# -- rollups


def list_rollups(conn: sqlite3.Connection, query: RollupQuery) -> tuple[list[Rollup], bool]:
    where, params = _where(rollup_filters(query))
    found = conn.execute(
        "SELECT bucket_start, sum(count), sum(sum), min(min), max(max) FROM metric_rollups"
        f"{where} GROUP BY bucket_start ORDER BY bucket_start LIMIT ? OFFSET ?",
        (*params, query.limit + 1, query.offset),
    ).fetchall()
    return rollup_window(found, query.limit)


# -- idempotency


def lookup_claim(conn: sqlite3.Connection, claim: IdempotencyClaim) -> Replayed | None:
    return idempotency.lookup(conn, claim)


# -- compression


def dictionaries(conn: sqlite3.Connection, held: list[int]) -> list[tuple[int, str, bytes]]:
    """The dictionaries whose ids are not in `held` (a few, each read once per process)."""
    known = set(held)
    ids = [row[0] for row in conn.execute("SELECT id FROM compression_dictionaries")]
    return [
        conn.execute("SELECT id, kind, content FROM compression_dictionaries WHERE id = ?", (dict_id,)).fetchone()
        for dict_id in ids
        if dict_id not in known
    ]


def newest_dictionary_time(conn: sqlite3.Connection, kind: str) -> str | None:
    return conn.execute("SELECT max(created_at) FROM compression_dictionaries WHERE kind = ?", (kind,)).fetchone()[0]


def next_dictionary_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) + 1 FROM compression_dictionaries").fetchone()[0]


# The most recent documents of each kind, small enough to be worth a dictionary (rowid: newest last).
SAMPLE_SQL = {
    "messages": f"SELECT {rows.MESSAGE_BODY_COLUMNS} FROM messages"
    " WHERE coalesce(body_size, length(body)) <= ? ORDER BY rowid DESC LIMIT ?",
    "state": "SELECT data, data_packed, data_size FROM state"
    " WHERE coalesce(data_size, length(data)) <= ? ORDER BY rowid DESC LIMIT ?",
    "cache": "SELECT value, value_packed, value_size FROM cache"
    " WHERE coalesce(value_size, length(value)) <= ? ORDER BY rowid DESC LIMIT ?",
}


def dictionary_samples(conn: sqlite3.Connection, codec: Codec, kind: str) -> list[str]:
    found = conn.execute(SAMPLE_SQL[kind], (SAMPLE_MAX_BYTES, SAMPLE_LIMIT)).fetchall()
    return samples_of(codec, kind, found)


# Rows kept as plain text, in key order after a key; vault.store.core.repacking packs them.
PLAIN_SQL = {
    "messages": (
        "SELECT id, session_id, seq, body FROM messages WHERE body_packed IS NULL{after}"
        " ORDER BY session_id, seq LIMIT ?",
        " AND (session_id, seq) > (?, ?)",
    ),
    "state": (
        "SELECT session_id, data, version FROM state WHERE data_packed IS NULL{after} ORDER BY session_id LIMIT ?",
        " AND session_id > ?",
    ),
    "cache": ("SELECT key, value FROM cache WHERE value_packed IS NULL{after} ORDER BY key LIMIT ?", " AND key > ?"),
}


def plain_rows(conn: sqlite3.Connection, kind: str, after: tuple | None, limit: int) -> list[tuple]:
    sql, condition = PLAIN_SQL[kind]
    return conn.execute(sql.format(after="" if after is None else condition), (*(after or ()), limit)).fetchall()


def storage_use(conn: sqlite3.Connection) -> dict[str, tuple[int, int, int]]:
    """Each kind's (count, raw bytes, stored bytes); rows from before compression count their text's bytes."""
    figures = {kind: tuple(value or 0 for value in conn.execute(sql).fetchone()) for kind, sql in STORAGE_SQL.items()}
    return figures


def _use(table: str, column: str) -> str:
    raw = f"coalesce({column}_size, length(CAST({column} AS BLOB)))"
    stored = f"CASE WHEN {column}_packed IS NULL THEN {raw} ELSE length({column}_packed) END"
    return f"SELECT count(*), sum({raw}), sum({stored}) FROM {table}"


# Artifact bytes as sent: the content each record has (a record that only refers to a `path` has none).
# As kept: each distinct blob once (records share blobs by content), in the size it
# is kept in (NULL, from before packing: as sent).
ARTIFACTS_STORED = (
    "SELECT sum(kept) FROM (SELECT max(coalesce(stored_size, size, 0)) AS kept"
    " FROM artifacts WHERE sha256 IS NOT NULL GROUP BY sha256)"
)
STORAGE_SQL = {
    "messages": _use("messages", "body"),
    "state": _use("state", "data"),
    "cache": _use("cache", "value"),
    "artifacts": f"SELECT count(*), sum(CASE WHEN sha256 IS NULL THEN 0 ELSE size END), ({ARTIFACTS_STORED})"
    " FROM artifacts",
}
