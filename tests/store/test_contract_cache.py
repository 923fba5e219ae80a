"""Cache port contract: set, get, delete, expiry, cleanup, on every cache adapter (and the store's own sweep)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from vault.store.cache_port import CacheStore
from vault.store.errors import NotFound

from tests.redistemp import wait_until
from tests.store.conftest import at, is_missing
from vault.inputs import CacheWrite


async def put(cache: CacheStore, key: str, value=None, ttl: int | None = None):
    return await cache.set(key, CacheWrite(value=value, ttl=ttl))


# Moved by this much after a write with ttl=1, the clock is past the entry's expiry.
PAST_A_ONE_SECOND_TTL = 2


async def assert_expired(cache: CacheStore, *keys: str) -> None:
    for key in keys:
        assert await is_missing(cache.get(key)), f"cache key {key!r} is still readable"


@pytest.fixture
def outlive_one_second_ttl(cache_store, request):
    """Let entries written with ttl=1 run out, as the adapter's clock allows.

    The database adapters read the service's clock, which the test moves; Redis
    keeps its own clock, so the test waits until Redis has dropped the keys.
    """
    if cache_store.kind == "redis":

        async def wait_out(*keys: str) -> None:
            async def all_gone() -> bool:
                return all([await is_missing(cache_store.get(key)) for key in keys])

            await wait_until(all_gone, f"redis to expire {keys}")

        return wait_out
    still_clock = request.getfixturevalue("still_clock")

    async def shift_past(*keys: str) -> None:
        still_clock.shift(PAST_A_ONE_SECOND_TTL)

    return shift_past


@pytest.mark.parametrize("value", [None, 0, 1.5, "text", True, [], [1, "a"], {"nested": {"list": [None]}}])
async def test_cache_value_round_trips(cache_store, value):
    written = await put(cache_store, "k", value)

    entry = await cache_store.get("k")

    assert (entry.key, entry.value, written.value) == ("k", value, value)


async def test_entry_without_ttl_never_expires(cache_store):
    written = await put(cache_store, "k", "v")

    entry = await cache_store.get("k")

    assert (written.ttl, written.expires_at) == (None, None)
    assert (entry.ttl, entry.expires_at, entry.created_at) == (None, None, written.created_at)
    assert entry.accessed_at >= entry.created_at


async def test_entry_with_ttl_has_an_expiry(cache_store):
    written = await put(cache_store, "k", "v", ttl=60)

    entry = await cache_store.get("k")

    assert (entry.ttl, entry.expires_at) == (60, written.expires_at)
    assert written.expires_at > written.created_at


async def test_setting_again_replaces_the_value_and_restarts_the_ttl(cache_store):
    first = await put(cache_store, "k", "old", ttl=60)

    longer = await put(cache_store, "k", "new", ttl=120)
    assert longer.expires_at > first.expires_at
    assert (await cache_store.get("k")).value == "new"

    forever = await put(cache_store, "k", "newest")
    assert forever.expires_at is None
    assert (await cache_store.get("k")).expires_at is None


async def test_get_unknown_key_is_not_found(cache_store):
    with pytest.raises(NotFound):
        await cache_store.get("missing")


async def test_delete_removes_the_entry(cache_store):
    await put(cache_store, "k", "v")

    await cache_store.delete("k")

    with pytest.raises(NotFound):
        await cache_store.get("k")
    with pytest.raises(NotFound):
        await cache_store.delete("k")


async def test_keys_are_independent(cache_store):
    await put(cache_store, "a", 1)
    await put(cache_store, "b", 2)

    await cache_store.delete("a")

    assert (await cache_store.get("b")).value == 2


# Regression: an entry past its expiry is gone at once, before any cleanup runs.
async def test_expired_entry_is_not_found_without_cleanup(cache_store, outlive_one_second_ttl):
    await put(cache_store, "short", "v", ttl=1)
    assert (await cache_store.get("short")).value == "v"

    await outlive_one_second_ttl("short")
    await assert_expired(cache_store, "short")

    with pytest.raises(NotFound):
        await cache_store.delete("short")
    await put(cache_store, "short", "again", ttl=3600)
    assert (await cache_store.get("short")).value == "again"


async def test_cleanup_removes_exactly_the_expired_entries(cache_store, outlive_one_second_ttl):
    for key in ("short1", "short2"):
        await put(cache_store, key, key, ttl=1)
    await put(cache_store, "long", "long", ttl=3600)
    await put(cache_store, "forever", "forever")
    await outlive_one_second_ttl("short1", "short2")
    await assert_expired(cache_store, "short1", "short2")

    # Redis removes expired keys itself, so its sweep never finds one left.
    assert await cache_store.cleanup() == (0 if cache_store.kind == "redis" else 2)
    assert await cache_store.cleanup() == 0

    assert (await cache_store.get("long")).value == "long"
    assert (await cache_store.get("forever")).value == "forever"


def insert_expired_rows(store, count: int) -> None:
    """Write entries that expired long ago straight into the SQLite file.

    This reaches past the interface on purpose: waiting out a real TTL for
    thousands of entries would be slow, and rows already past their expiry make
    the expected count exact, with nothing expiring while the test runs.
    """
    if store.backend != "sqlite":
        pytest.skip("inserts rows with the sqlite3 module")
    past = at(0)
    rows = [(f"old{n}", '"x"', 1, past, past, past) for n in range(count)]
    with closing(sqlite3.connect(store.path)) as conn, conn:
        conn.executemany(
            "INSERT INTO cache (key, value, ttl, created_at, accessed_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)", rows
        )


@pytest.mark.sqlite_only
async def test_cleanup_sweeps_more_than_one_chunk_and_nothing_live(backend_store):
    await backend_store.cache_set("live", CacheWrite(value="v", ttl=3600))
    await backend_store.cache_set("forever", CacheWrite(value="v"))
    insert_expired_rows(backend_store, 2500)

    assert await backend_store.cache_cleanup() == 2500

    assert await backend_store.cache_cleanup() == 0
    assert (await backend_store.cache_get("live")).value == "v"
    assert (await backend_store.cache_get("forever")).value == "v"
