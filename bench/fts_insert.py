"""What filing search words costs SQLite, by the statement that files them.

    python bench/fts_insert.py [--messages 50000] [--per-commit 25] [--rounds 3]

One SQLite file (WAL, synchronous=OFF, so only CPU is measured), a messages
table with a unique id and an FTS5 table as The Vault's (vault.store.sqlite.
search). Each commit inserts `--per-commit` messages, as one writer batch of
single appends does, then files their words under their rowids, found by
message id, in one of three ways:

- `insert-select`: one `INSERT INTO fts ... SELECT rowid, ? FROM messages
  WHERE id = ?` per message (executemany);
- `lookup-then-values`: the rowids read by one `SELECT ... WHERE id IN (...)`,
  then `INSERT INTO fts ... VALUES (?, ?)` per message;
- `json-each`: one statement joining a JSON array of (words, id) to messages.

Figures are the process CPU of the filing statements alone, per message,
medians over rounds (the COMMIT, where FTS5 writes its segment, is the same
for all three and left out).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WORDS = "x" * 250  # one token, as bench/run.py's message text

Filer = Callable[[sqlite3.Connection, list[tuple[str, str]]], None]


def insert_select(conn: sqlite3.Connection, entries: list[tuple[str, str]]) -> None:
    conn.executemany("INSERT INTO search (rowid, words) SELECT rowid, ? FROM messages WHERE id = ?", entries)


def lookup_then_values(conn: sqlite3.Connection, entries: list[tuple[str, str]]) -> None:
    words = {message_id: text for text, message_id in entries}
    marks = ", ".join("?" * len(words))
    found = conn.execute(f"SELECT rowid, id FROM messages WHERE id IN ({marks})", list(words)).fetchall()
    conn.executemany("INSERT INTO search (rowid, words) VALUES (?, ?)", [(row, words[i]) for row, i in found])


def json_each(conn: sqlite3.Connection, entries: list[tuple[str, str]]) -> None:
    conn.execute(
        "INSERT INTO search (rowid, words) SELECT m.rowid, j.value ->> 0"
        " FROM json_each(?) j JOIN messages m ON m.id = j.value ->> 1",
        (json.dumps(entries),),
    )


FILERS: dict[str, Filer] = {
    "insert-select": insert_select,
    "lookup-then-values": lookup_then_values,
    "json-each": json_each,
}


def measure(filer: Filer, folder: Path, messages: int, per_commit: int) -> float:
    """CPU microseconds a message of `filer`'s statements, over `messages` appended on a fresh file."""
    path = folder / "fts.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("CREATE TABLE messages (id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)")
    conn.execute("CREATE VIRTUAL TABLE search USING fts5(words, tokenize = 'unicode61 remove_diacritics 0')")
    spent = 0.0
    for start in range(0, messages, per_commit):
        ids = [f"msg_{number:020d}" for number in range(start, start + per_commit)]
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO messages (id, body) VALUES (?, ?)", [(i, "x" * 300) for i in ids])
        began = time.process_time()
        filer(conn, [(WORDS, i) for i in ids])
        spent += time.process_time() - began
        conn.execute("COMMIT")
    conn.close()
    return spent / messages * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--per-commit", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vault-bench-fts-") as folder:
        figures: dict[str, list[float]] = {name: [] for name in FILERS}
        for _ in range(args.rounds):
            for name, filer in FILERS.items():
                figures[name].append(measure(filer, Path(folder), args.messages, args.per_commit))
    baseline = statistics.median(figures["insert-select"])
    print(f"\n{args.messages:,} messages, {args.per_commit} a commit, {args.rounds} rounds, medians\n")
    print("| statement | CPU us per message | against insert-select |")
    print("|---|---:|---:|")
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {median / baseline:.2f} |")


if __name__ == "__main__":
    main()
