"""The tests' stopped clock moves every wall clock the service reads, so tests move time instead of waiting."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from vault import clock
from vault.inputs import CacheWrite


# Rule: a test that moves the clock moves it for the store's writer thread and the jobs' time.time() too.
async def test_moving_the_clock_moves_the_stores_and_the_jobs_time(store, still_clock):
    before = await store.cache_set("k", CacheWrite(value=1))
    seconds_before = time.time()

    still_clock.shift(3600)

    after = await store.cache_set("k", CacheWrite(value=1))
    elapsed = clock.parse_time(after.created_at) - clock.parse_time(before.created_at)
    assert elapsed == timedelta(hours=1)
    assert time.time() - seconds_before == pytest.approx(3600)
