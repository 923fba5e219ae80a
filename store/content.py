"""What every backend does around artifact bytes, whatever its database.

A backend supplies two commands ordered with each other by its database:
"commit this record if its blob is present" (BlobMissing otherwise) and
"remove these blobs that no record references". This keeper places uploads,
retries a commit whose blob was released meanwhile, releases what a failed
or replayed commit left unclaimed, and holds releases while a backup copies
blobs (vault.store.blob_gate).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TypeVar

from attrs import evolve
from vault.store import errors
from vault.store.blob_gate import ReleaseGate
from vault.store.blobs import BlobInfo, BlobStore, BlobUpload

log = logging.getLogger(__name__)
T = TypeVar("T")

# A commit finds its blob gone only if a release of the same bytes ran in
# between; three of those in a row means something else removes blobs.
PLACE_ATTEMPTS = 3
RELEASE_CHUNK = 500


class ContentKeeper:
    def __init__(self, blobs: BlobStore, remove_unclaimed: Callable[[list[str]], Awaitable[int]]) -> None:
        self.blobs = blobs
        self._remove_unclaimed = remove_unclaimed
        self._gate = ReleaseGate()

    async def commit_with(self, upload: BlobUpload, commit: Callable[[BlobInfo], Awaitable[T]]) -> T:
        """Place the upload's blob and run `commit` (which claims it), placing again if it went missing."""
        info = await upload.finish()
        for _ in range(PLACE_ATTEMPTS):
            # The size it is kept in: this upload's, or that of the same bytes already there.
            info = evolve(info, stored_size=await upload.place())
            try:
                return await commit(info)
            except errors.BlobMissing:
                continue
            except Exception:
                await self.release_quietly([info.sha256])
                raise
        raise errors.StoreUnavailable("the artifact content could not be kept: its blob keeps disappearing")

    async def release(self, sha256s: Iterable[str]) -> int:
        """Remove the blobs no record references (later, if a backup holds the gate)."""
        removed = 0
        async with self._gate.releasing(sha256s) as now:
            for start in range(0, len(now), RELEASE_CHUNK):
                removed += await self._remove_unclaimed(now[start : start + RELEASE_CHUNK])
        return removed

    async def release_quietly(self, sha256s: Iterable[str]) -> None:
        """Release after the fact: a failure only leaves an orphan for the sweep job."""
        try:
            await self.release(sha256s)
        except errors.StoreError as exc:
            log.info("artifact content not released yet (the orphan sweep will): %s", exc)

    @asynccontextmanager
    async def releases_held(self) -> AsyncIterator[None]:
        """No blob is removed inside; what was released meanwhile is removed after."""
        async with self._gate.held():
            yield
        deferred = self._gate.take_deferred()
        if deferred:
            await self.release_quietly(deferred)
