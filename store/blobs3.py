"""The blob store on S3 (or any S3-compatible store).

Layout under the bucket's prefix:

    blobs/<sha256>              one object per distinct content, as sent
    blobs/<sha256>.zst          or packed (vault.store.blob_packing)
    uploads/<start>-<random>    uploads in progress (a multipart upload, or its completed object)

An upload's sha256 is known only at its end, so its bytes go to a temporary
key first: a multipart upload of parts of PART_BYTES (one part in memory at a
time), completed at the temporary key and then copied server-side to its blob
key; content smaller than one part is kept in memory and put under its blob
key in one PUT. S3 makes an object visible only whole, so a blob key only ever
names complete bytes. The temporary object and any unfinished multipart upload
go when the upload ends; after a crash, the orphan sweep (`remove_partials_before`)
aborts and deletes what is older than its cutoff.

`contains` and `remove` are not async (the port's ordered methods): they use
a botocore client of their own, one request each, bounded by the short
timeouts of vault.store.s3_calls. Called under the blob's lock (SQLite's
blob_locks, a PostgreSQL advisory lock), on a thread, they keep the crash
guarantee across processes sharing the bucket without holding up any other
write.

A packed blob's range is two GETs: the object's last bytes (its seek table;
a suffix range, so no HEAD first) and then just the frames the range touches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from aiobotocore.session import get_session as get_async_session
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.session import get_session as get_sync_session
from vault.store.blob_packing import (
    PACKED_SUFFIX,
    TAIL_BYTES,
    DamagedTable,
    SeekTable,
    parse_table,
    table_length,
    unpacked,
)
from vault.store.blobs import ExportResult, blob_file_name, is_sha256
from vault.store.blobs3_files import export_blobs, import_blobs
from vault.store.blobs3_upload import PART_BYTES, S3Upload
from vault.store.errors import BlobMissing, StoreUnavailable
from vault.store.s3_calls import REFUSED_CODES, S3Calls, S3Location, client_config, error_code, is_absent

from vault.telemetry import Telemetry

log = logging.getLogger(__name__)

READ_CHUNK_BYTES = 1024 * 1024
BLOBS = "blobs/"
UPLOADS = "uploads/"
# CopyObject copies up to 5 GiB; a larger blob is copied in parts of COPY_PART_BYTES.
COPY_LIMIT_BYTES = 5 * 1024**3
COPY_PART_BYTES = 1024**3
# Files of an exported folder larger than this go back up as multipart uploads.
IMPORT_PART_BYTES = 64 * 1024 * 1024
LIST_PAGE = 1000


async def _pages(names: AsyncIterator[str], page: int) -> AsyncIterator[list[str]]:
    found: list[str] = []
    async for name in names:
        found.append(name)
        if len(found) >= page:
            yield found
            found = []
    if found:
        yield found


class S3BlobStore:
    kind: ClassVar[str] = "s3"

    def __init__(
        self,
        url: str,
        *,
        part_bytes: int = PART_BYTES,
        copy_limit_bytes: int = COPY_LIMIT_BYTES,
        packing: bool = True,
    ) -> None:
        self.where = S3Location.from_url(url)
        # Whether uploads are packed where that pays (VAULT_COMPRESSION); packed blobs are read either way.
        self.packing = packing
        self.location = self.where.url
        self.calls = S3Calls(self.where)
        self.part_bytes = part_bytes
        self._copy_limit = copy_limit_bytes
        self._sync: Any = None
        self._sync_lock = threading.Lock()
        self._client: Any = None
        self._client_context: Any = None
        self._client_lock: asyncio.Lock | None = None
        # Clean-ups of ended uploads, kept referenced until they finish (a cancelled request starts them).
        self.cleanups: set[asyncio.Task] = set()

    # -- keys

    def blob_key(self, sha256: str) -> str:
        if not is_sha256(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.where.key(BLOBS + sha256)

    def form_key(self, sha256: str, packed: bool) -> str:
        return self.blob_key(sha256) + (PACKED_SUFFIX if packed else "")

    def temporary_key(self) -> str:
        # The start time is in the name: the sweep goes by this process's clock, not by the
        # store's (whose `Initiated` some S3-compatible stores do not keep).
        return self.where.key(f"{UPLOADS}{time.time():.0f}-{uuid.uuid4().hex}")

    def _started(self, key: str, stored: datetime) -> float:
        name = key[len(self.where.key(UPLOADS)) :]
        started, _, rest = name.partition("-")
        if started.isdigit() and rest:
            return float(started)
        return stored.timestamp()

    # -- clients

    def _sync_client(self) -> Any:
        with self._sync_lock:
            if self._sync is None:
                with self.calls.reaching("connect"):
                    self._sync = get_sync_session().create_client("s3", config=client_config())
            return self._sync

    async def client(self) -> Any:
        """The async client, made at its first use on the running loop."""
        if self._client_lock is None:
            self._client_lock = asyncio.Lock()
        async with self._client_lock:
            if self._client is None:
                with self.calls.reaching("connect"):
                    context = get_async_session().create_client("s3", config=client_config())
                    self._client = await context.__aenter__()
                self._client_context = context
        return self._client

    def observe(self, telemetry: Telemetry) -> None:
        self.calls.observer = telemetry.observe_s3

    async def close(self) -> None:
        if self.cleanups:
            await asyncio.gather(*self.cleanups, return_exceptions=True)
        if self._client_context is not None:
            context, self._client_context, self._client = self._client_context, None, None
            await context.__aexit__(None, None, None)
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    # -- the port

    def open(self) -> None:
        """Make the bucket if it is missing; an S3 that does not answer is only logged (the service starts)."""
        client = self._sync_client()
        try:
            try:
                with self.calls.reaching("open"):
                    client.head_bucket(Bucket=self.where.bucket)
            except ClientError as exc:
                if not is_absent(exc):
                    raise
                with self.calls.reaching("open"):
                    client.create_bucket(Bucket=self.where.bucket, **self._bucket_place(client))
                log.info("created the bucket %s", self.where.bucket)
        except NoCredentialsError as exc:
            raise OSError(f"no AWS credentials for {self.location}: {exc}") from exc
        except StoreUnavailable as exc:
            if error_code(exc.__cause__ or exc) in REFUSED_CODES:
                raise OSError(str(exc)) from exc
            log.warning("%s; artifact content answers 503 until it does", exc)

    @staticmethod
    def _bucket_place(client: Any) -> dict[str, Any]:
        region = client.meta.region_name
        if region in (None, "", "us-east-1", "aws-global"):
            return {}
        return {"CreateBucketConfiguration": {"LocationConstraint": region}}

    async def ping(self) -> None:
        client = await self.client()
        try:
            with self.calls.reaching("ping"):
                await client.head_bucket(Bucket=self.where.bucket)
        except ClientError as exc:
            raise StoreUnavailable(f"the S3 store {self.location} has no bucket {self.where.bucket}") from exc

    def upload(self, limit: int | None = None) -> S3Upload:
        return S3Upload(self, limit)

    def _has(self, key: str) -> bool:
        try:
            with self.calls.reaching("head"):
                self._sync_client().head_object(Bucket=self.where.bucket, Key=key)
        except ClientError as exc:
            if is_absent(exc):
                return False
            raise
        return True

    def _delete(self, key: str) -> None:
        with self.calls.reaching("delete"):
            self._sync_client().delete_object(Bucket=self.where.bucket, Key=key)

    def contains(self, sha256: str) -> bool:
        return self._has(self.form_key(sha256, True)) or self._has(self.form_key(sha256, False))

    def remove(self, sha256: str) -> bool:
        # DELETE answers alike whether the key was there or not: HEAD first, for the answer.
        removed = False
        for packed in (True, False):
            key = self.form_key(sha256, packed)
            if self._has(key):
                self._delete(key)
                removed = True
        return removed

    async def remove_damaged(self, sha256: str, packed: bool, size: int) -> None:
        """Delete the blob's form if it is there but does not hold `size` bytes as sent (it would be read first)."""
        if await self.kept_size(sha256, packed, size) is not None or not await asyncio.to_thread(
            self._has, self.form_key(sha256, packed)
        ):
            return
        client = await self.client()
        with self.calls.reaching("delete"):
            await client.delete_object(Bucket=self.where.bucket, Key=self.form_key(sha256, packed))

    def drop_raw(self, sha256: str) -> bool:
        raw = self.form_key(sha256, False)
        if not (self._has(self.form_key(sha256, True)) and self._has(raw)):
            return False
        self._delete(raw)
        return True

    async def size(self, sha256: str) -> int:
        table = await self._seek_table(sha256)
        if table is not None:
            return table.raw_size
        return await self._raw_size(self.blob_key(sha256), sha256)

    async def _raw_size(self, key: str, sha256: str) -> int:
        client = await self.client()
        try:
            with self.calls.reaching("head"):
                answer = await client.head_object(Bucket=self.where.bucket, Key=key)
        except ClientError as exc:
            raise BlobMissing(sha256) from exc
        return int(answer["ContentLength"])

    async def _seek_table(self, sha256: str) -> SeekTable | None:
        """The packed blob's seek table; None if the blob has no packed form; BlobMissing if it is damaged."""
        key = self.form_key(sha256, True)
        try:
            tail, stored = await self._tail(key, f"bytes=-{TAIL_BYTES}")
        except ClientError as exc:
            if is_absent(exc):
                return None
            raise BlobMissing(sha256) from exc
        try:
            length = table_length(tail)
            if length > len(tail) and length <= stored:
                tail, _ = await self._tail(key, f"bytes={stored - length}-{stored - 1}")
            return parse_table(tail, stored)
        except (DamagedTable, ClientError):
            raise BlobMissing(sha256) from None

    async def _tail(self, key: str, byte_range: str) -> tuple[bytes, int]:
        """A range of an object and the object's whole size."""
        client = await self.client()
        with self.calls.reaching("get"):
            answer = await client.get_object(Bucket=self.where.bucket, Key=key, Range=byte_range)
            body = answer["Body"]
            try:
                data = await body.read()
            finally:
                body.close()
        whole = answer.get("ContentRange", "").rpartition("/")[2]
        return data, int(whole) if whole.isdigit() else len(data)

    async def kept_size(self, sha256: str, packed: bool, size: int) -> int | None:
        """The stored size of the blob's form, if that form is there and holds `size` bytes as sent."""
        if packed:
            try:
                table = await self._seek_table(sha256)
            except BlobMissing:
                return None
            return table.stored_size if table is not None and table.raw_size == size else None
        try:
            stored = await self._raw_size(self.form_key(sha256, False), sha256)
        except BlobMissing:
            return None
        return stored if stored == size else None

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        table = await self._seek_table(sha256)
        if table is None:
            async for chunk in self._span(self.blob_key(sha256), sha256, start, end):
                yield chunk
            return
        if end > table.raw_size:
            raise BlobMissing(sha256)
        key = self.form_key(sha256, True)
        try:
            async for chunk in unpacked(lambda first, last: self._span(key, sha256, first, last), table, start, end):
                yield chunk
        except DamagedTable:
            raise BlobMissing(sha256) from None

    async def _span(self, key: str, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        if end <= start:
            await self._raw_size(key, sha256)  # nothing to read, but BlobMissing if there is no blob
            return
        client = await self.client()
        try:
            with self.calls.reaching("get"):
                answer = await client.get_object(Bucket=self.where.bucket, Key=key, Range=f"bytes={start}-{end - 1}")
        except ClientError as exc:
            raise BlobMissing(sha256) from exc  # not there, or shorter than `start`
        # From here the response holds the bytes, even if the object is deleted meanwhile.
        body = answer["Body"]
        try:
            if int(answer["ContentLength"]) < end - start:
                raise BlobMissing(sha256)  # shorter than its size: damaged
            left = end - start
            while left > 0:
                with self.calls.reaching("get", timed=False):
                    chunk = await body.read(min(READ_CHUNK_BYTES, left))
                if not chunk:
                    raise BlobMissing(sha256)
                left -= len(chunk)
                yield chunk
        finally:
            body.close()

    async def _listed(self, folder: str) -> AsyncIterator[dict[str, Any]]:
        client = await self.client()
        token: dict[str, str] = {}
        while True:
            with self.calls.reaching("list"):
                answer = await client.list_objects_v2(
                    Bucket=self.where.bucket, Prefix=self.where.key(folder), MaxKeys=LIST_PAGE, **token
                )
            for item in answer.get("Contents", ()):
                yield item
            if not answer.get("IsTruncated"):
                return
            token = {"ContinuationToken": answer["NextContinuationToken"]}

    async def _blob_objects(self) -> AsyncIterator[tuple[str, dict[bool, float]]]:
        """Each blob with its forms (packed or not) and each form's last write; a blob's keys are listed together."""
        skip = len(self.where.key(BLOBS))
        current: str | None = None
        forms: dict[bool, float] = {}
        async for item in self._listed(BLOBS):
            named = blob_file_name(item["Key"][skip:])
            if named is None:
                continue
            if named[0] != current:
                if current is not None:
                    yield current, forms
                current, forms = named[0], {}
            forms[named[1]] = item["LastModified"].timestamp()
        if current is not None:
            yield current, forms

    async def stored_before(self, cutoff: float, page: int) -> AsyncIterator[list[str]]:
        names = (sha256 async for sha256, forms in self._blob_objects() if max(forms.values()) < cutoff)
        async for found in _pages(names, page):
            yield found

    async def raw_blobs(self, page: int) -> AsyncIterator[list[str]]:
        names = (sha256 async for sha256, forms in self._blob_objects() if False in forms)
        async for found in _pages(names, page):
            yield found

    async def remove_partials_before(self, cutoff: float) -> int:
        client = await self.client()
        removed = 0
        async for item in self._listed(UPLOADS):
            if self._started(item["Key"], item["LastModified"]) < cutoff:
                with self.calls.reaching("delete"):
                    await client.delete_object(Bucket=self.where.bucket, Key=item["Key"])
                removed += 1
        async for upload in self._multipart_uploads():
            if self._started(upload["Key"], upload["Initiated"]) < cutoff:
                await self.abort(upload["Key"], upload["UploadId"])
                removed += 1
        return removed

    async def _multipart_uploads(self) -> AsyncIterator[dict[str, Any]]:
        client = await self.client()
        markers: dict[str, str] = {}
        while True:
            with self.calls.reaching("list_uploads"):
                answer = await client.list_multipart_uploads(
                    Bucket=self.where.bucket, Prefix=self.where.key(UPLOADS), **markers
                )
            for upload in answer.get("Uploads", ()):
                yield upload
            if not answer.get("IsTruncated"):
                return
            markers = {"KeyMarker": answer["NextKeyMarker"], "UploadIdMarker": answer["NextUploadIdMarker"]}

    async def abort(self, key: str, upload_id: str) -> None:
        client = await self.client()
        with contextlib.suppress(ClientError), self.calls.reaching("abort"):
            await client.abort_multipart_upload(Bucket=self.where.bucket, Key=key, UploadId=upload_id)

    async def copy_into_place(self, source_key: str, target: str, size: int) -> None:
        """Copy a completed temporary object to its blob key, server-side."""
        client = await self.client()
        source = {"Bucket": self.where.bucket, "Key": source_key}
        if size <= self._copy_limit:
            with self.calls.reaching("copy"):
                await client.copy_object(Bucket=self.where.bucket, Key=target, CopySource=source)
            return
        with self.calls.reaching("create_multipart_upload"):
            started = await client.create_multipart_upload(Bucket=self.where.bucket, Key=target)
        upload_id = started["UploadId"]
        try:
            parts = []
            for number, first in enumerate(range(0, size, COPY_PART_BYTES), start=1):
                last = min(first + COPY_PART_BYTES, size) - 1
                with self.calls.reaching("copy"):
                    copied = await client.upload_part_copy(
                        Bucket=self.where.bucket,
                        Key=target,
                        UploadId=upload_id,
                        PartNumber=number,
                        CopySource=source,
                        CopySourceRange=f"bytes={first}-{last}",
                    )
                parts.append({"ETag": copied["CopyPartResult"]["ETag"], "PartNumber": number})
            with self.calls.reaching("complete_multipart_upload"):
                await client.complete_multipart_upload(
                    Bucket=self.where.bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            await asyncio.shield(self.abort(target, upload_id))
            raise

    # -- backups (on a thread of their own)

    def export(self, sha256s: Iterable[str], folder: Path) -> ExportResult:
        return export_blobs(self, self._sync_client(), sha256s, folder)

    def import_from(self, folder: Path) -> int:
        return import_blobs(self, self._sync_client(), folder)
