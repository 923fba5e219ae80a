"""Which jobs run, how often: built from the configuration."""

from __future__ import annotations

from functools import partial

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from vault.jobs.artifacts import sweep_orphan_blobs
from vault.jobs.backups import scheduled_backup
from vault.jobs.compression import measure_storage, train_dictionaries
from vault.jobs.housekeeping import expire_events, expire_idempotency_keys, sweep_cache
from vault.jobs.rollups import roll_up_metrics
from vault.jobs.scheduler import JobRunner
from vault.store.interface import Store

from vault.config import Config

IDEMPOTENCY_SWEEP_SECONDS = 3600
# Events are kept for hours: a sweep every few minutes keeps them close to their age.
EVENTS_SWEEP_SECONDS = 300
ORPHAN_SWEEP_SECONDS = 900
# Cheap when nothing is due (a look at the dictionaries table; training itself is
# rare), so a kind gets its first dictionary within a minute of having enough
# documents: until then each small document is packed without one, at twice the
# CPU and a worse ratio.
DICTIONARY_SECONDS = 60
# A pass over the size columns of every row: a few minutes apart keeps /metrics current enough.
STORAGE_MEASURE_SECONDS = 300


def build_jobs(config: Config, store: Store) -> JobRunner:
    # The store's lock keeps instances sharing a database from running a job twice.
    runner = JobRunner(grace_seconds=config.job_grace_seconds, lock=store.job_lock)
    runner.add(
        "cache-expiry",
        partial(sweep_cache, store),
        IntervalTrigger(seconds=config.cache_sweep_seconds),
        "delete expired cache entries",
    )
    runner.add(
        "metric-rollups",
        partial(roll_up_metrics, store, config.metrics_retention_days),
        IntervalTrigger(seconds=config.rollup_seconds),
        "fold new metric points into rollups; prune folded points past retention",
    )
    runner.add(
        "idempotency-expiry",
        partial(expire_idempotency_keys, store, config.idempotency_key_hours),
        IntervalTrigger(seconds=IDEMPOTENCY_SWEEP_SECONDS),
        "forget idempotency keys past their age",
    )
    runner.add(
        "event-expiry",
        partial(expire_events, store, config.events_retention_hours),
        IntervalTrigger(seconds=EVENTS_SWEEP_SECONDS),
        "delete change feed events past their age",
    )
    runner.add(
        "artifact-orphans",
        partial(sweep_orphan_blobs, store),
        IntervalTrigger(seconds=ORPHAN_SWEEP_SECONDS),
        "remove artifact bytes that no record claims, once they are an hour old",
    )
    runner.add(
        "compression-dictionaries",
        partial(train_dictionaries, store),
        IntervalTrigger(seconds=DICTIONARY_SECONDS),
        "train a zstd dictionary for each kind of document that has enough samples and none recent",
    )
    runner.add(
        "storage-figures",
        partial(measure_storage, store),
        IntervalTrigger(seconds=STORAGE_MEASURE_SECONDS),
        "measure count, raw and stored bytes per kind of data for /metrics",
    )
    if config.backups_scheduled:
        trigger = (
            CronTrigger.from_crontab(config.backup_cron, timezone="UTC")
            if config.backup_cron
            else IntervalTrigger(seconds=config.backup_interval)
        )
        runner.add(
            "backup",
            partial(scheduled_backup, store, config.backup_dir, config.backup_keep),
            trigger,
            "write a checked copy of the database",
        )
    return runner
