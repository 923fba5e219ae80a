"""Rollup arithmetic: which buckets a point falls in, and a chunk of points added up per bucket."""

from __future__ import annotations

from typing import Any

from vault.inputs import MAX_METRIC_MAGNITUDE
from vault.jsonutil import canonical_text, loads
from vault.models import Rollup

# Canonical timestamps are fixed-width text, so a bucket start is a prefix
# of the timestamp with the rest zeroed.
BUCKET_PREFIX = {"minute": 16, "hour": 13, "day": 10}
BUCKET_SUFFIX = {"minute": ":00.000000+00:00", "hour": ":00:00.000000+00:00", "day": "T00:00:00.000000+00:00"}


def bucket_start(timestamp: str, bucket: str) -> str:
    return timestamp[: BUCKET_PREFIX[bucket]] + BUCKET_SUFFIX[bucket]


def bucket_totals(points: list[Any]) -> dict[tuple[str, ...], list[Any]]:
    """Add points up per (bucket, series, bucket start): [count, sum, min, max].

    Each point is (id, entity_type, entity_name, metric_name, labels JSON, value,
    timestamp); both backends fold with this, so their rollups agree.
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


def rollup_window(found: list[Any], limit: int) -> tuple[list[Rollup], bool]:
    """Rows of (bucket_start, count, sum, min, max), one past the limit, as rollups and whether there are more."""
    rollups = [Rollup(start, count, total, low, high, total / count) for start, count, total, low, high in found]
    return rollups[:limit], len(rollups) > limit
