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
from collections.abc import Callable, Sequence
from contextlib import closing

from vault.store.core import rows
from vault.store.core.commands import PreparedMessage
from vault.store.core.packing import OFF, Codec
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
# Ids per lookup of rowids, well below SQLite's bound on a statement's parameters.
LOOKUP_CHUNK = 500

# (rows done, rows in all)
Progress = Callable[[int, int], None]


def index_messages(conn: sqlite3.Connection, messages: Sequence[PreparedMessage]) -> None:
    """Add the words of the messages the last statement inserted, in order (same transaction).

    Their words were taken off the writer. One message's rowid is the
    connection's last insert. One INSERT of many rows numbers
    them with consecutive rowids after the largest (SQLite's rule while that is
    below 2^63 - 1), so each message's rowid follows from the last one given;
    both ends are checked, and otherwise each rowid is looked up by id.
    """
    if not messages:
        return
    if len(messages) == 1:
        if not messages[0].words:
            return
        deferred = getattr(conn, "deferred_words", None)
        if deferred is not None:
            # The writer's connection files them once its commands are done (file_deferred_words).
            deferred.append((messages[0].words, messages[0].id))
            return
        # One row: its rowid is the connection's last insert, read by the statement itself.
        conn.execute("INSERT INTO message_search (rowid, words) VALUES (last_insert_rowid(), ?)", (messages[0].words,))
        return
    last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    first = last - len(messages) + 1
    if _id_at(conn, first) == messages[0].id and (first == last or _id_at(conn, last) == messages[-1].id):
        entries = [(first + index, message.words) for index, message in enumerate(messages) if message.words]
        conn.executemany("INSERT INTO message_search (rowid, words) VALUES (?, ?)", entries)
        return
    _file_by_id(conn, [(message.words, message.id) for message in messages if message.words])


def file_deferred_words(conn: sqlite3.Connection) -> None:
    """File the words single appends left on the writer's connection (WriterConnection), in the same transaction.

    After the last command's RELEASE, so FTS5 writes them as one segment. Each
    message is found by its id: one whose command was rolled back, or that a
    later command of the batch deleted, is not there and gets no row.
    """
    deferred = getattr(conn, "deferred_words", None)
    if not deferred:
        return
    try:
        _file_by_id(conn, deferred)
    finally:
        deferred.clear()


def _file_by_id(conn: sqlite3.Connection, entries: Sequence[tuple[str, str]]) -> None:
    """Add (words, message id) entries under their messages' rowids; a message that is not there gets no row.

    The rowids are read first and the rows inserted by value: an INSERT into
    FTS5 from a SELECT costs about four times as much a row (SQLite copies
    each statement's rows to a temporary table before a virtual table takes
    them), and that was most of what the index cost a single append.
    """
    words_by_id = {message_id: words for words, message_id in entries}
    ids = list(words_by_id)
    rowids: list[tuple[int, str]] = []
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        marks = ", ".join("?" * len(chunk))
        rowids += conn.execute(f"SELECT rowid, id FROM messages WHERE id IN ({marks})", chunk).fetchall()
    rowids.sort()
    conn.executemany(
        "INSERT INTO message_search (rowid, words) VALUES (?, ?)",
        [(rowid, words_by_id[message_id]) for rowid, message_id in rowids],
    )


def drop_deferred_words(conn: sqlite3.Connection) -> None:
    """Forget the words single appends left on the writer's connection (its transaction was rolled back)."""
    deferred = getattr(conn, "deferred_words", None)
    if deferred is not None:
        deferred.clear()


def _id_at(conn: sqlite3.Connection, rowid: int) -> str | None:
    found = conn.execute("SELECT id FROM messages WHERE rowid = ?", (rowid,)).fetchone()
    return None if found is None else found[0]


def backfill(conn: sqlite3.Connection, progress: Progress | None = None, codec: Codec = OFF) -> None:
    """Index every message already stored, in rowid order (inside the migration's transaction).

    The migration that adds search runs before any body is packed, so it reads
    them as they are; a copy's rebuild passes a codec with the dictionaries.
    """
    total = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    done, last = 0, 0
    while True:
        found = conn.execute(
            f"SELECT rowid, {rows.MESSAGE_BODY_COLUMNS} FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (last, BACKFILL_BATCH),
        ).fetchall()
        if not found:
            break
        texts = [(row[0], loads_stored(rows.message_body(row[1:], codec))) for row in found]
        entries = [(rowid, words) for rowid, message in texts if (words := indexed_words(message))]
        conn.executemany("INSERT INTO message_search (rowid, words) VALUES (?, ?)", entries)
        done, last = done + len(found), found[-1][0]
        if progress is not None:
            progress(done, total)
    if done:
        log.info("search index built over %d messages", done)


def fts_query(terms: tuple[Term, ...]) -> str:
    """An FTS5 query of quoted strings only: every term's words are letters and digits, so none is syntax."""
    return " AND ".join('"' + " ".join(term.words) + '"' + ("*" if term.prefix else "") for term in terms)


def search(conn: sqlite3.Connection, codec: Codec, query: SearchQuery, where: str, params: list) -> Page:
    if not query.terms:
        return Page([])
    columns = ", ".join(f"m.{column.strip()}" for column in rows.MESSAGE_BODY_COLUMNS.split(","))
    found = conn.execute(
        f"SELECT {columns}, -message_search.rank FROM message_search"
        " JOIN messages m ON m.rowid = message_search.rowid JOIN sessions s ON s.id = m.session_id"
        f" WHERE message_search MATCH ?{where} ORDER BY message_search.rank, m.rowid DESC LIMIT ? OFFSET ?",
        (fts_query(query.terms), *params, query.limit + 1, query.offset),
    )
    with closing(found):
        return PageFill(query.limit).read(
            found,
            lambda row: rows.document_size(row[3], row[5]),
            lambda row: rendered_hit(rows.message_body(row, codec), row[6], query.terms),
        )
