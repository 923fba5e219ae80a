"""The job runner asks the store's job lock before each run and records a skip when it is refused."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from vault.jobs.scheduler import JobRunner, least_gap
from vault.store.errors import StoreUnavailable


def lock_answering(acquired: bool, asked: list):
    @asynccontextmanager
    async def lock(job_id: str, min_gap: float | None):
        asked.append((job_id, min_gap))
        yield acquired

    return lock


async def job() -> str:
    return "ran"


async def test_a_run_the_lock_refuses_is_skipped_and_recorded():
    asked: list = []
    runner = JobRunner(lock=lock_answering(False, asked))
    runner.add("sweep", job, IntervalTrigger(seconds=100), "a job")

    assert await runner.run("sweep") is None

    status = runner.status("sweep")
    assert (status.last_outcome, status.skipped, status.runs, status.failures) == ("skipped", 1, 0, 0)
    # The lock is told how far apart runs must be: 90% of the interval.
    assert asked == [("sweep", pytest.approx(90.0))]


async def test_a_run_the_lock_grants_runs():
    runner = JobRunner(lock=lock_answering(True, []))
    runner.add("sweep", job, IntervalTrigger(seconds=100), "a job")

    assert await runner.run("sweep") == "ran"
    assert (runner.status("sweep").last_outcome, runner.status("sweep").runs) == ("ok", 1)


async def test_a_lock_that_fails_is_recorded_as_a_failed_run():
    @asynccontextmanager
    async def broken(job_id: str, min_gap: float | None):
        raise StoreUnavailable("the database cannot be reached")
        yield True  # pragma: no cover

    runner = JobRunner(lock=broken)
    runner.add("sweep", job, IntervalTrigger(seconds=100), "a job")

    with pytest.raises(StoreUnavailable):
        await runner.run("sweep")
    status = runner.status("sweep")
    assert (status.last_outcome, status.failures) == ("error", 1)


async def test_sqlite_store_always_grants_the_lock(store):
    async with store.job_lock("anything", 60.0) as acquired:
        assert acquired is True


@pytest.mark.parametrize(
    ("trigger", "gap"),
    [
        (IntervalTrigger(seconds=60), 54.0),
        (CronTrigger.from_crontab("0 3 * * *", timezone="UTC"), 0.9 * 86_400),
        (CronTrigger.from_crontab("*/5 * * * 1-5", timezone="UTC"), 270.0),
    ],
)
def test_least_gap_is_ninety_percent_of_the_shortest_interval(trigger, gap):
    assert least_gap(trigger) == pytest.approx(gap)
