"""The job runner: scheduled runs in the app, recorded outcomes, a clean stop."""

from __future__ import annotations

import asyncio

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from vault.jobs.scheduler import JobRunner

from vault.app import create_app
from vault.appkeys import JOBS
from vault.config import Config


async def wait_until(condition, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_app_runs_its_jobs_on_schedule(aiohttp_client, db_path):
    config = Config(db_path=db_path, cache_sweep_seconds=1, rollup_seconds=1)
    client = await aiohttp_client(create_app(config))
    runner = client.app[JOBS]
    await wait_until(lambda: runner.status("cache-expiry").runs >= 1 and runner.status("metric-rollups").runs >= 1)
    response = await client.get("/storage/admin/jobs")
    assert response.status == 200
    jobs = {job["id"]: job for job in await response.json()}
    assert set(jobs) == {
        "cache-expiry",
        "metric-rollups",
        "idempotency-expiry",
        "event-expiry",
        "artifact-orphans",
        "compression-dictionaries",
        "storage-figures",
    }
    sweep = jobs["cache-expiry"]
    assert sweep["last_outcome"] == "ok"
    assert sweep["next_run"] is not None and sweep["last_duration_seconds"] is not None


async def test_backup_job_is_scheduled_only_when_configured(aiohttp_client, db_path):
    client = await aiohttp_client(create_app(Config(db_path=db_path, backup_cron="0 3 * * *")))
    assert "backup" in {status.id for status in client.app[JOBS].statuses()}


async def test_failures_are_recorded():
    runner = JobRunner()

    async def broken() -> None:
        raise ValueError("no good")

    runner.add("broken", broken, IntervalTrigger(hours=1), "always fails")
    runner.start()
    try:
        with pytest.raises(ValueError):
            await runner.run("broken")
        status = runner.status("broken")
        assert (status.last_outcome, status.last_error, status.failures) == ("error", "ValueError: no good", 1)
    finally:
        await runner.stop()


async def test_stop_waits_for_a_running_job():
    runner = JobRunner()
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "finished"

    runner.add("slow", slow, IntervalTrigger(hours=1), "waits to be released")
    runner.start()
    job = asyncio.ensure_future(runner.run("slow"))
    await started.wait()
    stopping = asyncio.ensure_future(runner.stop())
    await asyncio.sleep(0)
    assert not stopping.done()
    release.set()
    await stopping
    assert await job == "finished"
    assert runner.status("slow").last_outcome == "ok"
