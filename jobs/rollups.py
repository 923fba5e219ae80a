"""The metric rollup job: fold new points, then prune old folded ones."""

from __future__ import annotations

from datetime import timedelta

from attrs import frozen
from vault.store.interface import Store

from vault import clock


@frozen
class RollupRun:
    folded: int
    pruned: int


async def roll_up_metrics(store: Store, retention_days: int) -> RollupRun:
    # Fold first: pruning only ever removes points that are already folded.
    folded = await store.fold_metric_rollups()
    cutoff = clock.format_time(clock.now() - timedelta(days=retention_days))
    pruned = await store.prune_metrics(cutoff)
    return RollupRun(folded, pruned)
