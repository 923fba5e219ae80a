"""Read queries: async functions over a pooled connection, each one statement or one snapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from vault.store.core import rows
from vault.store.core.filters import Filters, artifact_filters, metric_filters, rollup_filters, session_filters
from vault.store.core.idempotency import Replayed
from vault.store.core.pages import PageFill
from vault.store.core.rollups import rollup_window
from vault.store.core.rows import MAX_SEQ
from vault.store.errors import InvalidReference, NotFound
from vault.store.interface import IdempotencyClaim
from vault.store.positions import parse_lsn
from vault.store.postgres import idempotency

from vault import clock
from vault.jsonutil import off_loop
from vault.models import Artifact, CacheEntry, Message, Metric, Page, RenderedMessage, Rollup, Session, State
from vault.queries import ArtifactQuery, HistoryQuery, MetricQuery, RollupQuery, SessionQuery


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
    sizes = await conn.fetch(
        f"SELECT octet_length({document}) FROM {source} LIMIT {limit + 1} OFFSET {offset}", *values
    )
    count = len(fill.read(sizes, lambda row: row[0], lambda row: row).items)
    found = await conn.fetch(f"SELECT {columns} FROM {source} LIMIT {count} OFFSET {offset}", *values)
    return found, fill


async def _decoded_page(
    conn: asyncpg.Connection,
    columns: str,
    document: str,
    source: str,
    values: list[Any],
    query: SessionQuery | ArtifactQuery,
    build: Callable[[Any], Any],
) -> Page:
    """A page of rows carrying a stored document, decoded on a worker thread when large."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        found, fill = await _page_rows(conn, columns, document, source, values, query.limit, query.offset)
    fill.items = await off_loop(fill.size, lambda: [build(row) for row in found])
    return fill.page()


# -- sessions


async def get_session(conn: asyncpg.Connection, session_id: str) -> Session:
    row = await conn.fetchrow(f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE id = $1", session_id)
    if row is None:
        raise NotFound("session", session_id)
    return await off_loop(len(row[4]), lambda: rows.session(row))


async def list_sessions(conn: asyncpg.Connection, query: SessionQuery) -> Page:
    params = Params()
    where = params.where(session_filters(query))
    source = f"sessions{where} ORDER BY id DESC"
    return await _decoded_page(conn, rows.SESSION_COLUMNS, "metadata", source, params.values, query, rows.session)


# -- history


async def get_message(conn: asyncpg.Connection, message_id: str) -> Message:
    body = await conn.fetchval("SELECT body FROM messages WHERE id = $1", message_id)
    if body is None:
        raise NotFound("message", message_id)
    return await off_loop(len(body), lambda: rows.message(body))


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


async def list_messages(conn: asyncpg.Connection, query: HistoryQuery) -> Page:
    page = await list_message_bodies(conn, query)
    messages = await off_loop(page.size, lambda: [rows.message(item.body) for item in page.items])
    return Page(messages, has_more=page.has_more, size=page.size)


async def list_message_bodies(conn: asyncpg.Connection, query: HistoryQuery) -> Page:
    """The window as stored JSON, ready to be sent as it is."""
    # One snapshot for the session check, the cursor lookup and the window.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _message_window(conn, query)


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
    found, fill = await _page_rows(conn, "seq, body", "body", source, params.values, query.limit, offset)
    fill.items = [RenderedMessage(seq, body) for seq, body in found]
    if newest_first:
        fill.items.reverse()
    return fill.page()


# -- state


async def get_state(conn: asyncpg.Connection, session_id: str) -> State:
    row = await conn.fetchrow(
        "SELECT st.data, st.version, st.updated_at FROM sessions s"
        " LEFT JOIN state st ON st.session_id = s.id WHERE s.id = $1",
        session_id,
    )
    if row is None:
        raise NotFound("session", session_id)
    return await off_loop(len(row[0] or ""), lambda: rows.state(session_id, row))


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


async def cache_get(conn: asyncpg.Connection, key: str) -> CacheEntry:
    row = await conn.fetchrow(
        f"SELECT {rows.CACHE_COLUMNS} FROM cache WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)",
        key,
        clock.now_text(),
    )
    if row is None:
        raise NotFound("cache key", key)
    return await off_loop(len(row[1]), lambda: rows.cache_entry(row))


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
