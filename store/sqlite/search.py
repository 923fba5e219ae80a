"""Search on SQLite: an FTS5 table of each message's words, kept by the same transactions as the messages.

`message_search` holds, under each message's rowid, the words vault.search
gives it. The append that adds a message adds its words in the same
transaction, and a trigger removes them with the message, whatever deletes
it (the session's cascade, a history clear), so the index never finds a
message that is gone nor misses one that was answered.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import closing

from vault.store.core.pages import PageFill
from vault.store.core.search_hits import rendered_hit

from vault.jsonutil import loads_stored
from vault.models import Page
from vault.queries import SearchQuery
from vault.search import Term, indexed_words

log = logging.getLogger(__name__)

SCHEMA = (
    # The words only (vault.search folds and cuts them), so the tokenizer's own rules never differ from PostgreSQL's.
    "CREATE VIRTUAL TABLE message_search USING fts5(words, tokenize = 'unicode61 remove_diacritics 0')",
    """CREATE TRIGGER message_search_forget AFTER DELETE ON messages BEGIN
        DELETE FROM message_search WHERE rowid = old.rowid;
    END""",
)
BACKFILL_BATCH = 5000

# (rows done, rows in all)
Progress = Callable[[int, int], None]


def index_messages(conn: sqlite3.Connection, records: Iterable[dict]) -> None:
    """Add the words of messages just inserted (same transaction)."""
    entries = [(words, record["id"]) for record in records if (words := indexed_words(record))]
    if entries:
        conn.executemany(
            "INSERT INTO message_search (rowid, words) SELECT rowid, ? FROM messages WHERE id = ?", entries
        )


def backfill(conn: sqlite3.Connection, progress: Progress | None = None) -> None:
    """Index every message already stored, in rowid order (inside the migration's transaction)."""
    total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    done, last = 0, 0
    while True:
        found = conn.execute(
            "SELECT rowid, body FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, BACKFILL_BATCH)
        ).fetchall()
        if not found:
            break
        entries = [(rowid, words) for rowid, body in found if (words := indexed_words(loads_stored(body)))]
        conn.executemany("INSERT INTO message_search (rowid, words) VALUES (?, ?)", entries)
        done, last = done + len(found), found[-1][0]
        if progress is not None:
            progress(done, total)
    log.info("search index built over %d messages", done)


def fts_query(terms: tuple[Term, ...]) -> str:
    """An FTS5 query of quoted strings only: every term's words are letters and digits, so none is syntax."""
    return " AND ".join('"' + " ".join(term.words) + '"' + ("*" if term.prefix else "") for term in terms)


def search(conn: sqlite3.Connection, query: SearchQuery, where: str, params: list) -> Page:
    if not query.terms:
        return Page([])
    found = conn.execute(
        "SELECT m.body, -message_search.rank FROM message_search"
        " JOIN messages m ON m.rowid = message_search.rowid JOIN sessions s ON s.id = m.session_id"
        f" WHERE message_search MATCH ?{where} ORDER BY message_search.rank, m.rowid DESC LIMIT ? OFFSET ?",
        (fts_query(query.terms), *params, query.limit + 1, query.offset),
    )
    with closing(found):
        return PageFill(query.limit).read(
            found, lambda row: len(row[0]), lambda row: rendered_hit(row[0], row[1], query.terms)
        )
