"""What a batch's message rows cost SQLite, by how they are inserted.

    python bench/batch_rows.py [--batches 300] [--rounds 3]

One SQLite file with The Vault's own schema (vault.store.sqlite.migrations;
WAL, synchronous=FULL, foreign keys on), eight sessions, and batches of
1,000 messages appended in turn, as `bench/run.py`'s batch workload does.
Each batch's rows (packed bodies, as compression leaves them) go in one of
two ways:

- `executemany`: one INSERT stepped once a row;
- `multi-row`: INSERTs of ROWS_A_STATEMENT rows each (store.sqlite.writes).

Figures are the process CPU of the inserts alone, per message, medians over
the batches after the first hundred; the two ways alternate round by round.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from vault.store.sqlite import migrations
from vault.store.sqlite.writes import ROWS_A_STATEMENT

SESSIONS = 8
BATCH = 1000
INSERT = "INSERT INTO messages (session_id, seq, id, role, body, body_packed, body_size)"
# A packed body's size as a dictionary leaves the bench's messages (store.core.packing).
FRAME = b"\x28\xb5\x2f\xfd" + bytes(38)


def executemany(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany(f"{INSERT} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def multi_row(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    statement = f"{INSERT} VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?)'] * ROWS_A_STATEMENT)}"
    for start in range(0, len(rows), ROWS_A_STATEMENT):
        conn.execute(statement, [value for row in rows[start : start + ROWS_A_STATEMENT] for value in row])


WAYS = {"executemany": executemany, "multi-row": multi_row}


def measure(way: str, batches: int) -> float:
    """Median CPU microseconds a message for `batches` batches inserted `way`, in a new database."""
    with tempfile.TemporaryDirectory(prefix="vault-rows-") as folder:
        conn = sqlite3.connect(Path(folder) / "vault.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrations.migrate(conn)
        sessions = [f"session_{index:024d}" for index in range(SESSIONS)]
        conn.executemany(
            "INSERT INTO sessions (id, agent_name, status, metadata, created_at, updated_at)"
            " VALUES (?, 'bench', 'active', '{}', 'now', 'now')",
            [(session,) for session in sessions],
        )
        next_seq = dict.fromkeys(sessions, 1)
        costs = []
        for number in range(batches):
            session = sessions[number % SESSIONS]
            first = next_seq[session]
            rows = [
                (session, first + index, f"msg_{number * BATCH + index:024x}", "user", "", FRAME, 400)
                for index in range(BATCH)
            ]
            conn.execute("BEGIN IMMEDIATE")
            started = time.process_time()
            WAYS[way](conn, rows)
            costs.append(time.process_time() - started)
            conn.execute("COMMIT")
            next_seq[session] += BATCH
        conn.close()
    return statistics.median(costs[100:]) / BATCH * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU a batch's message rows cost SQLite, by insert statement.")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    found: dict[str, list[float]] = {way: [] for way in WAYS}
    for round_number in range(args.rounds):
        for way in WAYS if round_number % 2 == 0 else reversed(WAYS):
            found[way].append(measure(way, args.batches))
    print("| insert | CPU us a message (median of rounds) | rounds |")
    print("|---|---:|---|")
    for way, values in found.items():
        print(f"| {way} | {statistics.median(values):.2f} | {', '.join(f'{value:.2f}' for value in values)} |")


if __name__ == "__main__":
    main()
