"""A store whose cache lives in Redis: claims stay in the main database, and a Redis that is down stays contained."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from vault.store.blobfs import FilesystemBlobStore
from vault.store.errors import IdempotencyMismatch, StoreUnavailable
from vault.store.interface import IdempotencyClaim
from vault.store.redis_cache import RedisCache
from vault.store.sqlite import SQLiteStore

from tests import store_settings
from tests.redistemp import free_port, private_prefix
from tests.store.conftest import new_session
from vault.inputs import CacheWrite

CLAIM = IdempotencyClaim("key-1", "fingerprint-a")


@asynccontextmanager
async def store_on(tmp_path, cache: RedisCache) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(
        str(tmp_path / "vault.db"), store_settings.SQLITE, blobs=FilesystemBlobStore(tmp_path / "a"), cache=cache
    )
    await store.start()
    try:
        yield store
    finally:
        await store.close()


# Regression: a cleanup's Idempotency-Key is honoured when the cache is not in the main database.
async def test_cleanup_claim_is_kept_in_the_main_database(tmp_path):
    async with private_prefix() as (url, prefix), store_on(tmp_path, RedisCache(url, prefix)) as store:
        assert await store.cache_cleanup(CLAIM) == 0
        assert await store.cache_cleanup(CLAIM) == 0
        with pytest.raises(IdempotencyMismatch):
            await store.cache_cleanup(IdempotencyClaim(CLAIM.key, "fingerprint-b"))
        assert store.backends["cache"] == "redis"


# Regression: a Redis that does not answer fails only the cache, and names itself.
async def test_redis_down_at_start_fails_only_the_cache(tmp_path):
    nobody_listens = f"redis://:secret@127.0.0.1:{free_port()}/3"
    async with store_on(tmp_path, RedisCache(nobody_listens)) as store:
        with pytest.raises(StoreUnavailable, match="redis") as raised:
            await store.ping()
        assert "secret" not in str(raised.value)
        with pytest.raises(StoreUnavailable):
            await store.cache_set("k", CacheWrite(value=1))
        with pytest.raises(StoreUnavailable):
            await store.cache_get("k")
        with pytest.raises(StoreUnavailable):
            await store.cache_cleanup()
        assert (await new_session(store)).id
