"""The orphan sweep: artifact bytes no record claims, left by a crash or a failed release."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from attrs import frozen
from vault.store.blobs import BlobStore

PAGE = 1000


@frozen
class OrphanSweep:
    blobs: int
    partials: int


async def sweep_orphans(
    blobs: BlobStore,
    referenced: Callable[[list[str]], Awaitable[set[str]]],
    release: Callable[[list[str]], Awaitable[int]],
    cutoff: float,
) -> OrphanSweep:
    """Remove partial uploads, and blobs no record claims, last written before `cutoff`."""
    partials = await blobs.remove_partials_before(cutoff)
    removed = 0
    async for page in blobs.stored_before(cutoff, PAGE):
        claimed = await referenced(page)
        unclaimed = [sha256 for sha256 in page if sha256 not in claimed]
        if unclaimed:
            # The release checks again, in order with new records: one may claim a blob meanwhile.
            removed += await release(unclaimed)
    return OrphanSweep(removed, partials)
