"""The cache port: keys with JSON values and optional TTLs, and its database adapter.

The store's cache_* methods go through a CacheStore chosen when the store is
built: the main database by default, another adapter (Redis, ...) passed in.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from vault.store.interface import IdempotencyClaim

from vault.inputs import CacheWrite
from vault.models import CacheEntry
from vault.telemetry import Telemetry


class CacheStore(Protocol):
    """A cache adapter. Its promises are the cache's whole contract (tests/store/test_contract_cache.py)."""

    # Where entries live, as /health's `backends` names it: "database", "redis".
    kind: ClassVar[str]

    async def get(self, key: str) -> CacheEntry:
        """The live entry, `accessed_at` now; NotFound if there is none or it has expired.

        An entry is gone the moment its TTL runs out, whether or not a cleanup has run.
        """

    async def set(self, key: str, write: CacheWrite) -> CacheEntry:
        """Set the value and restart its TTL (no TTL: it never expires); `created_at` is now."""

    async def delete(self, key: str) -> None:
        """Delete a live entry; NotFound if there is none (an expired entry is none)."""

    async def cleanup(self, claim: IdempotencyClaim | None = None) -> int:
        """Delete every expired entry, in bounded chunks; return how many.

        With a claim, the count is recorded under it once the sweep is done, and
        a replay of the claim returns that count without sweeping (see
        IdempotencyClaim; claims live in the main database).
        """

    async def ping(self) -> None:
        """Return when the cache answers; StoreUnavailable, naming it, otherwise."""

    async def close(self) -> None:
        """Let go of connections; the store calls it when it closes."""

    def observe(self, telemetry: Telemetry) -> None:
        """Report its calls to the app's metrics, if it has any of its own to report."""


class DatabaseCommands(Protocol):
    """What a database backend does for the cache itself."""

    async def _db_cache_get(self, key: str) -> CacheEntry: ...

    async def _db_cache_set(self, key: str, write: CacheWrite) -> CacheEntry: ...

    async def _db_cache_delete(self, key: str) -> None: ...

    async def _db_cache_cleanup(self, claim: IdempotencyClaim | None = None) -> int: ...


class DatabaseCache:
    """The cache in the main database, beside everything else (the store pings and closes it)."""

    kind: ClassVar[str] = "database"

    def __init__(self, database: DatabaseCommands) -> None:
        self._database = database

    async def get(self, key: str) -> CacheEntry:
        return await self._database._db_cache_get(key)

    async def set(self, key: str, write: CacheWrite) -> CacheEntry:
        return await self._database._db_cache_set(key, write)

    async def delete(self, key: str) -> None:
        await self._database._db_cache_delete(key)

    async def cleanup(self, claim: IdempotencyClaim | None = None) -> int:
        return await self._database._db_cache_cleanup(claim)

    async def ping(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def observe(self, telemetry: Telemetry) -> None:
        pass  # the database's own metrics cover it
