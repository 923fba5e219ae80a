"""The orphan sweep: artifact bytes no record claims, left by a crash or a failed release."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from itertools import islice

from attrs import frozen
from vault.store.interface import Store

# An upload places its blob just before the record that claims it commits;
# an hour leaves any upload in flight far behind.
ORPHAN_AGE_SECONDS = 3600
CHUNK = 1000


@frozen
class OrphanSweep:
    blobs: int
    partials: int


def _next_chunk(blobs: Iterator[str]) -> list[str]:
    return list(islice(blobs, CHUNK))


async def sweep_orphan_blobs(store: Store, max_age_seconds: float = ORPHAN_AGE_SECONDS) -> OrphanSweep:
    """Remove blobs and partial uploads older than `max_age_seconds` that no artifact claims."""
    cutoff = time.time() - max_age_seconds
    partials = await asyncio.to_thread(store.blobs.remove_partials_before, cutoff)
    candidates = store.blobs.stored_before(cutoff)
    removed = 0
    while chunk := await asyncio.to_thread(_next_chunk, candidates):
        claimed = await store.referenced_blobs(chunk)
        unclaimed = [sha256 for sha256 in chunk if sha256 not in claimed]
        if unclaimed:
            # release_blobs checks again, in order with new records: one may claim a blob meanwhile.
            removed += await store.release_blobs(unclaimed)
    return OrphanSweep(removed, partials)
