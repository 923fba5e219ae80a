"""Store contract: what jobs call (rollups, pruning, idempotency key expiry, backup)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from vault.store.errors import IdempotencyMismatch
from vault.store.interface import IdempotencyClaim
from vault.store.sqlite import SQLiteStore

from tests import store_settings
from tests.store.conftest import at, ids_of, new_session, point, record
from vault import clock
from vault.inputs import NewSession
from vault.queries import MetricQuery, RollupQuery, SessionQuery

LONG_AGO = clock.format_time(datetime(2000, 1, 1, tzinfo=UTC))


async def rollups(store, bucket: str = "minute", **query) -> tuple[list[tuple], bool]:
    page = await store.list_rollups(RollupQuery(metric_name="latency_ms", bucket=bucket, **query))
    return [(r.bucket_start, r.count, r.sum, r.min, r.max, r.avg) for r in page.items], page.has_more


async def raw_values(store) -> list[float]:
    return [m.value for m in (await store.list_metrics(MetricQuery(limit=1000))).items]


# -- rollups


async def test_fold_counts_each_point_once(backend_store):
    await record(backend_store, point(1.0), point(2.0))

    assert await backend_store.fold_metric_rollups() == 2
    assert await backend_store.fold_metric_rollups() == 0

    await record(backend_store, point(3.0))
    assert await backend_store.fold_metric_rollups() == 1


async def test_unfolded_points_are_not_in_the_rollups(backend_store):
    await record(backend_store, point(1.0, timestamp=at(0)))

    assert await rollups(backend_store) == ([], False)


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        (
            "minute",
            [(at(0), 3, 6.0, 1.0, 3.0, 2.0), (at(1), 1, 10.0, 10.0, 10.0, 10.0), (at(61), 1, 4.0, 4.0, 4.0, 4.0)],
        ),
        ("hour", [(at(0), 4, 16.0, 1.0, 10.0, 4.0), (at(60), 1, 4.0, 4.0, 4.0, 4.0)]),
        ("day", [(at(0), 5, 20.0, 1.0, 10.0, 4.0)]),
    ],
)
async def test_rollups_total_each_bucket_oldest_first(backend_store, bucket, expected):
    # Out of time order, with two label sets: a bucket sums every series of the metric.
    await record(
        backend_store,
        point(4.0, timestamp=at(61)),
        point(10.0, timestamp=at(1)),
        point(1.0, timestamp=at(0), labels={"model": "small"}),
        point(2.0, timestamp=at(0), labels={"model": "large"}),
        point(3.0, timestamp=at(0)),
    )
    await backend_store.fold_metric_rollups()

    assert await rollups(backend_store, bucket) == (expected, False)


async def test_rollups_filter_by_entity_and_metric(backend_store):
    await record(
        backend_store,
        point(1.0, entity_name="planner", timestamp=at(0)),
        point(2.0, entity_name="coder", entity_type="tool", timestamp=at(0)),
        point(4.0, entity_name="planner", metric_name="tokens", timestamp=at(0)),
    )
    await backend_store.fold_metric_rollups()

    assert await rollups(backend_store) == ([(at(0), 2, 3.0, 1.0, 2.0, 1.5)], False)
    assert await rollups(backend_store, entity_name="planner") == ([(at(0), 1, 1.0, 1.0, 1.0, 1.0)], False)
    assert await rollups(backend_store, entity_type="tool") == ([(at(0), 1, 2.0, 2.0, 2.0, 2.0)], False)
    assert await rollups(backend_store, entity_name="nobody") == ([], False)


@pytest.mark.parametrize(
    ("query", "starts", "has_more"),
    [
        ({"start_time": at(2), "end_time": at(4)}, [2, 3, 4], False),
        # A start inside a bucket still includes that bucket.
        ({"start_time": clock.format_time(datetime(2020, 1, 1, 0, 2, 30, tzinfo=UTC))}, [2, 3, 4, 5], False),
        ({"end_time": at(1)}, [0, 1], False),
        ({"limit": 2}, [0, 1], True),
        ({"limit": 2, "offset": 4}, [4, 5], False),
    ],
)
async def test_rollups_time_range_and_paging(backend_store, query, starts, has_more):
    await record(backend_store, *(point(float(m), timestamp=at(m)) for m in range(6)))
    await backend_store.fold_metric_rollups()

    found, more = await rollups(backend_store, **query)

    assert ([row[0] for row in found], more) == ([at(m) for m in starts], has_more)


# -- pruning raw points


async def test_prune_removes_only_folded_points_older_than_the_cutoff(backend_store):
    await record(backend_store, point(0.0, timestamp=at(0)), point(1.0, timestamp=at(1)), point(2.0, timestamp=at(2)))
    assert await backend_store.prune_metrics(at(2)) == 0  # nothing folded yet
    await backend_store.fold_metric_rollups()
    await record(backend_store, point(-1.0, timestamp=at(0)))  # old, but not folded

    # Strictly older: the point exactly at the cutoff stays.
    assert await backend_store.prune_metrics(at(2)) == 2

    assert sorted(await raw_values(backend_store)) == [-1.0, 2.0]
    assert await backend_store.prune_metrics(at(2)) == 0


async def test_rollups_outlive_their_pruned_points(backend_store):
    await record(backend_store, point(1.0, timestamp=at(0)), point(3.0, timestamp=at(0)))
    await backend_store.fold_metric_rollups()

    await backend_store.prune_metrics(at(10))

    assert await raw_values(backend_store) == []
    assert await rollups(backend_store) == ([(at(0), 2, 4.0, 1.0, 3.0, 2.0)], False)


# -- idempotency keys


async def test_pruned_idempotency_key_is_free_again(backend_store):
    claim = IdempotencyClaim("key-1", "fingerprint-a")
    first = await backend_store.create_session(NewSession(agent_name="first"), claim)

    assert await backend_store.prune_idempotency_keys(LONG_AGO) == 0
    with pytest.raises(IdempotencyMismatch):
        await backend_store.create_session(NewSession(agent_name="other"), IdempotencyClaim("key-1", "fingerprint-b"))

    assert await backend_store.prune_idempotency_keys(clock.seconds_from_now(60)) == 1
    second = await backend_store.create_session(
        NewSession(agent_name="other"), IdempotencyClaim("key-1", "fingerprint-b")
    )
    assert second.id != first.id


# -- backup


async def test_backup_writes_a_checked_copy_described_by_its_info(backend_store, tmp_path):
    session = await new_session(backend_store)
    target = tmp_path / "backups" / "copy.db"
    reports: list[tuple[int, int]] = []

    info = await backend_store.backup(str(target), lambda done, total: reports.append((done, total)))

    assert info.file == str(target)
    assert info.size == os.path.getsize(target) > 0
    assert info.integrity_check == "ok"
    assert info.duration_seconds >= 0
    assert reports and reports[-1][0] == reports[-1][1]
    if backend_store.backend == "sqlite":
        # The copy is a database in its own right: it opens and holds the data.
        copy = SQLiteStore(str(target), store_settings.SQLITE)
        await copy.start()
        try:
            assert ids_of((await copy.list_sessions(SessionQuery())).items) == [session.id]
        finally:
            await copy.close()
