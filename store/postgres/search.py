"""Search on PostgreSQL: a tsvector of each message's words, kept by the same transactions as the messages.

`message_search` holds, for each message id, `to_tsvector('simple', words)`
of the words vault.search gives it ('simple': no stemming, no stop words, so
it matches what SQLite's FTS5 matches). The append that adds a message adds
its row in the same transaction, and the foreign key's cascade removes it
with the message, whatever deletes it. Queries are built from the parsed
terms with plainto_tsquery and phraseto_tsquery, whose input is plain text,
and prefixes from words of letters and digits only: user input is never
tsquery syntax.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import asyncpg
from vault.store.core import rows
from vault.store.core.commands import PreparedMessage
from vault.store.core.packing import OFF, Codec
from vault.store.core.pages import PageFill
from vault.store.core.search_hits import rendered_hit

from vault.jsonutil import loads_stored, off_loop
from vault.models import Page
from vault.queries import SearchQuery
from vault.search import Term, indexed_words

log = logging.getLogger(__name__)

SCHEMA = (
    """CREATE TABLE message_search (
        message_id text COLLATE "C" PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
        words tsvector NOT NULL
    )""",
    "CREATE INDEX message_search_by_words ON message_search USING gin (words)",
)
BACKFILL_BATCH = 5000
INSERT = "INSERT INTO message_search (message_id, words) VALUES ($1, to_tsvector('simple', $2))"

# (rows done, rows in all)
Progress = Callable[[int, int], None]


async def index_messages(conn: asyncpg.Connection, messages: Iterable[PreparedMessage]) -> None:
    """Add the words of messages just inserted (same transaction); their words were taken off the writer."""
    entries = [(message.id, message.words) for message in messages if message.words]
    if entries:
        await conn.executemany(INSERT, entries)


async def backfill(conn: asyncpg.Connection, progress: Progress | None = None, codec: Codec = OFF) -> None:
    """Index every message already stored, in id order (inside the migration's transaction).

    The migration that adds search runs before any body is packed, so it reads
    them as they are; a copy's rebuild passes a codec with the dictionaries.
    """
    total = await conn.fetchval("SELECT count(*) FROM messages")
    done, last = 0, ""
    while True:
        found = await conn.fetch(
            f"SELECT {rows.MESSAGE_BODY_COLUMNS} FROM messages WHERE id > $1 ORDER BY id LIMIT $2", last, BACKFILL_BATCH
        )
        if not found:
            break
        texts = [(row["id"], loads_stored(rows.message_body(row, codec))) for row in found]
        entries = [(message_id, words) for message_id, message in texts if (words := indexed_words(message))]
        await conn.executemany(INSERT, entries)
        done, last = done + len(found), found[-1]["id"]
        if progress is not None:
            progress(done, total)
    if done:
        log.info("search index built over %d messages", done)


def tsquery(terms: tuple[Term, ...], add: Callable[[object], str]) -> str:
    """The query expression, every term's words passed as a parameter (`add` numbers them)."""
    parts = []
    for term in terms:
        words, last = term.words, term.words[-1]
        if not term.prefix:
            function = "phraseto_tsquery" if len(words) > 1 else "plainto_tsquery"
            parts.append(f"{function}('simple', {add(' '.join(words))})")
            continue
        # A word of letters and digits with ':*' after it is a prefix and nothing else.
        prefix = f"to_tsquery('simple', {add(last + ':*')})"
        if len(words) > 1:
            prefix = f"tsquery_phrase(phraseto_tsquery('simple', {add(' '.join(words[:-1]))}), {prefix})"
        parts.append(prefix)
    return " && ".join(parts)


async def search(
    conn: asyncpg.Connection, codec: Codec, query: SearchQuery, conditions: str, values: list, add
) -> Page:
    """Hits best first; `conditions` (` AND ...`) and `values` come from the filters, `add` numbers more values."""
    if not query.terms:
        return Page([])
    expression = tsquery(query.terms, add)
    ranked = (
        f"SELECT m.id, coalesce(m.body_size, octet_length(m.body)) AS size, ts_rank(ms.words, t.q) AS score"
        f" FROM message_search ms JOIN messages m ON m.id = ms.message_id JOIN sessions s ON s.id = m.session_id,"
        f" (SELECT {expression} AS q) AS t WHERE ms.words @@ t.q{conditions}"
        f" ORDER BY score DESC, m.id DESC LIMIT {query.limit + 1} OFFSET {query.offset}"
    )
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        candidates = await conn.fetch(ranked, *values)
        fill = PageFill(query.limit)
        chosen = fill.read(candidates, lambda row: row["size"], lambda row: row).items
        wanted = [row["id"] for row in chosen]
        found = await conn.fetch(f"SELECT {rows.MESSAGE_BODY_COLUMNS} FROM messages WHERE id = ANY($1::text[])", wanted)
    stored = {row["id"]: row for row in found}
    hits = [(stored[row["id"]], row["score"]) for row in chosen if row["id"] in stored]

    def render() -> list:
        return [rendered_hit(rows.message_body(row, codec), score, query.terms) for row, score in hits]

    fill.items = await off_loop(fill.size, render)
    return fill.page()
