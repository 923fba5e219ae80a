"""Callers get a PostgreSQL connection in the order they asked for one (vault.store.postgres.connection.Pool)."""

from __future__ import annotations

import asyncio

from vault.store.postgres.connection import Pool


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
