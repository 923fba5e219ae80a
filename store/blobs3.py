"""The blob store on S3 (or any S3-compatible store).

Layout under the bucket's prefix:

    blobs/<sha256>              one object per distinct content
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
from vault.store.blobs import ExportResult, is_sha256
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


class S3BlobStore:
    kind: ClassVar[str] = "s3"

    def __init__(self, url: str, *, part_bytes: int = PART_BYTES, copy_limit_bytes: int = COPY_LIMIT_BYTES) -> None:
        self.where = S3Location.from_url(url)
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

    def contains(self, sha256: str) -> bool:
        client = self._sync_client()
        try:
            with self.calls.reaching("head"):
                client.head_object(Bucket=self.where.bucket, Key=self.blob_key(sha256))
        except ClientError as exc:
            if is_absent(exc):
                return False
            raise
        return True

    def remove(self, sha256: str) -> bool:
        # DELETE answers alike whether the key was there or not: HEAD first, for the answer.
        if not self.contains(sha256):
            return False
        with self.calls.reaching("delete"):
            self._sync_client().delete_object(Bucket=self.where.bucket, Key=self.blob_key(sha256))
        return True

    async def size(self, sha256: str) -> int:
        client = await self.client()
        try:
            with self.calls.reaching("head"):
                answer = await client.head_object(Bucket=self.where.bucket, Key=self.blob_key(sha256))
        except ClientError as exc:
            raise BlobMissing(sha256) from exc
        return int(answer["ContentLength"])

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        if end <= start:
            await self.size(sha256)  # nothing to read, but BlobMissing if there is no blob
            return
        client = await self.client()
        try:
            with self.calls.reaching("get"):
                answer = await client.get_object(
                    Bucket=self.where.bucket, Key=self.blob_key(sha256), Range=f"bytes={start}-{end - 1}"
                )
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

    async def stored_before(self, cutoff: float, page: int) -> AsyncIterator[list[str]]:
        names: list[str] = []
        skip = len(self.where.key(BLOBS))
        async for item in self._listed(BLOBS):
            name = item["Key"][skip:]
            if is_sha256(name) and item["LastModified"].timestamp() < cutoff:
                names.append(name)
                if len(names) >= page:
                    yield names
                    names = []
        if names:
            yield names

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

    async def copy_into_place(self, source_key: str, sha256: str, size: int) -> None:
        """Copy a completed temporary object to its blob key, server-side."""
        client = await self.client()
        target = self.blob_key(sha256)
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
