"""Metric rollups: raw points folded into minute, hour and day buckets.

A fold reads points past the watermark, adds them into their buckets and
moves the watermark, all in one write command: a crash before COMMIT undoes
the whole fold, so a rerun never counts a point twice.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from vault.inputs import MAX_METRIC_MAGNITUDE
from vault.jsonutil import canonical_text, loads
from vault.models import Rollup
from vault.queries import RollupQuery

# Canonical timestamps are fixed-width text, so a bucket start is a prefix
# of the timestamp with the rest zeroed.
BUCKET_PREFIX = {"minute": 16, "hour": 13, "day": 10}
BUCKET_SUFFIX = {"minute": ":00.000000+00:00", "hour": ":00:00.000000+00:00", "day": "T00:00:00.000000+00:00"}


def bucket_start(timestamp: str, bucket: str) -> str:
    return timestamp[: BUCKET_PREFIX[bucket]] + BUCKET_SUFFIX[bucket]


def bucket_totals(points: list[Any]) -> dict[tuple[str, ...], list[Any]]:
    """Add points up per (bucket, series, bucket start): [count, sum, min, max].

    Each point is (id, entity_type, entity_name, metric_name, labels JSON, value,
    timestamp); both backends fold with this.
    """
    totals: dict[tuple[str, ...], list[Any]] = {}
    for _, entity_type, entity_name, metric_name, labels, value, timestamp in points:
        if not abs(value) <= MAX_METRIC_MAGNITUDE:
            # Taken before values were bounded: left out of the rollups rather than
            # turning a bucket's sum into infinity or NaN, which no row can store.
            continue
        series = (entity_name, metric_name, entity_type, canonical_text(loads(labels)))
        for bucket in BUCKET_PREFIX:
            key = (bucket, *series, bucket_start(timestamp, bucket))
            total = totals.get(key)
            if total is None:
                totals[key] = [1, value, value, value]
            else:
                total[0] += 1
                total[1] += value
                total[2] = min(total[2], value)
                total[3] = max(total[3], value)
    return totals


def _watermark(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT last_rowid FROM rollup_watermark WHERE name = 'metrics'").fetchone()
    return 0 if row is None else row[0]


def fold_chunk(conn: sqlite3.Connection, chunk: int) -> int:
    """Fold up to `chunk` unfolded points; return how many."""
    points = conn.execute(
        "SELECT rowid, entity_type, entity_name, metric_name, labels, value, timestamp FROM metrics"
        " WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (_watermark(conn), chunk),
    ).fetchall()
    if not points:
        return 0
    totals = bucket_totals(points)
    conn.executemany(
        "INSERT INTO metric_rollups (bucket, entity_name, metric_name, entity_type, labels, bucket_start,"
        " count, sum, min, max) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum,"
        " min = min(min, excluded.min), max = max(max, excluded.max)",
        [(*key, *total) for key, total in totals.items()],
    )
    conn.execute(
        "INSERT INTO rollup_watermark (name, last_rowid) VALUES ('metrics', ?)"
        " ON CONFLICT (name) DO UPDATE SET last_rowid = excluded.last_rowid",
        (points[-1][0],),
    )
    return len(points)


def prune_chunk(conn: sqlite3.Connection, older_than: str, chunk: int) -> int:
    """Delete up to `chunk` raw points older than `older_than` that are already folded."""
    return conn.execute(
        "DELETE FROM metrics WHERE rowid IN (SELECT rowid FROM metrics WHERE timestamp < ? AND rowid <= ? LIMIT ?)",
        (older_than, _watermark(conn), chunk),
    ).rowcount


def list_rollups(conn: sqlite3.Connection, query: RollupQuery) -> tuple[list[Rollup], bool]:
    clauses = ["bucket = ?", "metric_name = ?"]
    params: list[Any] = [query.bucket, query.metric_name]
    for clause, value in (
        ("entity_name = ?", query.entity_name),
        ("entity_type = ?", query.entity_type),
        ("bucket_start >= ?", query.start_time and bucket_start(query.start_time, query.bucket)),
        ("bucket_start <= ?", query.end_time),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    found = conn.execute(
        "SELECT bucket_start, sum(count), sum(sum), min(min), max(max) FROM metric_rollups"
        f" WHERE {' AND '.join(clauses)} GROUP BY bucket_start ORDER BY bucket_start LIMIT ? OFFSET ?",
        (*params, query.limit + 1, query.offset),
    ).fetchall()
    rollups = [Rollup(start, count, total, low, high, total / count) for start, count, total, low, high in found]
    return rollups[: query.limit], len(rollups) > query.limit
