"""Store contract: the cache (set, get, delete, expiry, cleanup)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from vault.store.errors import NotFound

from tests.store.conftest import at, is_missing
from vault.inputs import CacheWrite


async def put(store, key: str, value=None, ttl: int | None = None):
    return await store.cache_set(key, CacheWrite(value=value, ttl=ttl))


# Moved by this much after a write with ttl=1, the clock is past the entry's expiry.
PAST_A_ONE_SECOND_TTL = 2


async def assert_expired(store, *keys: str) -> None:
    for key in keys:
        assert await is_missing(store.cache_get(key)), f"cache key {key!r} is still readable"


@pytest.mark.parametrize("value", [None, 0, 1.5, "text", True, [], [1, "a"], {"nested": {"list": [None]}}])
async def test_cache_value_round_trips(backend_store, value):
    written = await put(backend_store, "k", value)

    entry = await backend_store.cache_get("k")

    assert (entry.key, entry.value, written.value) == ("k", value, value)


async def test_entry_without_ttl_never_expires(backend_store):
    written = await put(backend_store, "k", "v")

    entry = await backend_store.cache_get("k")

    assert (written.ttl, written.expires_at) == (None, None)
    assert (entry.ttl, entry.expires_at, entry.created_at) == (None, None, written.created_at)
    assert entry.accessed_at >= entry.created_at


async def test_entry_with_ttl_has_an_expiry(backend_store):
    written = await put(backend_store, "k", "v", ttl=60)

    entry = await backend_store.cache_get("k")

    assert (entry.ttl, entry.expires_at) == (60, written.expires_at)
    assert written.expires_at > written.created_at


async def test_setting_again_replaces_the_value_and_restarts_the_ttl(backend_store):
    first = await put(backend_store, "k", "old", ttl=60)

    longer = await put(backend_store, "k", "new", ttl=120)
    assert longer.expires_at > first.expires_at
    assert (await backend_store.cache_get("k")).value == "new"

    forever = await put(backend_store, "k", "newest")
    assert forever.expires_at is None
    assert (await backend_store.cache_get("k")).expires_at is None


async def test_get_unknown_key_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await backend_store.cache_get("missing")


async def test_delete_removes_the_entry(backend_store):
    await put(backend_store, "k", "v")

    await backend_store.cache_delete("k")

    with pytest.raises(NotFound):
        await backend_store.cache_get("k")
    with pytest.raises(NotFound):
        await backend_store.cache_delete("k")


async def test_keys_are_independent(backend_store):
    await put(backend_store, "a", 1)
    await put(backend_store, "b", 2)

    await backend_store.cache_delete("a")

    assert (await backend_store.cache_get("b")).value == 2


# Regression: an entry past its expiry is gone at once, before any cleanup runs.
async def test_expired_entry_is_not_found_without_cleanup(backend_store, still_clock):
    await put(backend_store, "short", "v", ttl=1)
    assert (await backend_store.cache_get("short")).value == "v"

    still_clock.shift(PAST_A_ONE_SECOND_TTL)
    await assert_expired(backend_store, "short")

    with pytest.raises(NotFound):
        await backend_store.cache_delete("short")
    await put(backend_store, "short", "again", ttl=3600)
    assert (await backend_store.cache_get("short")).value == "again"


async def test_cleanup_removes_exactly_the_expired_entries(backend_store, still_clock):
    for key in ("short1", "short2"):
        await put(backend_store, key, key, ttl=1)
    await put(backend_store, "long", "long", ttl=3600)
    await put(backend_store, "forever", "forever")
    still_clock.shift(PAST_A_ONE_SECOND_TTL)
    await assert_expired(backend_store, "short1", "short2")

    assert await backend_store.cache_cleanup() == 2
    assert await backend_store.cache_cleanup() == 0

    assert (await backend_store.cache_get("long")).value == "long"
    assert (await backend_store.cache_get("forever")).value == "forever"


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
    await put(backend_store, "live", "v", ttl=3600)
    await put(backend_store, "forever", "v")
    insert_expired_rows(backend_store, 2500)

    assert await backend_store.cache_cleanup() == 2500

    assert await backend_store.cache_cleanup() == 0
    assert (await backend_store.cache_get("live")).value == "v"
    assert (await backend_store.cache_get("forever")).value == "v"
