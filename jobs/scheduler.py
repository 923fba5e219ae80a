"""The job runner: APScheduler 3 inside the running loop, with per-job status.

Every job has an explicit id, replace_existing, max_instances=1 and coalesce;
the grace time lives in job_defaults (settings passed to the scheduler itself
are silently ignored). APScheduler's asyncio executor cancels running jobs on
shutdown, so stop() first pauses the scheduler and waits for them itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from attrs import define

from vault import clock

log = logging.getLogger(__name__)

JobFunction = Callable[[], Awaitable[Any]]
# vault.store.interface.Store.job_lock: (job id, least seconds between runs) -> acquired?
JobLock = Callable[[str, float | None], AbstractAsyncContextManager[bool]]

# Scheduler ticks jitter, and instances' schedules are not aligned: a run due
# a moment before the full interval has passed must not be skipped for a
# whole interval, so instances keep runs at least 90% of an interval apart.
GAP_SHARE = 0.9
GAP_SAMPLES = 8


def least_gap(trigger: BaseTrigger) -> float | None:
    """90% of the shortest time between the trigger's next runs; None for a trigger that fires once."""
    fires: list[datetime] = []
    now = datetime.now(UTC)
    for _ in range(GAP_SAMPLES):
        fire = trigger.get_next_fire_time(fires[-1] if fires else None, fires[-1] if fires else now)
        if fire is None:
            break
        fires.append(fire)
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(fires)]
    return GAP_SHARE * min(gaps) if gaps else None


@asynccontextmanager
async def _always(job_id: str, min_gap: float | None) -> AsyncIterator[bool]:
    yield True


class JobSkipped(Exception):
    """Raised by a job function that will not run this time (say why); recorded as skipped, not failed."""


@define
class JobStatus:
    id: str
    description: str
    next_run: str | None = None
    last_started: str | None = None
    last_finished: str | None = None
    last_duration_seconds: float | None = None
    last_outcome: str | None = None
    last_result: Any = None
    last_error: str | None = None
    runs: int = 0
    failures: int = 0
    missed: int = 0
    # Runs left to another instance sharing the database (store.job_lock), or that the job skipped itself.
    skipped: int = 0


class JobRunner:
    def __init__(self, *, grace_seconds: int = 30, lock: JobLock | None = None) -> None:
        self.scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace_seconds},
            timezone="UTC",
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        self._functions: dict[str, JobFunction] = {}
        self._lock = lock or _always
        self._gaps: dict[str, float | None] = {}
        self._status: dict[str, JobStatus] = {}
        self._running: set[asyncio.Task] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, job_id: str, function: JobFunction, trigger: BaseTrigger, description: str) -> None:
        self._functions[job_id] = function
        self._status[job_id] = JobStatus(job_id, description)
        self._gaps[job_id] = least_gap(trigger)
        self.scheduler.add_job(self.run, trigger, args=[job_id], id=job_id, name=description, replace_existing=True)

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self, timeout: float = 30.0) -> None:
        """No new runs; wait for running jobs to finish (up to `timeout`); shut down."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        if self._running:
            _, unfinished = await asyncio.wait(set(self._running), timeout=timeout)
            for task in unfinished:
                log.warning("job still running at shutdown, cancelled: %s", task.get_name())
                task.cancel()
        self.scheduler.shutdown(wait=False)

    async def run(self, job_id: str) -> Any:
        """Run a job now (the scheduler calls this too) and record how it went.

        Under the store's job lock: when another instance runs the job, or ran
        it within this interval, the run is skipped (recorded, returns None).
        """
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        status = self._status[job_id]
        ran = False
        try:
            async with self._lock(job_id, self._gaps[job_id]) as acquired:
                if acquired:
                    ran = True
                    return await self._run_now(status)
        except JobSkipped as skipped:
            log.info("job %s skipped: %s", job_id, skipped)
        except Exception as exc:
            if not ran:  # the lock itself failed; a run records its own failures
                status.failures += 1
                status.last_outcome = "error"
                status.last_error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if task is not None:
                self._running.discard(task)
        status.skipped += 1
        status.last_outcome = "skipped"
        return None

    async def _run_now(self, status: JobStatus) -> Any:
        status.last_started = clock.now_text()
        started: float | None = time.monotonic()
        try:
            result = await self._functions[status.id]()
        except JobSkipped:
            started = None  # not a run: run() records the skip
            raise
        except Exception as exc:
            status.failures += 1
            status.last_outcome = "error"
            status.last_error = f"{type(exc).__name__}: {exc}"
            raise
        else:
            status.last_outcome = "ok"
            status.last_error = None
            status.last_result = result
            return result
        finally:
            if started is not None:
                status.runs += 1
                status.last_finished = clock.now_text()
                status.last_duration_seconds = round(time.monotonic() - started, 3)

    def statuses(self) -> list[JobStatus]:
        for status in self._status.values():
            job = self.scheduler.get_job(status.id) if self.scheduler.running else None
            next_run = job.next_run_time if job is not None else None
            status.next_run = clock.format_time(next_run) if next_run is not None else None
        return list(self._status.values())

    def status(self, job_id: str) -> JobStatus:
        return self._status[job_id]

    def _on_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            self._status[event.job_id].missed += 1
            log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
        else:
            log.error("job %s failed: %r", event.job_id, event.exception)
