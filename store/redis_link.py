"""One Redis as the cache and state adapters reach it: a pooled client, its errors made 503s, its calls timed.

Every key is `<prefix><namespace><name>`, so The Vault can share a Redis. A
Redis that is down or slow is StoreUnavailable after a short timeout, never a
hang; connections are made at the first command, so building a link never
fails on a Redis that is down (the service starts, /ready says what is wrong).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from vault.store.errors import StoreUnavailable

from vault.telemetry import Telemetry

# Connect and read timeouts: a dead Redis answers a request with 503, not a hang.
SOCKET_TIMEOUT_SECONDS = 2.0
# One immediate retry: a pooled connection Redis dropped (a restart) reconnects at once.
RETRIES = 1


def redis_address(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path or '/0'}"


class RedisLink:
    """The client of one Redis URL, for keys under `prefix + namespace`."""

    def __init__(self, url: str, prefix: str, namespace: str) -> None:
        self.address = redis_address(url)
        self.client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), RETRIES),
        )
        self.key_prefix = prefix + namespace
        self._observer: Callable[[str, float, bool], None] | None = None

    def key(self, name: str) -> str:
        return self.key_prefix + name

    def observe(self, telemetry: Telemetry) -> None:
        self._observer = telemetry.observe_redis

    @contextmanager
    def reaching(self, operation: str) -> Iterator[None]:
        """Time one call for /metrics; a Redis that fails it is StoreUnavailable (503), naming it."""
        started = time.perf_counter()
        failed = False  # an answer the caller refuses (a failed If-Match, say) is no Redis error
        try:
            yield
        except (RedisError, OSError) as exc:
            failed = True
            raise StoreUnavailable(f"redis at {self.address} does not answer: {exc}") from exc
        finally:
            if self._observer is not None:
                self._observer(operation, time.perf_counter() - started, failed)

    async def ping(self) -> None:
        with self.reaching("ping"):
            await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


class RedisAdapter:
    """What the cache and state adapters on Redis share: a link under their namespace and the document limit."""

    kind: ClassVar[str] = "redis"
    namespace: ClassVar[str]

    def __init__(self, url: str, prefix: str = "vault:", max_document_bytes: int | None = None) -> None:
        self._link = RedisLink(url, prefix, self.namespace)
        self.address = self._link.address
        self._max_document_bytes = max_document_bytes

    def observe(self, telemetry: Telemetry) -> None:
        self._link.observe(telemetry)

    async def ping(self) -> None:
        await self._link.ping()

    async def close(self) -> None:
        await self._link.close()
