"""Blob removals wait while a backup copies blobs.

A backup copies the database, then the blobs its copy references. A blob
released in between would be missing from the backup, so while a backup
holds the gate, releases are remembered instead of done, and done when the
last hold ends. A hold first waits for releases already under way. (If the
process dies meanwhile, the remembered blobs are orphans: the sweep job
removes them.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager


class ReleaseGate:
    def __init__(self) -> None:
        self._holds = 0
        self._releasing = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._deferred: set[str] = set()

    @asynccontextmanager
    async def releasing(self, sha256s: Iterable[str]) -> AsyncIterator[list[str]]:
        """Yield the blobs to remove now: all of them, or none while a backup holds the gate."""
        wanted = sorted(set(sha256s))
        if self._holds:
            self._deferred.update(wanted)
            yield []
            return
        self._releasing += 1
        self._idle.clear()
        try:
            yield wanted
        finally:
            self._releasing -= 1
            if not self._releasing:
                self._idle.set()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        self._holds += 1
        try:
            await self._idle.wait()
            yield
        finally:
            self._holds -= 1

    def take_deferred(self) -> list[str]:
        """The releases put off by holds, once no hold is left (else nothing)."""
        if self._holds:
            return []
        deferred, self._deferred = sorted(self._deferred), set()
        return deferred
