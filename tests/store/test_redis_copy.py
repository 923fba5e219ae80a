"""`vault copy` between a database and Redis: the cache and state move either way and answer the same after."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
import pytest
import redis.asyncio as aioredis
from attrs import evolve
from vault.store.blobfs import FilesystemBlobStore
from vault.store.errors import NotFound, StoreError
from vault.store.interface import Store
from vault.store.postgres.store import PostgresStore
from vault.store.redis_cache import RedisCache
from vault.store.redis_state import RedisState
from vault.store.sqlite import SQLiteStore
from vault.store.transfer import parse_database_url
from vault.store.transfer.redis_copy import RedisPlace, copy_into_redis, copy_out_of_redis

from tests import store_settings
from tests.pgtemp import fresh_database
from tests.redistemp import private_prefix
from tests.store.conftest import new_session
from vault.inputs import CacheWrite

# A store on the database under test, with the cache and state where the arguments say (None: in the database).
StoreMaker = Callable[[RedisCache | None, RedisState | None], Store]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request, tmp_path) -> AsyncIterator[tuple[str, StoreMaker]]:
    """(URL for vault copy, a maker of stores on that database)."""
    blobs = FilesystemBlobStore(tmp_path / "artifacts")
    if request.param == "sqlite":
        path = str(tmp_path / "vault.db")
        yield path, lambda cache, state: SQLiteStore(path, store_settings.SQLITE, blobs=blobs, cache=cache, state=state)
        return
    settings = evolve(store_settings.POSTGRES, pool_size=2)
    async with fresh_database() as dsn:
        yield dsn, lambda cache, state: PostgresStore(dsn, settings, blobs=blobs, cache=cache, state=state)


@pytest.fixture
async def place() -> AsyncIterator[RedisPlace]:
    # Glob characters in the prefix: the copy must match it literally.
    async with private_prefix() as (url, prefix):
        yield RedisPlace(url, prefix + "a[*]?:")


@asynccontextmanager
async def running(store: Store) -> AsyncIterator[Store]:
    await store.start()
    try:
        yield store
    finally:
        await store.close()


def on_redis(place: RedisPlace) -> tuple[RedisCache, RedisState]:
    return RedisCache(place.url, place.prefix), RedisState(place.url, place.prefix)


def counts(report) -> dict[str, tuple[int, int]]:
    return {count.table: (count.source, count.target) for count in report.counts}


# Rule: the cache and state move from a database into Redis: state keeps its versions (so ETags stay
# valid), cache entries keep their values and expiry, and entries already expired are left out.
async def test_the_cache_and_state_move_into_redis_and_answer_the_same(database, place):
    url, make_store = database
    async with running(make_store(None, None)) as store:
        session = await new_session(store)
        await store.put_state(session.id, {"a": 1}, None)
        state = await store.patch_state(session.id, {"b": {"c": [1, 2]}}, None)
        await new_session(store)  # a session without state: nothing to copy for it
        forever = await store.cache_set("forever", CacheWrite(value={"x": [1, "é"]}))
        hour = await store.cache_set("hour", CacheWrite(value=7, ttl=3600))
        await store.cache_set("gone", CacheWrite(value=0, ttl=1))
    await expire_in_the_database(url, "gone")

    report = await copy_into_redis(parse_database_url(url), place, ["cache", "state"])

    assert report.ok
    assert counts(report) == {"cache": (2, 2), "state": (1, 1)}
    assert report.notes == ("1 cache entries left out: they had expired",)
    cache, state_on_redis = on_redis(place)
    async with running(make_store(cache, state_on_redis)) as store:
        assert await store.get_state(session.id) == state
        assert (await store.cache_get("forever")).value == forever.value
        moved = await store.cache_get("hour")
        assert (moved.value, moved.expires_at, moved.created_at) == (hour.value, hour.expires_at, hour.created_at)
        with pytest.raises(NotFound):
            await store.cache_get("gone")
    client = aioredis.Redis.from_url(place.url)
    try:
        # Redis keeps the TTL: the entry goes at the moment it would have gone in the database.
        assert 3500_000 < await client.pttl(f"{place.prefix}cache:hour") <= 3600_000
        assert await client.pttl(f"{place.prefix}cache:forever") == -1
    finally:
        await client.aclose()


async def expire_in_the_database(url: str, key: str) -> None:
    """Move an entry's expiry into the past, as time would (the sweep has not run)."""
    past = "2000-01-01T00:00:00.000000+00:00"
    if url.startswith("postgresql://"):
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("UPDATE cache SET expires_at = $1 WHERE key = $2", past, key)
        finally:
            await conn.close()
        return
    with sqlite3.connect(url) as conn:
        conn.execute("UPDATE cache SET expires_at = ? WHERE key = ?", (past, key))


# Rule: the cache and state move from Redis into a database whose cache and state are empty; state of
# a session the database does not have is left out, and said so.
async def test_the_cache_and_state_move_out_of_redis_and_answer_the_same(database, place):
    url, make_store = database
    cache, state_on_redis = on_redis(place)
    async with running(make_store(cache, state_on_redis)) as store:
        session = await new_session(store)
        for n in range(3):
            state = await store.patch_state(session.id, {f"k{n}": n}, None)
        hour = await store.cache_set("hour", CacheWrite(value={"deep": {"x": None}}, ttl=3600))
        forever = await store.cache_set("forever", CacheWrite(value="text"))
    orphan = RedisState(place.url, place.prefix)
    await orphan.put("session_of_another_database", {"z": 1}, None)
    await orphan.close()

    report = await copy_out_of_redis(place, parse_database_url(url), ["cache", "state"])

    assert report.ok
    assert counts(report) == {"cache": (2, 2), "state": (1, 1)}
    assert report.notes == (
        "1 state entries left out: their sessions are not in the database (deleted ones, or another database's)",
    )
    async with running(make_store(None, None)) as store:
        assert await store.get_state(session.id) == state
        moved = await store.cache_get("hour")
        assert (moved.value, moved.expires_at) == (hour.value, hour.expires_at)
        assert (await store.cache_get("forever")).value == forever.value
        # The next write goes on from the copied version.
        assert (await store.patch_state(session.id, {"more": 1}, state.version)).version == state.version + 1


# Rule: a copy never mixes into data already there: a target holding a kind copied is refused, unchanged.
async def test_a_target_that_holds_the_kind_already_is_refused(database, place):
    url, make_store = database
    async with running(make_store(None, None)) as store:
        session = await new_session(store)
        await store.put_state(session.id, {"a": 1}, None)
    await copy_into_redis(parse_database_url(url), place, ["state"])

    with pytest.raises(StoreError, match="already holds state"):
        await copy_into_redis(parse_database_url(url), place, ["state"])
    with pytest.raises(StoreError, match="already holds state"):
        await copy_out_of_redis(place, parse_database_url(url), ["state"])


# Rule: `vault copy` with Redis on one side prints the counts and exits 0 when they match; --only narrows it.
def test_vault_copy_moves_state_to_redis_from_the_command_line(tmp_path, place):
    database = tmp_path / "vault.db"
    env = {**os.environ, "VAULT_REDIS_PREFIX": place.prefix}
    arguments = ["copy", "--from", f"sqlite:///{database}", "--to", place.url, "--only", "state"]
    subprocess.run([sys.executable, "-m", "vault", "migrate", "--db-path", str(database)], check=True, env=env)

    copied = subprocess.run([sys.executable, "-m", "vault", *arguments], capture_output=True, text=True, env=env)

    assert copied.returncode == 0, copied.stderr
    lines = copied.stdout.splitlines()
    assert lines[1].split() == ["state", "0", "0", "ok"]
    assert "every count matches" in lines[-1] and repr(place.prefix) in lines[-1]


# Rule: Redis on both sides is refused with one line.
def test_vault_copy_refuses_redis_on_both_sides(place):
    copied = subprocess.run(
        [sys.executable, "-m", "vault", "copy", "--from", place.url, "--to", place.url],
        capture_output=True,
        text=True,
    )
    assert copied.returncode == 2
    assert copied.stderr.strip() == "vault: one side of a copy must be a database: Redis to Redis is Redis's own job"
