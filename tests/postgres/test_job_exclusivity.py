"""Scheduled jobs across instances: one runs a job, the others skip it, once per interval."""

from __future__ import annotations

import asyncio

import asyncpg
from apscheduler.triggers.interval import IntervalTrigger
from vault.jobs.scheduler import JobRunner


def runner_for(store, job_id: str, function) -> JobRunner:
    runner = JobRunner(lock=store.job_lock)
    runner.add(job_id, function, IntervalTrigger(hours=1), "a test job")
    return runner


async def rewind_last_start(database_url: str, job_id: str, hours: int) -> None:
    """Make the job's last run look `hours` older, as if the interval had passed."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE job_runs SET started_at = started_at - make_interval(hours => $2) WHERE job_id = $1",
            job_id,
            hours,
        )
    finally:
        await conn.close()


# Rule: a job never runs on two instances at once.
async def test_while_one_instance_runs_a_job_the_other_skips_it(two_stores):
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "done"

    async def quick() -> str:
        return "ran"

    first, second = runner_for(two_stores[0], "sweep", slow), runner_for(two_stores[1], "sweep", quick)
    running = asyncio.ensure_future(first.run("sweep"))
    await started.wait()

    assert await second.run("sweep") is None

    release.set()
    assert await running == "done"
    skipped = second.status("sweep")
    assert (skipped.last_outcome, skipped.skipped, skipped.runs) == ("skipped", 1, 0)
    assert (first.status("sweep").last_outcome, first.status("sweep").runs) == ("ok", 1)


# Rule: a scheduled job runs once per interval across all instances, not once per instance.
async def test_a_job_runs_once_per_interval_across_instances(two_stores, database_url):
    calls: list[str] = []

    def job(name: str):
        async def run() -> str:
            calls.append(name)
            return name

        return run

    first, second = (
        runner_for(two_stores[0], "rollups", job("first")),
        runner_for(two_stores[1], "rollups", job("second")),
    )

    assert await first.run("rollups") == "first"
    # Within the interval, neither instance runs it again.
    assert await second.run("rollups") is None
    assert await first.run("rollups") is None

    await rewind_last_start(database_url, "rollups", hours=1)
    assert await second.run("rollups") == "second"
    assert calls == ["first", "second"]


async def test_different_jobs_do_not_block_each_other(two_stores):
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "slow"

    async def other() -> str:
        return "other"

    first = runner_for(two_stores[0], "backup", slow)
    second = runner_for(two_stores[1], "cache-expiry", other)
    running = asyncio.ensure_future(first.run("backup"))
    await started.wait()

    assert await second.run("cache-expiry") == "other"

    release.set()
    assert await running == "slow"


# Rule: a job lock dies with its instance: a crashed run never keeps the job locked.
async def test_a_job_lock_dies_with_the_connection_that_held_it(two_stores, database_url):
    admin = await asyncpg.connect(database_url)
    try:
        async with two_stores[0].job_lock("sweep") as held:
            assert held is True
            async with two_stores[1].job_lock("sweep") as other:
                assert other is False
            # The instance holding the lock dies; the server ends its session.
            await admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE {ADVISORY_HERE}")
            await wait_until_no_advisory_locks(admin)

            async with two_stores[1].job_lock("sweep") as after:
                assert after is True
    finally:
        await admin.close()


# Advisory locks in this test's own database only: other databases of the server are none of its business.
ADVISORY_HERE = "locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"


async def wait_until_no_advisory_locks(conn: asyncpg.Connection) -> None:
    async with asyncio.timeout(10):
        while await conn.fetchval(f"SELECT count(*) FROM pg_locks WHERE {ADVISORY_HERE}"):
            await asyncio.sleep(0.02)
