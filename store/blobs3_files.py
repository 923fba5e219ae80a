"""Blobs between the S3 blob store and a local folder (backups): export and import.

Both run on a thread of their own with the store's botocore client, a blob at
a time, streamed: memory stays at a chunk or a part whatever the size. An
exported file is written beside its name, fsynced, then renamed, so a folder
never holds a partial blob under a sha256. An imported file is put straight
under its blob key (its name is its sha256): S3 shows an object only whole.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from vault.store.blobfs import exported_blobs, fsync_dir
from vault.store.blobs import ExportResult

if TYPE_CHECKING:
    from vault.store.blobs3 import S3BlobStore

CHUNK_BYTES = 1024 * 1024
# Files larger than this go up as a multipart upload (PutObject stops at 5 GiB).
SINGLE_PUT_BYTES = 64 * 1024 * 1024
PART_BYTES = 64 * 1024 * 1024


def export_blobs(store: S3BlobStore, client: Any, sha256s: Iterable[str], folder: Path) -> ExportResult:
    copied = size = 0
    missing = []
    touched: set[Path] = set()
    for sha256 in sha256s:
        # As kept: a packed blob goes into the folder packed, under its packed name.
        shard = folder / sha256[:2]
        shard.mkdir(parents=True, exist_ok=True)
        touched.add(shard)
        for packed in (True, False):
            key = store.form_key(sha256, packed)
            try:
                size += _download(store, client, key, shard / key.rpartition("/")[2])
                break
            except ClientError:
                continue
        else:
            missing.append(sha256)
            continue
        copied += 1
    for shard in touched:
        fsync_dir(shard)
    if folder.is_dir():
        fsync_dir(folder)
    return ExportResult(copied, size, tuple(missing))


def _download(store: S3BlobStore, client: Any, key: str, target: Path) -> int:
    """The object's bytes into `target`, durably; its size. ClientError (404) if it is not there."""
    with store.calls.reaching("get"):
        answer = client.get_object(Bucket=store.where.bucket, Key=key)
    staged = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    body = answer["Body"]
    try:
        with staged.open("wb") as writer, store.calls.reaching("get", timed=False):
            shutil.copyfileobj(body, writer, CHUNK_BYTES)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(staged, target)
    finally:
        body.close()
        staged.unlink(missing_ok=True)
    return target.stat().st_size


def import_blobs(store: S3BlobStore, client: Any, folder: Path) -> int:
    imported = 0
    for sha256, packed, file in exported_blobs(folder):
        if not store.contains(sha256):
            _upload(store, client, file, store.form_key(sha256, packed))
            imported += 1
    return imported


def _upload(store: S3BlobStore, client: Any, path: Path, key: str) -> None:
    bucket = store.where.bucket
    size = path.stat().st_size
    with path.open("rb") as reader:
        if size <= SINGLE_PUT_BYTES:
            with store.calls.reaching("put"):
                client.put_object(Bucket=bucket, Key=key, Body=reader)
            return
        with store.calls.reaching("create_multipart_upload"):
            upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        try:
            parts = []
            number = 1
            while part := reader.read(PART_BYTES):
                with store.calls.reaching("upload_part"):
                    sent = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=part)
                parts.append({"ETag": sent["ETag"], "PartNumber": number})
                number += 1
            with store.calls.reaching("complete_multipart_upload"):
                client.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            with store.calls.reaching("abort"):
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
