"""The rollup job against a real database: totals match a recomputation from raw points."""

from __future__ import annotations

import random
import sqlite3
from collections import defaultdict
from datetime import timedelta

import pytest
from attrs import frozen
from vault.jobs.rollups import roll_up_metrics
from vault.store.core.commands import FoldRollupsChunk
from vault.store.core.rollups import bucket_start
from vault.store.sqlite import rollups
from vault.store.sqlite.operations import OPERATIONS
from vault.store.sqlite.store import SQLiteStore

from tests import store_settings
from vault import clock
from vault.inputs import NewMetric
from vault.queries import RollupQuery


def points(count: int, seed: int, start=None) -> list[NewMetric]:
    rng = random.Random(seed)
    start = start or clock.now() - timedelta(hours=3)
    return [
        NewMetric(
            entity_name=rng.choice(["planner", "coder"]),
            metric_name="latency_ms",
            value=round(rng.uniform(1, 500), 3),
            labels={"model": rng.choice(["small", "large"])},
            timestamp=clock.format_time(start + timedelta(seconds=rng.uniform(0, 3 * 3600))),
        )
        for _ in range(count)
    ]


def recompute(recorded: list[NewMetric], bucket: str) -> dict[str, tuple[int, float, float, float]]:
    """The expected rollups, summed over series, straight from raw points."""
    grouped: dict[str, list[float]] = defaultdict(list)
    for point in recorded:
        grouped[bucket_start(point.timestamp, bucket)].append(point.value)
    return {start: (len(v), sum(v), min(v), max(v)) for start, v in grouped.items()}


async def stored_rollups(store, bucket: str) -> dict[str, tuple[int, float, float, float]]:
    page = await store.list_rollups(RollupQuery(metric_name="latency_ms", bucket=bucket, limit=1000))
    return {r.bucket_start: (r.count, r.sum, r.min, r.max) for r in page.items}


def assert_matches(actual, expected) -> None:
    assert actual.keys() == expected.keys()
    for start, (count, total, low, high) in expected.items():
        got = actual[start]
        assert got[0] == count
        assert got[1] == pytest.approx(total)
        assert (got[2], got[3]) == (low, high)


@pytest.mark.parametrize("bucket", ["minute", "hour", "day"])
async def test_rollups_match_recomputation(store, bucket):
    recorded = points(600, seed=1)
    await store.record_metrics(recorded)
    assert (await roll_up_metrics(store, retention_days=30)).folded == 600
    assert_matches(await stored_rollups(store, bucket), recompute(recorded, bucket))


async def test_runs_are_incremental_and_idempotent(store):
    first, second = points(300, seed=2), points(200, seed=3)
    await store.record_metrics(first)
    assert (await roll_up_metrics(store, 30)).folded == 300
    await store.record_metrics(second)
    assert (await roll_up_metrics(store, 30)).folded == 200
    assert (await roll_up_metrics(store, 30)).folded == 0
    assert_matches(await stored_rollups(store, "hour"), recompute(first + second, "hour"))


@frozen
class FoldThenCrash(FoldRollupsChunk):
    pass


def fold_then_crash(conn: sqlite3.Connection, command: FoldThenCrash) -> None:
    rollups.fold_rollups_chunk(conn, command)
    raise RuntimeError("crash before commit")


async def test_crash_mid_fold_counts_nothing_twice(store, db_path, monkeypatch):
    recorded = points(400, seed=4)
    await store.record_metrics(recorded)
    # A test-only command in the backend's table: the fold, then a failure before COMMIT.
    monkeypatch.setitem(OPERATIONS, FoldThenCrash, fold_then_crash)

    with pytest.raises(Exception, match="write failed"):
        await store._write(FoldThenCrash(1000))
    # A clean stop and a new process's store, as after a restart.
    await store.close()
    reopened = SQLiteStore(db_path, store_settings.SQLITE)
    await reopened.start()
    try:
        assert (await roll_up_metrics(reopened, 30)).folded == 400
        assert_matches(await stored_rollups(reopened, "minute"), recompute(recorded, "minute"))
    finally:
        await reopened.close()


async def test_pruning_keeps_unfolded_points_and_rollups_stay(store):
    old_start = clock.now() - timedelta(days=40)
    old = points(50, seed=5, start=old_start)
    await store.record_metrics(old)
    cutoff = clock.format_time(clock.now() - timedelta(days=30))
    # Not folded yet: nothing may be pruned.
    assert await store.prune_metrics(cutoff) == 0
    run = await roll_up_metrics(store, retention_days=30)
    assert (run.folded, run.pruned) == (50, 50)
    assert_matches(await stored_rollups(store, "day"), recompute(old, "day"))
