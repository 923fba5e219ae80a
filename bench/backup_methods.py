"""Which way of copying a live SQLite database finishes under steady writes?

Fills a WAL database, keeps a second connection committing small writes in a
loop (as the service's writer would), and times three ways of copying it:
the online backup API page by page (100 pages a step), the same in a single
step, and VACUUM INTO. Prints a table: median seconds over the rounds, or
"gave up" when a method did not finish within the limit.

    python bench/backup_methods.py [--rows 200000] [--rounds 3] [--limit 30]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path


def fill(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO messages (body) VALUES (?)", (("x" * 300,) for _ in range(rows)))
    conn.commit()
    conn.close()


def keep_writing(path: Path, stop: threading.Event, counter: list[int]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    while not stop.is_set():
        conn.execute("INSERT INTO messages (body) VALUES (?)", ("y" * 300,))
        counter[0] += 1
        time.sleep(0.002)
    conn.close()


def backup_in_steps(source: Path, target: Path, deadline: float) -> bool:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)

    def give_up_after_deadline(status: int, remaining: int, total: int) -> None:
        if time.monotonic() > deadline:
            raise TimeoutError

    try:
        src.backup(dst, pages=100, progress=give_up_after_deadline)
        return True
    except TimeoutError:
        return False
    finally:
        src.close()
        dst.close()


def backup_one_step(source: Path, target: Path, deadline: float) -> bool:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst, pages=-1)
        return True
    finally:
        src.close()
        dst.close()


def vacuum_into(source: Path, target: Path, deadline: float) -> bool:
    conn = sqlite3.connect(source)
    try:
        conn.execute("VACUUM INTO ?", (str(target),))
        return True
    finally:
        conn.close()


METHODS = {
    "backup API, 100 pages a step": backup_in_steps,
    "backup API, one step": backup_one_step,
    "VACUUM INTO": vacuum_into,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=float, default=30.0, help="seconds before a method is given up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "live.db"
        fill(source, args.rows)
        print(f"database: {os.path.getsize(source) / 2**20:.0f} MiB, {args.rows} rows; writer commits every ~2 ms")
        print(f"{'method':32} {'median s':>9} {'finished':>9} {'writes during':>14}")
        for name, method in METHODS.items():
            times, finished, writes = [], 0, []
            for round_number in range(args.rounds):
                target = Path(folder) / f"copy-{round_number}.db"
                stop, counter = threading.Event(), [0]
                writer = threading.Thread(target=keep_writing, args=(source, stop, counter))
                writer.start()
                started = time.monotonic()
                ok = method(source, target, started + args.limit)
                elapsed = time.monotonic() - started
                stop.set()
                writer.join()
                target.unlink(missing_ok=True)
                finished += ok
                writes.append(counter[0])
                if ok:
                    times.append(elapsed)
            median = f"{statistics.median(times):.2f}" if times else "gave up"
            print(f"{name:32} {median:>9} {finished:>6}/{args.rounds} {statistics.median(writes):>14.0f}")


if __name__ == "__main__":
    main()
