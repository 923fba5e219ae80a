"""Cache: JSON values under string keys, with an optional time to live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from tests.redistemp import private_prefix, wait_until
from vault.config import Config

# Moved by this much after a write with ttl=1, the clock is past the entry's expiry.
PAST_A_ONE_SECOND_TTL = 2


# Where the cache lives: every test here runs on the main database and on real Redis.
@pytest.fixture(params=["database", "redis"])
async def cache_home(request) -> AsyncIterator[dict[str, str]]:
    if request.param == "database":
        yield {}
        return
    if "still_clock" in request.fixturenames:
        pytest.skip("moves the service's clock; Redis keeps its own (test_redis_expires_entries_itself waits instead)")
    async with private_prefix() as (url, prefix):
        yield {"cache_url": url, "redis_prefix": prefix}


@pytest.fixture
def config(db_path, cache_home) -> Config:
    # The scheduled sweep stays out of the way: only these tests delete entries.
    return Config(db_path=db_path, cache_sweep_seconds=86_400, **cache_home)


def cache_url(key: str) -> str:
    return "/storage/cache/" + quote(key, safe="/")


async def put_entry(client, key: str, value: Any, /, **fields: Any) -> dict[str, Any]:
    response = await client.put(cache_url(key), json={"value": value, **fields})
    assert response.status == 200, await response.text()
    return await response.json()


async def get_entry(client, key: str) -> dict[str, Any]:
    response = await client.get(cache_url(key))
    assert response.status == 200, await response.text()
    return await response.json()


async def assert_missing(client, key: str) -> None:
    response = await client.get(cache_url(key))
    assert response.status == 404, await response.text()
    assert (await response.json())["error"] == "not_found"


async def cleanup(client) -> int:
    response = await client.post("/storage/cache/cleanup")
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["status"] == "completed"
    return body["deleted"]


def parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0), text
    return moment


# -- set and get


async def test_entry_without_ttl_never_expires(client):
    entry = await put_entry(client, "greeting", "hello")
    assert entry["key"] == "greeting"
    assert entry["value"] == "hello"
    assert entry["ttl"] is None
    assert entry["expires_at"] is None
    assert parse(entry["accessed_at"]) == parse(entry["created_at"])


async def test_get_returns_the_whole_entry(client):
    stored = await put_entry(client, "k", {"a": 1}, ttl=3600)
    entry = await get_entry(client, "k")
    assert set(entry) == {"key", "value", "ttl", "created_at", "accessed_at", "expires_at"}
    assert entry["key"] == "k"
    assert entry["value"] == {"a": 1}
    assert entry["ttl"] == 3600
    assert entry["created_at"] == stored["created_at"]
    assert entry["expires_at"] == stored["expires_at"]
    assert parse(entry["accessed_at"]) >= parse(entry["created_at"])


# Rule: expires_at and created_at come from one clock reading, so they differ by exactly the ttl.
async def test_expires_at_is_created_at_plus_ttl(client):
    entry = await put_entry(client, "k", 1, ttl=90)
    assert parse(entry["expires_at"]) - parse(entry["created_at"]) == timedelta(seconds=90)


async def test_ttl_null_means_no_expiry(client):
    entry = await put_entry(client, "k", 1, ttl=None)
    assert entry["ttl"] is None
    assert entry["expires_at"] is None


@pytest.mark.parametrize(
    "value",
    [None, 0, -7, 3.25, 10**30, "", "text ☃", True, False, [], [1, "a", None, {"b": [2]}], {}, {"n": {"m": None}}],
    ids=repr,
)
async def test_value_is_any_json(client, value):
    entry = await put_entry(client, "v", value)
    assert entry["value"] == value
    assert (await get_entry(client, "v"))["value"] == value


async def test_body_key_equal_to_the_path_key_is_accepted(client):
    entry = await put_entry(client, "a/b", 1, key="a/b")
    assert entry["key"] == "a/b"


async def test_body_key_other_than_the_path_key_is_422(client):
    response = await client.put(cache_url("k"), json={"value": 1, "key": "other"})
    assert response.status == 422
    body = await response.json()
    assert [error["loc"] for error in body["errors"]] == [["body", "key"]]
    await assert_missing(client, "k")
    await assert_missing(client, "other")


async def test_unknown_key_is_404(client):
    await assert_missing(client, "never-set")


async def test_setting_again_replaces_the_value(client):
    await put_entry(client, "k", "old", ttl=60)
    entry = await put_entry(client, "k", "new")
    assert entry["value"] == "new"
    assert entry["ttl"] is None
    assert (await get_entry(client, "k"))["value"] == "new"


@pytest.mark.parametrize(
    "key",
    [
        "a/b/c",
        "trailing/",
        "a//b",
        "ключ/🔑",
        "naïve café",
        "percent%sign",
        "%2F",
        "q?mark#hash&x=1",
        "+plus+",
        "cleanup",
    ],
)
async def test_keys_with_slashes_unicode_and_url_characters(client, key):
    entry = await put_entry(client, key, {"for": key})
    assert entry["key"] == key
    fetched = await get_entry(client, key)
    assert fetched["key"] == key
    assert fetched["value"] == {"for": key}

    response = await client.delete(cache_url(key))
    assert response.status == 200
    assert await response.json() == {"status": "deleted", "key": key}
    await assert_missing(client, key)


async def test_keys_differing_only_after_a_slash_are_distinct(client):
    await put_entry(client, "a", 1)
    await put_entry(client, "a/b", 2)
    assert (await get_entry(client, "a"))["value"] == 1
    assert (await get_entry(client, "a/b"))["value"] == 2


# -- expiry


async def test_expired_entry_is_404_before_any_cleanup(client, still_clock):
    await put_entry(client, "short", "lived", ttl=1)
    assert (await get_entry(client, "short"))["value"] == "lived"
    still_clock.shift(PAST_A_ONE_SECOND_TTL)
    await assert_missing(client, "short")
    # The row was still there: the read itself hid it.
    assert await cleanup(client) == 1
    await assert_missing(client, "short")


async def test_redis_expires_entries_itself(client, cache_home):
    if not cache_home:
        pytest.skip("the database form moves the clock (test_expired_entry_is_404_before_any_cleanup)")
    await put_entry(client, "short", "lived", ttl=1)
    await put_entry(client, "long", "lived", ttl=3600)

    async def short_is_gone() -> bool:
        return (await client.get(cache_url("short"))).status == 404

    await wait_until(short_is_gone, "redis to expire the entry")
    # Redis removed it itself: no sweep finds it.
    assert await cleanup(client) == 0
    assert (await get_entry(client, "long"))["value"] == "lived"


async def test_setting_again_restarts_the_ttl(client, still_clock):
    first = await put_entry(client, "renewed", 1, ttl=1)
    await put_entry(client, "witness", 1, ttl=1)
    second = await put_entry(client, "renewed", 2, ttl=3600)
    assert parse(second["created_at"]) >= parse(first["created_at"])
    assert parse(second["expires_at"]) - parse(second["created_at"]) == timedelta(seconds=3600)

    still_clock.shift(PAST_A_ONE_SECOND_TTL)
    await assert_missing(client, "witness")
    assert (await get_entry(client, "renewed"))["value"] == 2


async def test_setting_again_with_the_same_ttl_moves_the_expiry_forward(client):
    first = await put_entry(client, "k", 1, ttl=60)
    second = await put_entry(client, "k", 1, ttl=60)
    assert parse(second["expires_at"]) >= parse(first["expires_at"])
    assert parse(second["expires_at"]) - parse(second["created_at"]) == timedelta(seconds=60)


async def test_setting_again_without_ttl_removes_the_expiry(client, still_clock):
    await put_entry(client, "kept", 1, ttl=1)
    await put_entry(client, "witness", 1, ttl=1)
    entry = await put_entry(client, "kept", 1)
    assert entry["expires_at"] is None

    still_clock.shift(PAST_A_ONE_SECOND_TTL)
    await assert_missing(client, "witness")
    assert (await get_entry(client, "kept"))["value"] == 1


async def test_an_expired_key_can_be_set_again(client, still_clock):
    await put_entry(client, "k", "old", ttl=1)
    still_clock.shift(PAST_A_ONE_SECOND_TTL)
    await assert_missing(client, "k")
    await put_entry(client, "k", "new")
    assert (await get_entry(client, "k"))["value"] == "new"


# -- delete and cleanup


async def test_delete_then_404(client):
    await put_entry(client, "k", 1)
    response = await client.delete(cache_url("k"))
    assert response.status == 200
    assert await response.json() == {"status": "deleted", "key": "k"}
    await assert_missing(client, "k")

    again = await client.delete(cache_url("k"))
    assert again.status == 404
    assert (await again.json())["error"] == "not_found"


async def test_cleanup_counts_only_expired_entries(client, still_clock):
    await put_entry(client, "expiring-1", 1, ttl=1)
    await put_entry(client, "expiring-2", 2, ttl=1)
    await put_entry(client, "long-lived", 3, ttl=3600)
    await put_entry(client, "forever", 4)
    still_clock.shift(PAST_A_ONE_SECOND_TTL)
    await assert_missing(client, "expiring-1")
    await assert_missing(client, "expiring-2")

    assert await cleanup(client) == 2
    assert await cleanup(client) == 0
    assert (await get_entry(client, "long-lived"))["value"] == 3
    assert (await get_entry(client, "forever"))["value"] == 4


async def test_cleanup_on_an_empty_cache(client):
    assert await cleanup(client) == 0


async def test_cleanup_is_not_a_key_for_post_only(client):
    await put_entry(client, "cleanup", "a key like any other")
    assert await cleanup(client) == 0
    assert (await get_entry(client, "cleanup"))["value"] == "a key like any other"


async def test_a_key_longer_than_the_limit_is_422(client):
    response = await client.put(cache_url("k" * 1025), json={"value": 1})
    assert response.status == 422
    assert [error["loc"] for error in (await response.json())["errors"]] == [["path", "key"]]
