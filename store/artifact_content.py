"""Reading an artifact's stored bytes, whatever holds them.

A record and its blob are read one after the other, and a delete can come in
between: the record read says the artifact exists, then its blob is gone.
The artifact is then simply gone (NotFound, as if the delete had come first);
a blob missing while its record stays is damage (BlobMissing). A range is
opened before anything is sent, so the answer is known before the headers go
out; once open, it is read to the end even if the artifact is deleted meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import NoReturn

from vault.store.blobs import BlobStore
from vault.store.errors import BlobMissing

from vault.models import Artifact

ArtifactLookup = Callable[[str], Awaitable[Artifact]]


class ArtifactContent:
    """The bytes of one artifact: their sha256, their size, and any range of them."""

    def __init__(self, blobs: BlobStore, artifact: Artifact, size: int, lookup: ArtifactLookup) -> None:
        assert artifact.sha256 is not None
        self.sha256 = artifact.sha256
        self.size = size
        self._blobs = blobs
        self._artifact_id = artifact.id
        self._lookup = lookup

    @asynccontextmanager
    async def range(self, start: int, end: int) -> AsyncIterator[AsyncIterator[bytes]]:
        """`async with content.range(start, end) as chunks`: bytes `start` to `end` (exclusive)."""
        stream = self._blobs.read(self.sha256, start, end)
        try:
            try:
                first = await anext(stream, None)
            except BlobMissing:
                await _gone_or_damaged(self._lookup, self._artifact_id, self.sha256)
            yield _Chunks(first, stream)
        finally:
            await stream.aclose()


async def open_content(blobs: BlobStore, artifact: Artifact, lookup: ArtifactLookup) -> ArtifactContent:
    """The content of `artifact` (a record just read); NotFound if it was deleted since."""
    if artifact.sha256 is None:
        raise ValueError(f"artifact {artifact.id!r} has no stored content")
    try:
        size = await blobs.size(artifact.sha256)
    except BlobMissing:
        await _gone_or_damaged(lookup, artifact.id, artifact.sha256)
    return ArtifactContent(blobs, artifact, size, lookup)


async def _gone_or_damaged(lookup: ArtifactLookup, artifact_id: str, sha256: str) -> NoReturn:
    # Deleted between the read of its record and now: then it is simply gone.
    await lookup(artifact_id)
    raise BlobMissing(sha256) from None


class _Chunks:
    """The first chunk, read while opening, then the rest of the stream."""

    def __init__(self, first: bytes | None, rest: AsyncIterator[bytes]) -> None:
        self._first = first
        self._rest = rest if first is not None else None

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        if self._first is not None:
            chunk, self._first = self._first, None
            return chunk
        if self._rest is None:
            raise StopAsyncIteration
        return await anext(self._rest)
