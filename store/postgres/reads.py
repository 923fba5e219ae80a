"""Read queries: async functions over a pooled connection, each one statement or one snapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
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
from vault.store.positions import parse_lsn
from vault.store.postgres import idempotency
from vault.store.postgres import search as search_index

from vault.jsonutil import off_loop
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


class Params:
    """Numbered placeholders ($1, $2, ...) for the values of a query being built."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"

    def where(self, filters: Filters) -> str:
        """` WHERE a = $1 AND ...` for the filters that were given."""
        given = [f"{condition} {self.add(value)}" for condition, value in filters if value is not None]
        return " WHERE " + " AND ".join(given) if given else ""


def _page(items: list[Any], limit: int) -> Page:
    return Page(items[:limit], has_more=len(items) > limit)


async def _page_rows(
    conn: asyncpg.Connection, columns: str, document: str, source: str, values: list[Any], limit: int, offset: int
) -> tuple[list[Any], PageFill]:
    """The rows of one page within its byte budget (vault.store.core.pages); call it in one snapshot.

    The sizes of the candidates' documents come first (octet_length reads a
    stored value's header, not the value), then only the rows that fit: the
    rest never leave the database. `source` is the FROM ... ORDER BY part.
    """
    fill = PageFill(limit)
    sizes = await conn.fetch(f"SELECT {_size_of(document)} FROM {source} LIMIT {limit + 1} OFFSET {offset}", *values)
    count = len(fill.read(sizes, lambda row: row[0], lambda row: row).items)
    found = await conn.fetch(f"SELECT {columns} FROM {source} LIMIT {count} OFFSET {offset}", *values)
    return found, fill


def _size_of(document: str) -> str:
    """The SQL for a document's UTF-8 size: recorded beside a packable column, else its text's."""
    if document in PACKABLE:
        return f"coalesce({document}_size, octet_length({document}))"
    return f"octet_length({document})"


PACKABLE = {"body", "data", "value"}


async def _decoded_page(
    conn: asyncpg.Connection,
    columns: str,
    document: str,
    source: str,
    values: list[Any],
    query: SessionQuery | ArtifactQuery | KeyedSessionQuery,
    build: Callable[[Any], Any],
) -> Page:
    """A page of rows carrying a stored document, decoded on a worker thread when large."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        found, fill = await _page_rows(conn, columns, document, source, values, query.limit, query.offset)
    fill.items = await off_loop(fill.size, lambda: [build(row) for row in found])
    return fill.page()


# -- search


async def search(conn: asyncpg.Connection, codec: Codec, query: SearchQuery) -> Page:
    params = Params()
    given = [f" AND {condition} {params.add(value)}" for condition, value in search_filters(query) if value is not None]
    return await search_index.search(conn, codec, query, "".join(given), params.values, params.add)


# -- sessions


async def _session_of(row: Any, kind: str, key: str) -> Session:
    if row is None:
        raise NotFound(kind, key)
    return await off_loop(len(row[4]), lambda: rows.session(row))


async def get_session(conn: asyncpg.Connection, session_id: str) -> Session:
    row = await conn.fetchrow(f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE id = $1", session_id)
    return await _session_of(row, "session", session_id)


async def list_sessions(conn: asyncpg.Connection, query: SessionQuery) -> Page:
    params = Params()
    where = params.where(session_filters(query))
    source = f"sessions{where} ORDER BY id DESC"
    return await _decoded_page(conn, rows.SESSION_COLUMNS, "metadata", source, params.values, query, rows.session)


async def get_keyed_session(conn: asyncpg.Connection, app_name: str, user_id: str, key: str) -> Session:
    row = await conn.fetchrow(
        f"SELECT {session_keys.COLUMNS} FROM {session_keys.SOURCE}"
        " WHERE k.app_name = $1 AND k.user_id = $2 AND k.session_key = $3",
        app_name,
        user_id,
        key,
    )
    return await _session_of(row, "session key", key)


async def list_keyed_sessions(conn: asyncpg.Connection, query: KeyedSessionQuery) -> Page:
    params = Params()
    where = params.where(keyed_session_filters(query))
    source = f"{session_keys.SOURCE}{where} {session_keys.ORDER}"
    return await _decoded_page(
        conn, session_keys.COLUMNS, session_keys.DOCUMENT, source, params.values, query, session_keys.keyed
    )


# -- history


async def get_message(conn: asyncpg.Connection, codec: Codec, message_id: str) -> Message:
    row = await conn.fetchrow(f"SELECT {rows.MESSAGE_BODY_COLUMNS} FROM messages WHERE id = $1", message_id)
    if row is None:
        raise NotFound("message", message_id)
    return await off_loop(rows.document_size(row[3], row[5]), lambda: rows.message(rows.message_body(row, codec)))


async def _seq_of(conn: asyncpg.Connection, session_id: str, ref: str, name: str) -> int:
    """A cursor is a seq number or the id of a message in this session."""
    # ASCII only: str.isdigit() also accepts digits like "²" that int() rejects.
    if ref.isascii() and ref.isdigit():
        seq = int(ref)
        if seq > MAX_SEQ:
            raise InvalidReference(["query", name], f"{ref!r} is larger than any seq number")
        return seq
    seq = await conn.fetchval("SELECT seq FROM messages WHERE id = $1 AND session_id = $2", ref, session_id)
    if seq is None:
        raise InvalidReference(["query", name], f"{ref!r} is neither a seq number nor a message of this session")
    return seq


async def list_messages(conn: asyncpg.Connection, codec: Codec, query: HistoryQuery) -> Page:
    page = await list_message_bodies(conn, codec, query)
    messages = await off_loop(page.size, lambda: [rows.message(item.body) for item in page.items])
    return Page(messages, has_more=page.has_more, size=page.size)


async def list_message_bodies(conn: asyncpg.Connection, codec: Codec, query: HistoryQuery) -> Page:
    """The window as the JSON it is served as (packed bodies unpacked, on a worker thread when large)."""
    # One snapshot for the session check, the cursor lookup and the window.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        page = await _message_window(conn, query)
    items = await off_loop(
        page.size, lambda: [RenderedMessage(row[0], row[2], rows.message_body(row, codec)) for row in page.items]
    )
    return Page(items, has_more=page.has_more, size=page.size)


async def _message_window(conn: asyncpg.Connection, query: HistoryQuery) -> Page:
    if await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1", query.session_id) is None:
        raise NotFound("session", query.session_id)
    params = Params()
    clauses = [f"session_id = {params.add(query.session_id)}"]
    if query.role is not None:
        clauses.append(f"role = {params.add(query.role)}")
    newest_first = True
    offset = 0
    if query.after is not None:
        clauses.append(f"seq > {params.add(await _seq_of(conn, query.session_id, query.after, 'after'))}")
        newest_first = False
    elif query.before is not None:
        clauses.append(f"seq < {params.add(await _seq_of(conn, query.session_id, query.before, 'before'))}")
    elif query.offset is not None:
        newest_first = False
        offset = query.offset
    order = "DESC" if newest_first else "ASC"
    source = f"messages WHERE {' AND '.join(clauses)} ORDER BY seq {order}"
    found, fill = await _page_rows(conn, rows.MESSAGE_BODY_COLUMNS, "body", source, params.values, query.limit, offset)
    fill.items = list(found)
    if newest_first:
        fill.items.reverse()
    return fill.page()


# -- state


async def get_state(conn: asyncpg.Connection, codec: Codec, session_id: str) -> State:
    row = await conn.fetchrow(
        "SELECT st.data, st.data_packed, st.data_size, st.version, st.updated_at FROM sessions s"
        " LEFT JOIN state st ON st.session_id = s.id WHERE s.id = $1",
        session_id,
    )
    if row is None:
        raise NotFound("session", session_id)
    return await off_loop(rows.document_size(row[0] or "", row[2]), lambda: rows.state(session_id, row, codec))


async def get_scoped_state(conn: asyncpg.Connection, codec: Codec, app_name: str, user_key: str) -> ScopedState:
    row = await conn.fetchrow(scoped_state.POSTGRES_ROW_QUERY, app_name, user_key)
    size = 0 if row is None else rows.document_size(row[0], row[2])
    state = await off_loop(size, lambda: rows.state(app_name, row, codec))
    return scoped_state.scoped(app_name, user_key, state)


# -- checkpoints


async def _checkpoint(conn: asyncpg.Connection, row: Any) -> Checkpoint:
    wanted = checkpoints.wanted_blobs(row[4])
    blobs = await conn.fetch(
        "SELECT b.channel, b.type, b.data FROM checkpoint_blobs b"
        " JOIN unnest($3::text[], $4::text[]) AS w (channel, version)"
        " ON b.channel = w.channel AND b.version = w.version"
        " WHERE b.thread_id = $1 AND b.checkpoint_ns = $2",
        row[0],
        row[1],
        [channel for channel, _ in wanted],
        [version for _, version in wanted],
    )
    writes = await conn.fetch(
        f"SELECT {checkpoints.WRITE_COLUMNS} FROM checkpoint_writes"
        " WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3",
        row[0],
        row[1],
        row[2],
    )
    return checkpoints.checkpoint_of(row, blobs, writes)


async def get_checkpoint(
    conn: asyncpg.Connection, thread_id: str, checkpoint_ns: str, checkpoint_id: str
) -> Checkpoint:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        row = await conn.fetchrow(
            f"SELECT {checkpoints.CHECKPOINT_COLUMNS} FROM checkpoints"
            " WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id = $3",
            thread_id,
            checkpoint_ns,
            checkpoint_id,
        )
        if row is None:
            raise NotFound("checkpoint", checkpoint_id)
        return await _checkpoint(conn, row)


async def list_checkpoints(conn: asyncpg.Connection, query: CheckpointQuery) -> Page:
    params = Params()
    where = params.where(checkpoint_filters(query))
    found: list[Any] = []
    sql = f"SELECT {checkpoints.CHECKPOINT_COLUMNS} FROM checkpoints{where} ORDER BY checkpoint_id DESC, checkpoint_ns"
    # One snapshot for the rows and what they name.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if query.metadata is None:
            found = await conn.fetch(f"{sql} LIMIT {params.add(query.limit + 1)}", *params.values)
        else:
            # A metadata filter is checked row by row, so the scan stops once the page is full.
            async for row in conn.cursor(sql, *params.values, prefetch=max(query.limit + 1, 50)):
                if checkpoints.metadata_matches(row[5], query.metadata):
                    found.append(row)
                    if len(found) > query.limit:
                        break
        return _page([await _checkpoint(conn, row) for row in found], query.limit)


# -- artifacts


async def get_artifact(conn: asyncpg.Connection, artifact_id: str) -> Artifact:
    row = await conn.fetchrow(f"SELECT {rows.ARTIFACT_COLUMNS} FROM artifacts WHERE id = $1", artifact_id)
    if row is None:
        raise NotFound("artifact", artifact_id)
    return await off_loop(len(row[8]), lambda: rows.artifact(row))


async def list_artifacts(conn: asyncpg.Connection, query: ArtifactQuery) -> Page:
    params = Params()
    where = params.where(artifact_filters(query))
    source = f"artifacts{where} ORDER BY id DESC"
    return await _decoded_page(conn, rows.ARTIFACT_COLUMNS, "metadata", source, params.values, query, rows.artifact)


# -- metrics


async def get_metric(conn: asyncpg.Connection, metric_id: str) -> Metric:
    row = await conn.fetchrow(f"SELECT {rows.METRIC_COLUMNS} FROM metrics WHERE id = $1", metric_id)
    if row is None:
        raise NotFound("metric", metric_id)
    return rows.metric(row)


async def list_metrics(conn: asyncpg.Connection, query: MetricQuery) -> Page:
    params = Params()
    where = params.where(metric_filters(query))
    found = await conn.fetch(
        f"SELECT {rows.METRIC_COLUMNS} FROM metrics{where} ORDER BY timestamp DESC, id DESC"
        f" LIMIT {params.add(query.limit + 1)} OFFSET {params.add(query.offset)}",
        *params.values,
    )
    return _page([rows.metric(row) for row in found], query.limit)


# -- cache


async def cache_get(conn: asyncpg.Connection, codec: Codec, key: str, now: str) -> CacheEntry:
    """The entry live at `now`, read at `now`."""
    row = await conn.fetchrow(
        f"SELECT {rows.CACHE_COLUMNS} FROM cache WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)",
        key,
        now,
    )
    if row is None:
        raise NotFound("cache key", key)
    return await off_loop(rows.document_size(row[1], row[3]), lambda: rows.cache_entry(row, codec, now))


async def ping(conn: asyncpg.Connection) -> None:
    await conn.fetchval("SELECT count(*) FROM schema_migrations")


async def wal_insert_position(conn: asyncpg.Connection) -> int:
    """Where the next WAL record will go: past every commit already made (see PostgresStore._note_commit)."""
    return parse_lsn(await conn.fetchval("SELECT pg_current_wal_insert_lsn()::text"))


async def wal_position(conn: asyncpg.Connection) -> int:
    """The primary's WAL position written out, which its standbys are measured against."""
    return parse_lsn(await conn.fetchval("SELECT pg_current_wal_lsn()::text"))


async def database_size(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT pg_database_size(current_database())")


# -- blobs


async def referenced_blobs(conn: asyncpg.Connection, sha256s: list[str]) -> set[str]:
    """The subset of `sha256s` that some artifact references."""
    found = await conn.fetch("SELECT DISTINCT sha256 FROM artifacts WHERE sha256 = ANY($1::text[])", sha256s)
    return {row["sha256"] for row in found}


# -- rollups


async def list_rollups(conn: asyncpg.Connection, query: RollupQuery) -> tuple[list[Rollup], bool]:
    params = Params()
    where = params.where(rollup_filters(query))
    found = await conn.fetch(
        "SELECT bucket_start, sum(count)::bigint, sum(sum), min(min), max(max) FROM metric_rollups"
        f"{where} GROUP BY bucket_start ORDER BY bucket_start"
        f" LIMIT {params.add(query.limit + 1)} OFFSET {params.add(query.offset)}",
        *params.values,
    )
    return rollup_window(found, query.limit)


# -- idempotency


async def lookup_claim(conn: asyncpg.Connection, claim: IdempotencyClaim) -> Replayed | None:
    return await idempotency.lookup(conn, claim)


# -- compression


async def dictionaries(conn: asyncpg.Connection, held: list[int]) -> list[tuple[int, str, bytes]]:
    """The dictionaries whose ids are not in `held` (a few, each read once per instance)."""
    found = await conn.fetch(
        "SELECT id, kind, content FROM compression_dictionaries WHERE NOT (id = ANY($1::bigint[])) ORDER BY id", held
    )
    return [(row[0], row[1], row[2]) for row in found]


async def newest_dictionary_time(conn: asyncpg.Connection, kind: str) -> str | None:
    return await conn.fetchval("SELECT max(created_at) FROM compression_dictionaries WHERE kind = $1", kind)


async def next_dictionary_id(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM compression_dictionaries")


# Documents of each kind small enough to be worth a dictionary (a heap has no "newest": any will do).
SAMPLE_SQL = {
    "messages": f"SELECT {rows.MESSAGE_BODY_COLUMNS} FROM messages"
    " WHERE coalesce(body_size, octet_length(body)) <= $1 LIMIT $2",
    "state": "SELECT data, data_packed, data_size FROM state"
    " WHERE coalesce(data_size, octet_length(data)) <= $1 LIMIT $2",
    "cache": "SELECT value, value_packed, value_size FROM cache"
    " WHERE coalesce(value_size, octet_length(value)) <= $1 LIMIT $2",
}


async def dictionary_samples(conn: asyncpg.Connection, codec: Codec, kind: str) -> list[str]:
    found = await conn.fetch(SAMPLE_SQL[kind], SAMPLE_MAX_BYTES, SAMPLE_LIMIT)
    return await off_loop(len(found) * 1024, lambda: samples_of(codec, kind, [tuple(row) for row in found]))


# Rows kept as plain text, in key order after a key; vault.store.core.repacking packs them.
PLAIN_SQL = {
    "messages": (
        "SELECT id, session_id, seq, body FROM messages WHERE body_packed IS NULL{after}"
        " ORDER BY session_id, seq LIMIT {limit}",
        " AND (session_id, seq) > ($1, $2)",
    ),
    "state": (
        "SELECT session_id, data, version FROM state WHERE data_packed IS NULL{after}"
        " ORDER BY session_id LIMIT {limit}",
        " AND session_id > $1",
    ),
    "cache": (
        "SELECT key, value FROM cache WHERE value_packed IS NULL{after} ORDER BY key LIMIT {limit}",
        " AND key > $1",
    ),
}


async def plain_rows(conn: asyncpg.Connection, kind: str, after: tuple | None, limit: int) -> list[tuple]:
    sql, condition = PLAIN_SQL[kind]
    found = await conn.fetch(sql.format(after="" if after is None else condition, limit=int(limit)), *(after or ()))
    return [tuple(row) for row in found]


def _use(table: str, column: str) -> str:
    raw = f"coalesce({column}_size, octet_length({column}))"
    stored = f"CASE WHEN {column}_packed IS NULL THEN {raw} ELSE octet_length({column}_packed) END"
    return f"SELECT count(*), sum({raw})::bigint, sum({stored})::bigint FROM {table}"


# Artifact bytes as sent: the content each record has (a record that only refers to a `path` has none).
# As kept: each distinct blob once (records share blobs by content), in the size it
# is kept in (NULL, from before packing: as sent).
ARTIFACTS_STORED = (
    "SELECT coalesce(sum(kept), 0)::bigint FROM (SELECT max(coalesce(stored_size, size, 0)) AS kept"
    " FROM artifacts WHERE sha256 IS NOT NULL GROUP BY sha256) AS blobs"
)
STORAGE_SQL = {
    "messages": _use("messages", "body"),
    "state": _use("state", "data"),
    "cache": _use("cache", "value"),
    "artifacts": f"SELECT count(*), coalesce(sum(size) FILTER (WHERE sha256 IS NOT NULL), 0)::bigint,"
    f" ({ARTIFACTS_STORED}) FROM artifacts",
}


async def storage_use(conn: asyncpg.Connection) -> dict[str, tuple[int, int, int]]:
    """Each kind's (count, raw bytes, stored bytes); rows from before compression count their text's bytes."""
    figures = {}
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for kind, sql in STORAGE_SQL.items():
            row = await conn.fetchrow(sql)
            figures[kind] = tuple(value or 0 for value in row)
    return figures
