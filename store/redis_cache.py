"""The cache port on Redis: one JSON value per key, its TTL kept by Redis itself.

Several Vault instances with one Redis share one cache, whatever main database
each has. Every key is `<prefix>cache:<cache key>`, so The Vault can share a Redis.
A Redis that is down or slow is StoreUnavailable after a short timeout, never a hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from attrs import asdict
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from vault.store.core.records import bounded_text, new_cache_entry
from vault.store.errors import NotFound, StoreUnavailable
from vault.store.interface import IdempotencyClaim

from vault import clock
from vault.inputs import CacheWrite
from vault.jsonutil import dumps_text, loads_stored
from vault.models import CacheEntry
from vault.telemetry import Telemetry

# Connect and read timeouts: a dead Redis answers a request with 503, not a hang.
SOCKET_TIMEOUT_SECONDS = 2.0
# One immediate retry: a pooled connection Redis dropped (a restart) reconnects at once.
RETRIES = 1
NAMESPACE = "cache:"


def redis_address(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path or '/0'}"


class RedisCache:
    """The cache in Redis. Read times are not written back: `accessed_at` is the time of the read."""

    kind: ClassVar[str] = "redis"

    def __init__(self, url: str, prefix: str = "vault:", max_document_bytes: int | None = None) -> None:
        self.address = redis_address(url)
        self._prefix = prefix + NAMESPACE
        self._max_document_bytes = max_document_bytes
        # Connections are made at the first command, so building this never fails on a Redis that is down.
        self._redis = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), RETRIES),
        )
        self._observer: Callable[[str, float, bool], None] | None = None

    def _key(self, key: str) -> str:
        return self._prefix + key

    def observe(self, telemetry: Telemetry) -> None:
        self._observer = telemetry.observe_redis

    @contextmanager
    def _reaching_redis(self, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        failed = True
        try:
            yield
            failed = False
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis at {self.address} does not answer: {exc}") from exc
        finally:
            if self._observer is not None:
                self._observer(operation, time.perf_counter() - started, failed)

    async def get(self, key: str) -> CacheEntry:
        with self._reaching_redis("get"):
            stored = await self._redis.get(self._key(key))
        if stored is None:
            raise NotFound("cache key", key)
        entry = CacheEntry(**loads_stored(stored.decode("utf-8")))
        return CacheEntry(entry.key, entry.value, entry.ttl, entry.created_at, clock.now_text(), entry.expires_at)

    async def set(self, key: str, write: CacheWrite) -> CacheEntry:
        entry = new_cache_entry(key, write)
        # Checked as the database checks it: DocumentTooLarge, nothing written.
        bounded_text(entry.value, "value", self._max_document_bytes)
        document = dumps_text(asdict(entry))
        expiry_ms = None if write.ttl is None else write.ttl * 1000
        with self._reaching_redis("set"):
            await self._redis.set(self._key(key), document, px=expiry_ms)
        return entry

    async def delete(self, key: str) -> None:
        with self._reaching_redis("delete"):
            removed = await self._redis.delete(self._key(key))
        if not removed:
            raise NotFound("cache key", key)

    async def cleanup(self, claim: IdempotencyClaim | None = None) -> int:
        """Always 0: Redis removes an expired key itself, so no sweep ever finds one.

        A claim is recorded by the store around this call, in the main database.
        """
        with self._reaching_redis("cleanup"):
            await self._redis.ping()
        return 0

    async def ping(self) -> None:
        with self._reaching_redis("ping"):
            await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
