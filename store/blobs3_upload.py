"""One upload to the S3 blob store: streamed in parts, hashed, then placed under its sha256.

At most one part is held in memory (PART_BYTES, plus a chunk of raw bytes
waiting to be packed), whatever the size. Hashing and packing run on a thread
a chunk at a time, so the loop stays free. Past the limit, ContentTooLarge; the context's exit then
aborts the multipart upload, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any

from vault.store.blob_packing import CHUNK_BYTES, Packer
from vault.store.blobs import BlobInfo
from vault.store.errors import ContentTooLarge, StoreError

if TYPE_CHECKING:
    from vault.store.blobs3 import S3BlobStore

log = logging.getLogger(__name__)

# S3 takes parts of 5 MiB or more (but the last); 8 MiB keeps requests few and memory small.
PART_BYTES = 8 * 1024 * 1024


class S3Upload:
    def __init__(self, store: S3BlobStore, limit: int | None) -> None:
        self._store = store
        self._limit = limit
        self._bucket = store.where.bucket
        self._temporary_key = store.temporary_key()
        self._hash = hashlib.sha256()
        self._packer = Packer(store.packing)
        # Raw bytes not yet hashed and packed; then the bytes to keep, until a part is full.
        self._raw = bytearray()
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._temporary_written = False
        # Content smaller than a part: kept here until the upload ends and put in one PUT.
        self._small: bytes | None = None
        self.size = 0
        self.info: BlobInfo | None = None
        self.packed: bool | None = None

    async def __aenter__(self) -> S3Upload:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        # Shielded: a cancelled request still aborts its multipart upload and deletes its
        # temporary object (and if even that is cut short, the orphan sweep does it later).
        cleanup = asyncio.ensure_future(self._discard_quietly())
        self._store.cleanups.add(cleanup)
        cleanup.add_done_callback(self._store.cleanups.discard)
        await asyncio.shield(cleanup)

    async def write(self, chunk: bytes) -> None:
        if self.info is not None:
            raise RuntimeError("the upload is finished")
        if self._limit is not None and self.size + len(chunk) > self._limit:
            raise ContentTooLarge(self._limit)
        self.size += len(chunk)
        self._raw += chunk
        if len(self._raw) >= CHUNK_BYTES:
            await self._pack(last=False)
            if len(self._buffer) >= self._store.part_bytes:
                await self._send_part()

    async def _pack(self, last: bool) -> None:
        raw, self._raw = bytes(self._raw), bytearray()
        # hashlib and zstd release the GIL for large inputs: a thread keeps the loop free.
        self._buffer += await asyncio.to_thread(self._hash_and_pack, raw, last)

    def _hash_and_pack(self, raw: bytes, last: bool) -> bytes:
        self._hash.update(raw)
        kept = self._packer.feed(raw)
        return kept + self._packer.end() if last else kept

    def _take_buffer(self) -> bytes:
        data, self._buffer = bytes(self._buffer), bytearray()
        return data

    async def _send_part(self) -> None:
        data = self._take_buffer()
        client = await self._store.client()
        calls = self._store.calls
        if self._upload_id is None:
            with calls.reaching("create_multipart_upload"):
                started = await client.create_multipart_upload(Bucket=self._bucket, Key=self._temporary_key)
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        with calls.reaching("upload_part"):
            sent = await client.upload_part(
                Bucket=self._bucket, Key=self._temporary_key, UploadId=self._upload_id, PartNumber=number, Body=data
            )
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})

    async def finish(self) -> BlobInfo:
        if self.info is None:
            await self._pack(last=True)
            self.packed = self._packer.packed
            if self._upload_id is None:
                self._small = self._take_buffer()
            else:
                if self._buffer:
                    await self._send_part()
                client = await self._store.client()
                with self._store.calls.reaching("complete_multipart_upload"):
                    await client.complete_multipart_upload(
                        Bucket=self._bucket,
                        Key=self._temporary_key,
                        UploadId=self._upload_id,
                        MultipartUpload={"Parts": self._parts},
                    )
                self._upload_id = None
                self._temporary_written = True
            self.info = BlobInfo(self._hash.hexdigest(), self.size)
        return self.info

    async def place(self, beside: bool = False) -> int:
        info = await self.finish()
        assert self.packed is not None
        store = self._store
        forms = (self.packed,) if beside else (self.packed, not self.packed)
        for packed in forms:
            # The same bytes there already, in either form: one blob per distinct content.
            kept = await store.kept_size(info.sha256, packed, info.size)
            if kept is not None:
                return kept
        # Whatever is left under the blob's key is damage, not content: the true bytes go over it.
        target = store.form_key(info.sha256, self.packed)
        if self._small is not None:
            client = await store.client()
            with store.calls.reaching("put"):
                await client.put_object(Bucket=self._bucket, Key=target, Body=self._small)
        else:
            await store.copy_into_place(self._temporary_key, target, self._packer.stored_size)
        if not beside:
            # A damaged copy in the other form would be read first, or stay behind.
            await store.remove_damaged(info.sha256, not self.packed, info.size)
        return self._packer.stored_size

    async def _discard_quietly(self) -> None:
        try:
            await self.discard()
        except StoreError as exc:
            # The upload's own outcome stands; what is left behind is the orphan sweep's.
            log.info("an upload's temporary copy is not removed yet (the orphan sweep will): %s", exc)

    async def discard(self) -> None:
        self._small = None
        self._raw = bytearray()
        self._buffer = bytearray()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            await self._store.abort(self._temporary_key, upload_id)
        if self._temporary_written:
            self._temporary_written = False
            client = await self._store.client()
            with self._store.calls.reaching("delete"):
                await client.delete_object(Bucket=self._bucket, Key=self._temporary_key)
