"""The store's cache and state methods, the same for every backend: each goes through its port.

Also what every port shares: its name in /health, its ping in /ready, its metrics, its close.

A backend mixes this in and calls `_use_ports(cache, state)` when built;
without adapters, the cache and state stay in its own database (its `_db_*`
commands). Contracts: vault.store.interface.Store.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from vault.store.blobs import BlobStore
from vault.store.cache_port import CacheStore, DatabaseCache
from vault.store.errors import StoreUnavailable
from vault.store.interface import IdempotencyClaim
from vault.store.state_port import DatabaseState, SessionScopedState, StateStore

from vault.inputs import CacheWrite
from vault.models import CacheEntry, Session, State
from vault.telemetry import Telemetry

log = logging.getLogger(__name__)


class PortOperations:
    backend: str
    _blobs: BlobStore
    _cache: CacheStore
    _state: StateStore

    def _use_ports(self, cache: CacheStore | None, state: StateStore | None) -> None:
        self._cache = cache if cache is not None else DatabaseCache(self)
        # Only the database checks sessions by itself; another adapter is told about them.
        self._state = SessionScopedState(state, self.get_session) if state is not None else DatabaseState(self)

    async def get_session(self, session_id: str) -> Session:
        raise NotImplementedError  # provided by the backend

    async def _count_once(self, claim: IdempotencyClaim | None, work: Callable[[], Awaitable[int]]) -> int:
        raise NotImplementedError  # provided by the backend: claims live in the main database

    @property
    def backends(self) -> dict[str, str]:
        """Where each kind of data lives, as /health reports it."""
        return {
            "database": self.backend,
            "cache": self._cache.kind,
            "state": self._state.kind,
            "artifacts": self._blobs.kind,
        }

    async def _ping_ports(self) -> None:
        await self._cache.ping()
        await self._state.ping()
        await self._blobs.ping()

    def _observe_ports(self, telemetry: Telemetry) -> None:
        self._cache.observe(telemetry)
        self._state.observe(telemetry)
        self._blobs.observe(telemetry)

    async def _close_ports(self) -> None:
        try:
            await self._cache.close()
            await self._state.close()
        finally:
            await self._blobs.close()

    # -- cache

    async def cache_get(self, key: str) -> CacheEntry:
        return await self._cache.get(key)

    async def cache_set(self, key: str, write: CacheWrite) -> CacheEntry:
        return await self._cache.set(key, write)

    async def cache_delete(self, key: str) -> None:
        await self._cache.delete(key)

    async def cache_cleanup(self, claim: IdempotencyClaim | None = None) -> int:
        if isinstance(self._cache, DatabaseCache):
            return await self._cache.cleanup(claim)
        # The cache lives elsewhere; its claim is recorded here, in the main database.
        return await self._count_once(claim, self._cache.cleanup)

    # -- state

    async def get_state(self, session_id: str) -> State:
        return await self._state.get(session_id)

    async def put_state(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        return await self._state.put(session_id, data, if_match)

    async def patch_state(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        return await self._state.patch(session_id, patch, if_match)

    async def delete_state(self, session_id: str, if_match: int | None) -> State:
        return await self._state.delete(session_id, if_match)

    async def _forget_state(self, session_id: str) -> None:
        """Called once the session's delete has committed: drop its state where the adapter keeps it.

        The delete is done and answered as done even when this fails: the state
        left behind can never be read (SessionScopedState checks the session first).
        """
        try:
            await self._state.forget(session_id)
        except StoreUnavailable as exc:
            log.warning("session %s is deleted; its state stays behind, unreadable: %s", session_id, exc)
