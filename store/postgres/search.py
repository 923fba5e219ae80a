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


async def index_messages(conn: asyncpg.Connection, records: Iterable[dict]) -> None:
    """Add the words of messages just inserted (same transaction)."""
    entries = [(record["id"], words) for record in records if (words := indexed_words(record))]
    if entries:
        await conn.executemany(INSERT, entries)


async def backfill(conn: asyncpg.Connection, progress: Progress | None = None) -> None:
    """Index every message already stored, in id order (inside the migration's transaction)."""
    total = await conn.fetchval("SELECT count(*) FROM messages")
    done, last = 0, ""
    while True:
        found = await conn.fetch(
            "SELECT id, body FROM messages WHERE id > $1 ORDER BY id LIMIT $2", last, BACKFILL_BATCH
        )
        if not found:
            break
        entries = [(row["id"], words) for row in found if (words := indexed_words(loads_stored(row["body"])))]
        await conn.executemany(INSERT, entries)
        done, last = done + len(found), found[-1]["id"]
        if progress is not None:
            progress(done, total)
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


async def search(conn: asyncpg.Connection, query: SearchQuery, conditions: str, values: list, add) -> Page:
    """Hits best first; `conditions` (` AND ...`) and `values` come from the filters, `add` numbers more values."""
    if not query.terms:
        return Page([])
    expression = tsquery(query.terms, add)
    ranked = (
        f"SELECT m.id, octet_length(m.body) AS size, ts_rank(ms.words, t.q) AS score"
        f" FROM message_search ms JOIN messages m ON m.id = ms.message_id JOIN sessions s ON s.id = m.session_id,"
        f" (SELECT {expression} AS q) AS t WHERE ms.words @@ t.q{conditions}"
        f" ORDER BY score DESC, m.id DESC LIMIT {query.limit + 1} OFFSET {query.offset}"
    )
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        candidates = await conn.fetch(ranked, *values)
        fill = PageFill(query.limit)
        chosen = fill.read(candidates, lambda row: row["size"], lambda row: row).items
        bodies = dict(
            await conn.fetch("SELECT id, body FROM messages WHERE id = ANY($1::text[])", [row["id"] for row in chosen])
        )
    hits = [(bodies[row["id"]], row["score"]) for row in chosen if row["id"] in bodies]
    fill.items = await off_loop(fill.size, lambda: [rendered_hit(body, score, query.terms) for body, score in hits])
    return fill.page()
