"""The PostgreSQL pool (vault.store.postgres.connection.Pool): callers in the order they asked,
connections kept while they serve well and given back to asyncpg's pool when they may not."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest
from vault.store import errors
from vault.store.postgres.connection import Pool

from tests.postgres.conftest import new_store
from tests.store.conftest import new_session


async def test_a_freed_connection_goes_to_the_oldest_waiter_not_to_a_caller_arriving_then(database_url):
    pool = Pool(database_url, size=1, timeout=10, queue_max=10, min_size=1)
    await pool.open()
    order: list[str] = []
    try:
        holding = asyncio.Event()

        async def wait_then_use(name: str) -> None:
            async with pool.connection():
                order.append(name)

        async def hold_then_ask_again() -> None:
            async with pool.connection():
                order.append("holder")
                holding.set()
                await asyncio.sleep(0.2)
            # Asks again the moment its connection is back: asyncpg's own pool would give it
            # straight back to this caller, ahead of the three already waiting.
            async with pool.connection():
                order.append("holder again")

        holder = asyncio.create_task(hold_then_ask_again())
        await holding.wait()
        waiters = []
        for name in ("first", "second", "third"):
            waiters.append(asyncio.create_task(wait_then_use(name)))
            await asyncio.sleep(0.01)
        await asyncio.gather(holder, *waiters)
    finally:
        await pool.close()
    assert order == ["holder", "first", "second", "third", "holder again"]
    assert pool.waiting == 0


async def test_a_caller_that_gives_up_waiting_leaves_its_turn_to_the_next(database_url):
    pool = Pool(database_url, size=1, timeout=0.2, queue_max=10, min_size=1)
    await pool.open()
    try:
        async with pool.connection():
            late = asyncio.create_task(_use(pool))
            await asyncio.sleep(0.4)
            assert late.done() and late.exception() is not None  # StoreBusy after 0.2 s
        # The turn it waited for is not lost: the pool still serves one caller at a time.
        for _ in range(3):
            await _use(pool)
        assert pool.waiting == 0
    finally:
        await pool.close()


async def _use(pool: Pool) -> None:
    async with pool.connection() as conn:
        await conn.fetchval("SELECT 1")


@contextlib.asynccontextmanager
async def opened(database_url: str, size: int, timeout: float = 5, min_size: int = 0) -> AsyncIterator[Pool]:
    pool = Pool(database_url, size=size, timeout=timeout, queue_max=10, min_size=min_size)
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


async def _backend(pool: Pool) -> int:
    async with pool.connection() as conn:
        return await conn.fetchval("SELECT pg_backend_pid()")


# Rule: a connection whose use ended cleanly serves the next caller as it is, without a reset.
async def test_a_connection_that_served_well_serves_the_next_caller(database_url):
    async with opened(database_url, size=1, min_size=1) as pool:
        first = await _backend(pool)
        assert [await _backend(pool) for _ in range(5)] == [first] * 5
        assert pool.counts() == {"in_use": 0, "idle": 1, "waiting": 0, "max": 1}


# Rule: a transaction left open is rolled back before the connection serves anyone else.
async def test_a_transaction_left_open_is_rolled_back_before_the_next_caller(database_url):
    async with opened(database_url, size=1, min_size=1) as pool:
        async with pool.connection() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMP TABLE left_open (n int)")
        async with pool.connection() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None


async def _whole(pool: Pool, size: int) -> None:
    """`size` callers can hold a connection at once: no place of the pool was lost."""
    all_held = asyncio.Event()
    held = 0

    async def hold() -> None:
        nonlocal held
        async with pool.connection():
            held += 1
            if held == size:
                all_held.set()
            await all_held.wait()

    await asyncio.wait_for(asyncio.gather(*(hold() for _ in range(size))), 5)
    assert pool.counts()["in_use"] == 0


# Rule: after a use that ended in an error, the connection goes back to asyncpg's pool (which
# resets it) and the place it held is free again: the pool goes on serving its full size.
async def test_a_use_that_failed_frees_its_place(database_url):
    async with opened(database_url, size=2, timeout=2) as pool:
        for _ in range(5):
            with pytest.raises(RuntimeError):
                async with pool.connection() as conn:
                    await conn.fetchval("SELECT 1")
                    raise RuntimeError("the caller's own failure")
        await _whole(pool, 2)


# Rule: a caller cancelled in the middle of a query loses nothing: its connection is not handed
# to anyone with the query still running, and the pool serves its full size afterwards.
async def test_callers_cancelled_in_a_query_leave_the_pool_whole(database_url):
    async def sleeper(pool: Pool) -> None:
        async with pool.connection() as conn:
            await conn.execute("SELECT pg_sleep(5)")

    async with opened(database_url, size=2) as pool:
        for _ in range(4):
            task = asyncio.create_task(sleeper(pool))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        answers = await asyncio.wait_for(asyncio.gather(*(_backend(pool) for _ in range(6))), 5)
        assert len(answers) == 6
        await _whole(pool, 2)


# Rule: expire() closes idle connections at once and a busy one when it comes back: every later
# caller gets a new one (after a failover, one to the new primary).
async def test_expired_connections_are_not_used_again(database_url):
    async with opened(database_url, size=2) as pool:
        idle = await _backend(pool)
        async with pool.connection() as busy_conn:
            busy = await busy_conn.fetchval("SELECT pg_backend_pid()")
            await pool.expire()
        later = {await _backend(pool) for _ in range(4)}
        assert idle not in later and busy not in later
        await _whole(pool, 2)


# Rule: callers waiting when the pool closes are told at once that the store is closed.
async def test_waiters_hear_of_the_close(database_url):
    pool = Pool(database_url, size=1, timeout=10, queue_max=10, min_size=1)
    await pool.open()
    holding = asyncio.Event()

    async def hold() -> None:
        async with pool.connection():
            holding.set()
            await asyncio.sleep(0.3)

    holder = asyncio.create_task(hold())
    await holding.wait()
    waiter = asyncio.create_task(_use(pool))
    await asyncio.sleep(0.05)
    await pool.close()
    with pytest.raises(errors.StoreClosed):
        await waiter
    await holder
    with pytest.raises(errors.StoreClosed):
        await _use(pool)


# Rule: a connection whose server session ended while it sat idle is never handed out: the next
# callers get working connections (asyncpg has already taken the dead one back).
async def test_connections_that_died_idle_are_not_handed_out(database_url):
    async with opened(database_url, size=3) as pool:
        holders = [pool.connection() for _ in range(3)]
        pids = [await (await holder.__aenter__()).fetchval("SELECT pg_backend_pid()") for holder in holders]
        for holder in holders:
            await holder.__aexit__(None, None, None)
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)
        answers = [await _backend(pool) for _ in range(5)]
        assert not set(answers) & set(pids)
        await _whole(pool, 3)


# Rule: an expire() cut short by its caller's cancellation loses no place: the pool still serves
# its full size, on new connections.
async def test_a_cancelled_expire_loses_no_place(database_url):
    async with opened(database_url, size=3) as pool:
        await _whole(pool, 3)
        expiring = asyncio.create_task(pool.expire())
        await asyncio.sleep(0)
        expiring.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await expiring
        await _whole(pool, 3)


# Rule: a connection granted to a waiter that is cancelled as the pool closes is not parked: the
# close does not wait out its timeout for it.
async def test_a_grant_to_a_waiter_cancelled_at_close_is_not_kept(database_url):
    pool = Pool(database_url, size=1, timeout=5, queue_max=10, min_size=0)
    await pool.open()
    lease = pool.connection()
    await lease.__aenter__()
    waiter = asyncio.create_task(_use(pool))
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(pool.close(timeout=30))
    await lease.__aexit__(None, None, None)  # grants the waiter the connection...
    waiter.cancel()  # ...which is cancelled in the same turn of the loop
    await asyncio.wait_for(asyncio.gather(closing, waiter, return_exceptions=True), 5)
    assert pool.counts()["in_use"] == 0


# Rule: a statement's own error (a value PostgreSQL text cannot hold) leaves the pool's connections
# be; only a server gone drops them.
async def test_a_bad_value_does_not_drop_the_pools_connections(database_url, tmp_path):
    store = new_store(database_url, tmp_path)
    await store.start()
    try:
        before = {await _backend(store._pool) for _ in range(3)}
        with pytest.raises(errors.InvalidReference):
            await new_session(store, agent_name="a\x00b")
        after = {await _backend(store._pool) for _ in range(3)}
        assert before & after
    finally:
        await store.close()
