"""Metric rollups: raw points folded into minute, hour and day buckets.

A fold reads points past the watermark, adds them into their buckets and
moves the watermark, all in one write command: a crash before COMMIT undoes
the whole fold, so a rerun never counts a point twice.
"""

from __future__ import annotations

import sqlite3

from vault.store.core.commands import FoldRollupsChunk, PruneMetricsChunk
from vault.store.core.rollups import bucket_totals


def _watermark(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT last_rowid FROM rollup_watermark WHERE name = 'metrics'").fetchone()
    return 0 if row is None else row[0]


def fold_rollups_chunk(conn: sqlite3.Connection, command: FoldRollupsChunk) -> int:
    """Fold up to `limit` unfolded points; return how many."""
    points = conn.execute(
        "SELECT rowid, entity_type, entity_name, metric_name, labels, value, timestamp FROM metrics"
        " WHERE rowid > ? ORDER BY rowid LIMIT ?",
        (_watermark(conn), command.limit),
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


def prune_metrics_chunk(conn: sqlite3.Connection, command: PruneMetricsChunk) -> int:
    """Delete up to `limit` raw points older than `older_than` that are already folded."""
    return conn.execute(
        "DELETE FROM metrics WHERE rowid IN (SELECT rowid FROM metrics WHERE timestamp < ? AND rowid <= ? LIMIT ?)",
        (command.older_than, _watermark(conn), command.limit),
    ).rowcount
