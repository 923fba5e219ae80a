"""Blobs kept raw (written before packing, or while it was off), rewritten packed by `vault compress`.

For each raw blob, its bytes are read and packed into a new upload (hashed
again: bytes that are not what their name says are left as they are), the
packed copy is placed beside the raw one, and only then is the raw one
removed, by the store, ordered with the commits that claim and release the
blob. A crash at any point leaves the blob readable: raw alone, both forms
(the next run finishes it), or packed alone. A download already reading the
raw copy goes on (an open file, an S3 response in flight); one that starts
later reads the packed copy.
"""

from __future__ import annotations

from vault.store.blobs import BlobInfo, BlobStore, BlobUpload
from vault.store.errors import BlobMissing


async def stream_blob(source: BlobStore, sha256: str, upload: BlobUpload) -> BlobInfo:
    """Send every byte of a blob of `source` into `upload` and finish it; BlobMissing if the blob goes."""
    length = await source.size(sha256)
    stream = source.read(sha256, 0, length)
    try:
        async for chunk in stream:
            await upload.write(chunk)
    finally:
        await stream.aclose()
    return await upload.finish()


async def pack_beside(blobs: BlobStore, sha256: str) -> int | None:
    """Place a packed copy beside a raw blob and answer its size; None when packing would not pay or
    the blob is gone or damaged."""
    async with blobs.upload() as upload:
        try:
            info = await stream_blob(blobs, sha256, upload)
        except BlobMissing:
            return None
        if info.sha256 != sha256 or not upload.packed:
            return None
        return await upload.place(beside=True)
