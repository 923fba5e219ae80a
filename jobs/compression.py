"""Compression jobs: dictionaries trained from the service's own documents, and storage measured."""

from __future__ import annotations

from vault.store.interface import Store

from vault.models import StorageReport


async def train_dictionaries(store: Store) -> int:
    """Load dictionaries other instances trained; train one for each kind that is due; answer how many were."""
    return len(await store.train_dictionaries())


async def measure_storage(store: Store) -> StorageReport:
    """Measure what each kind of data takes, for /metrics (which never scans a table itself)."""
    return await store.measure_storage()
