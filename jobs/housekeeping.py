"""Expiry jobs: cache entries past their TTL, idempotency keys and change feed events past their age."""

from __future__ import annotations

from datetime import timedelta

from vault.store.interface import Store

from vault import clock


async def sweep_cache(store: Store) -> int:
    """Delete expired cache entries (in bounded chunks); return how many."""
    return await store.cache_cleanup()


async def expire_idempotency_keys(store: Store, max_age_hours: int) -> int:
    cutoff = clock.format_time(clock.now() - timedelta(hours=max_age_hours))
    return await store.prune_idempotency_keys(cutoff)


async def expire_events(store: Store, max_age_hours: int) -> int:
    """Delete the change feed's events past their age. A client resuming from one of them gets 410."""
    cutoff = clock.format_time(clock.now() - timedelta(hours=max_age_hours))
    return await store.prune_events(cutoff)
