"""The orphan sweep job: artifact bytes no record claims, left by a crash or a failed release."""

from __future__ import annotations

import time

from vault.store.interface import Store
from vault.store.orphans import OrphanSweep

# An upload places its blob just before the record that claims it commits;
# an hour leaves any upload in flight far behind.
ORPHAN_AGE_SECONDS = 3600

__all__ = ["ORPHAN_AGE_SECONDS", "OrphanSweep", "sweep_orphan_blobs"]


async def sweep_orphan_blobs(store: Store, max_age_seconds: float = ORPHAN_AGE_SECONDS) -> OrphanSweep:
    """Remove blobs and partial uploads older than `max_age_seconds` that no artifact claims."""
    return await store.sweep_orphans(time.time() - max_age_seconds)
