"""The cache port on Redis: one JSON value per key, its TTL kept by Redis itself.

Several Vault instances with one Redis share one cache, whatever main database
each has. Every key is `<prefix>cache:<cache key>`, so The Vault can share a Redis.
A Redis that is down or slow is StoreUnavailable after a short timeout (RedisLink).
"""

from __future__ import annotations

from typing import ClassVar

from attrs import asdict
from vault.store.core.records import bounded_text, new_cache_entry
from vault.store.errors import NotFound
from vault.store.interface import IdempotencyClaim
from vault.store.redis_link import RedisAdapter

from vault import clock
from vault.inputs import CacheWrite
from vault.jsonutil import dumps_text, loads_stored
from vault.models import CacheEntry


def encode(entry: CacheEntry, value_text: str) -> str:
    """The stored document; `value_text` is the value's JSON, bounded already."""
    fields = asdict(entry)
    del fields["value"]
    return f'{{"value":{value_text},{dumps_text(fields)[1:]}'


def decode(stored: bytes) -> CacheEntry:
    return CacheEntry(**loads_stored(stored.decode("utf-8")))


class RedisCache(RedisAdapter):
    """The cache in Redis. Read times are not written back: `accessed_at` is the time of the read."""

    namespace: ClassVar[str] = "cache:"

    async def get(self, key: str) -> CacheEntry:
        with self._link.reaching("cache_get"):
            stored = await self._link.client.get(self._link.key(key))
        if stored is None:
            raise NotFound("cache key", key)
        entry = decode(stored)
        return CacheEntry(entry.key, entry.value, entry.ttl, entry.created_at, clock.now_text(), entry.expires_at)

    async def set(self, key: str, write: CacheWrite) -> CacheEntry:
        entry = new_cache_entry(key, write)
        # Checked as the database checks it: DocumentTooLarge, nothing written.
        document = encode(entry, bounded_text(entry.value, "value", self._max_document_bytes))
        expiry_ms = None if write.ttl is None else write.ttl * 1000
        with self._link.reaching("cache_set"):
            await self._link.client.set(self._link.key(key), document, px=expiry_ms)
        return entry

    async def delete(self, key: str) -> None:
        with self._link.reaching("cache_delete"):
            removed = await self._link.client.delete(self._link.key(key))
        if not removed:
            raise NotFound("cache key", key)

    async def cleanup(self, claim: IdempotencyClaim | None = None) -> int:
        """Always 0: Redis removes an expired key itself, so no sweep ever finds one.

        A claim is recorded by the store around this call, in the main database.
        """
        with self._link.reaching("cache_cleanup"):
            await self._link.client.ping()
        return 0
