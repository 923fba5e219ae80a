"""Metric rollups: raw points folded into minute, hour and day buckets.

A fold takes unfolded points (FOR UPDATE SKIP LOCKED, so two folders never
take the same point), adds them into their buckets and marks them folded, in
one transaction: a crash before COMMIT undoes all of it, so a rerun never
counts a point twice. Buckets and series are computed exactly as the SQLite
backend does, so rollups agree across backends and survive `vault copy`.
"""

from __future__ import annotations

import asyncpg
from vault.store.core.commands import FoldRollupsChunk, PruneMetricsChunk
from vault.store.core.rollups import bucket_totals


async def fold_rollups_chunk(conn: asyncpg.Connection, command: FoldRollupsChunk) -> int:
    """Fold up to `limit` unfolded points; return how many."""
    points = await conn.fetch(
        "SELECT id, entity_type, entity_name, metric_name, labels, value, timestamp FROM metrics"
        " WHERE NOT folded ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        command.limit,
    )
    if not points:
        return 0
    totals = bucket_totals(points)
    # Sorted, so concurrent folds lock bucket rows in one order and cannot deadlock.
    await conn.executemany(
        "INSERT INTO metric_rollups (bucket, entity_name, metric_name, entity_type, labels, bucket_start,"
        " count, sum, min, max) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (bucket, entity_name, metric_name, entity_type, labels, bucket_start) DO UPDATE SET"
        " count = metric_rollups.count + excluded.count, sum = metric_rollups.sum + excluded.sum,"
        " min = least(metric_rollups.min, excluded.min), max = greatest(metric_rollups.max, excluded.max)",
        [(*key, *total) for key, total in sorted(totals.items())],
    )
    await conn.execute("UPDATE metrics SET folded = true WHERE id = ANY($1::text[])", [p["id"] for p in points])
    return len(points)


async def prune_metrics_chunk(conn: asyncpg.Connection, command: PruneMetricsChunk) -> int:
    """Delete up to `limit` raw points older than `older_than` that are already folded."""
    status = await conn.execute(
        "DELETE FROM metrics WHERE id IN (SELECT id FROM metrics WHERE folded AND timestamp < $1"
        " LIMIT $2 FOR UPDATE SKIP LOCKED)",
        command.older_than,
        command.limit,
    )
    return int(status.split()[-1])
