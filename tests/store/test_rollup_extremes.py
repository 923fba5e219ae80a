"""Points stored before values were bounded cannot wedge the rollups or break a backup."""

from __future__ import annotations

from tests.store.conftest import at, point, record
from vault.queries import RollupQuery


async def test_extreme_points_are_left_out_and_the_rest_still_folds(backend_store, tmp_path):
    # Rule: one bad row cannot stop the fold (1.7e308 then -1.7e308 summed to inf, then NaN).
    store = backend_store
    await record(
        store,
        point(1.7e308, timestamp=at(0)),
        point(1.7e308, timestamp=at(0)),
        point(-1.7e308, timestamp=at(0)),
        point(2.0, timestamp=at(0)),
    )
    assert await store.fold_metric_rollups() == 4
    await record(store, point(3.0, timestamp=at(1)))
    assert await store.fold_metric_rollups() == 1

    rollups = (await store.list_rollups(RollupQuery(metric_name="latency_ms", bucket="hour"))).items
    assert [(r.count, r.sum, r.min, r.max) for r in rollups] == [(2, 5.0, 2.0, 3.0)]
    info = await store.backup(str(tmp_path / "after-extremes.db"))
    assert info.integrity_check == "ok"
