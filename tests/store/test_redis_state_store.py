"""State on Redis inside a store: what goes with a session's delete, and what a crash can leave behind.

The port's own promises (versions, If-Match, merge patch, races) are in
test_contract_state.py, which runs them against Redis too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from vault.store.errors import NotFound
from vault.store.redis_state import TOMBSTONE_SECONDS, RedisState
from vault.store.sqlite import SQLiteStore

from tests import store_settings
from tests.redistemp import private_prefix
from tests.store.conftest import new_session


@pytest.fixture
async def redis_home() -> AsyncIterator[tuple[str, str]]:
    async with private_prefix() as home:
        yield home


@pytest.fixture
async def redis_client(redis_home) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_home[0])
    yield client
    await client.aclose()


@pytest.fixture
async def store_on_redis(tmp_path, redis_home) -> AsyncIterator[SQLiteStore]:
    url, prefix = redis_home
    store = SQLiteStore(str(tmp_path / "vault.db"), store_settings.SQLITE, state=RedisState(url, prefix))
    await store.start()
    yield store
    await store.close()


def state_key(redis_home: tuple[str, str], session_id: str) -> str:
    return f"{redis_home[1]}state:{session_id}"


async def holds_state(redis_client: aioredis.Redis, key: str) -> bool:
    """Whether the key holds a state (a tombstone holds none, and goes by itself)."""
    fields = await redis_client.hgetall(key)
    if fields == {b"gone": b"1"}:
        assert 0 < await redis_client.ttl(key) <= TOMBSTONE_SECONDS
        return False
    return bool(fields)


# Rule: deleting a session removes its state from Redis, leaving only a tombstone that goes by itself.
async def test_deleting_a_session_removes_its_state_from_redis(store_on_redis, redis_home, redis_client):
    session = await new_session(store_on_redis)
    await store_on_redis.put_state(session.id, {"a": 1}, None)
    assert await holds_state(redis_client, state_key(redis_home, session.id))

    await store_on_redis.delete_session(session.id)

    assert not await holds_state(redis_client, state_key(redis_home, session.id))


# Rule: a write that reaches Redis after its session's state was forgotten (it checked the
# session just before the delete) writes nothing: the tombstone makes it NotFound.
@pytest.mark.parametrize("write", ["put", "patch", "delete"])
async def test_a_write_after_forget_is_refused_by_the_tombstone(redis_home, redis_client, write):
    state = RedisState(*redis_home)
    try:
        await state.put("session_x", {"a": 1}, None)
        await state.forget("session_x")

        with pytest.raises(NotFound):
            if write == "delete":
                await state.delete("session_x", None)
            else:
                await getattr(state, write)("session_x", {"b": 2}, None)
        with pytest.raises(NotFound):
            await state.get("session_x")
    finally:
        await state.close()
    assert not await holds_state(redis_client, state_key(redis_home, "session_x"))


# Rule: state left in Redis by a delete that stopped between its two steps (the
# session's row gone, the state's key not) is never seen again: reads and writes are 404.
async def test_state_left_behind_by_an_interrupted_delete_cannot_be_read(
    tmp_path, store_on_redis, redis_home, redis_client
):
    session = await new_session(store_on_redis)
    await store_on_redis.put_state(session.id, {"secret": 1}, None)
    # The first step alone: the row deleted through a store that keeps state in
    # the database, so it has no key to remove, just as a crash after the row's commit.
    first_step_only = SQLiteStore(str(tmp_path / "vault.db"), store_settings.SQLITE)
    await first_step_only.start()
    try:
        await first_step_only.delete_session(session.id)
    finally:
        await first_step_only.close()
    assert await holds_state(redis_client, state_key(redis_home, session.id))

    for call in (
        store_on_redis.get_state(session.id),
        store_on_redis.put_state(session.id, {"b": 2}, None),
        store_on_redis.patch_state(session.id, {"b": 2}, None),
        store_on_redis.delete_state(session.id, None),
    ):
        with pytest.raises(NotFound):
            await call
    stored = await redis_client.hgetall(state_key(redis_home, session.id))
    assert stored[b"data"] == b'{"secret":1}' and stored[b"version"] == b"1"


# Rule: writes racing a session's delete leave nothing in Redis once all are answered.
async def test_writes_racing_a_delete_leave_no_state_behind(store_on_redis, redis_home, redis_client):
    for _ in range(5):
        session = await new_session(store_on_redis)
        writes = [store_on_redis.patch_state(session.id, {f"k{n}": n}, None) for n in range(20)]
        delete = store_on_redis.delete_session(session.id)
        await asyncio.gather(*writes[:10], delete, *writes[10:], return_exceptions=True)

        assert not await holds_state(redis_client, state_key(redis_home, session.id))


# Rule: /health names where state lives.
async def test_the_store_says_state_is_in_redis(store_on_redis):
    assert store_on_redis.backends["state"] == "redis"
