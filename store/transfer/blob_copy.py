"""Moving artifact bytes between blob stores (`vault copy --from file:///... --to s3://...`).

Every blob of the source that the target lacks is streamed across (memory
stays at a chunk or a part, whatever the size), hashed again on the way in
and placed only if its sha256 is its name: damaged bytes are reported, not
copied. Then the count check: every blob of the source is in the target.
A blob is read as sent and
kept by the target as its own packing says (packed where that pays, or raw),
so a copy between stores of different settings is what each expects.
The target may already hold blobs (a copy run again after a stop goes on
where it left off). Records are not touched: they name blobs by sha256,
which is the same in every store.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from attrs import frozen
from vault.store.blob_repacking import stream_blob
from vault.store.blobs import BlobStore

# (blobs done, blobs in all, bytes copied so far)
BlobProgress = Callable[[int, int, int], None]
PAGE = 1000


@frozen
class BlobCopyReport:
    source: str
    target: str
    blobs: int  # in the source
    copied: int  # sent across by this run
    already_there: int
    size: int  # bytes sent across
    in_target: int  # blobs of the source the target holds after the copy
    damaged: tuple[str, ...]  # blobs of the source whose bytes do not hash to their name
    seconds: float

    @property
    def ok(self) -> bool:
        return self.in_target == self.blobs and not self.damaged


async def copy_blobs(source: BlobStore, target: BlobStore, progress: BlobProgress | None = None) -> BlobCopyReport:
    started = time.monotonic()
    await asyncio.to_thread(source.open)
    await asyncio.to_thread(target.open)
    names = [sha256 async for page in source.stored_before(math.inf, PAGE) for sha256 in page]
    copied = already = size = 0
    damaged: list[str] = []
    for done, sha256 in enumerate(names, start=1):
        if await asyncio.to_thread(target.contains, sha256):
            already += 1
        elif await _copy_one(source, target, sha256):
            copied += 1
            size += await target.size(sha256)
        else:
            damaged.append(sha256)
        if progress is not None:
            progress(done, len(names), size)
    in_target = 0
    for sha256 in names:
        in_target += await asyncio.to_thread(target.contains, sha256)
    return BlobCopyReport(
        source.location,
        target.location,
        len(names),
        copied,
        already,
        size,
        in_target,
        tuple(damaged),
        time.monotonic() - started,
    )


async def _copy_one(source: BlobStore, target: BlobStore, sha256: str) -> bool:
    """Stream one blob across; False (nothing placed) if its bytes are not what its name says."""
    async with target.upload() as upload:
        info = await stream_blob(source, sha256, upload)
        if info.sha256 != sha256:
            return False
        await upload.place()
    return True
