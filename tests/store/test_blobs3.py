"""What only the S3 blob store does: its temporary keys, its copy in parts, a bucket that is not there."""

from __future__ import annotations

import hashlib
import os
import time

import botocore.session
import pytest
from vault.store.blobs3 import S3BlobStore
from vault.store.errors import StoreUnavailable

from tests.s3temp import bucket_url

MIB = 1024 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keys(store: S3BlobStore) -> list[str]:
    client = botocore.session.get_session().create_client("s3")
    try:
        answer = client.list_objects_v2(Bucket=store.where.bucket, Prefix=store.where.prefix)
        return sorted(item["Key"].removeprefix(store.where.prefix) for item in answer.get("Contents", ()))
    finally:
        client.close()


async def put(store: S3BlobStore, data: bytes) -> str:
    async with store.upload() as upload:
        for start in range(0, len(data), MIB):
            await upload.write(data[start : start + MIB])
        await upload.place()
        return upload.info.sha256


async def test_a_large_upload_leaves_only_its_blob(s3_env):
    # Rule: the temporary object of a multipart upload goes once the blob is placed.
    store = S3BlobStore(bucket_url(), part_bytes=5 * MIB)
    store.open()
    data = os.urandom(12 * MIB)  # does not compress: stored as sent, in parts of 5 MiB
    sha = await put(store, data)
    assert keys(store) == [f"blobs/{sha}"]
    assert b"".join([chunk async for chunk in store.read(sha, 0, len(data))]) == data
    await store.close()


async def test_a_large_packed_upload_leaves_only_its_packed_blob(s3_env):
    # Compressible bytes past a part: the packed frames go up as a multipart upload too.
    store = S3BlobStore(bucket_url(), part_bytes=5 * MIB)
    store.open()
    data = b"".join(b"line %d of a long log\n" % n for n in range(600_000)) + os.urandom(6 * MIB)
    sha = await put(store, data)
    assert keys(store) == [f"blobs/{sha}.zst"]
    assert await store.size(sha) == len(data)
    assert b"".join([chunk async for chunk in store.read(sha, 0, len(data))]) == data
    await store.close()


async def test_a_blob_past_the_copy_limit_is_copied_in_parts(s3_env):
    # CopyObject stops at 5 GiB; past the limit the copy goes part by part (UploadPartCopy).
    store = S3BlobStore(bucket_url(), part_bytes=5 * MIB, copy_limit_bytes=6 * MIB)
    store.open()
    data = os.urandom(11 * MIB)
    sha = await put(store, data)
    assert sha == sha256(data)
    assert await store.size(sha) == len(data)
    assert b"".join([chunk async for chunk in store.read(sha, 0, len(data))]) == data
    await store.close()


async def test_an_abandoned_multipart_upload_is_aborted_by_the_sweep(s3_env):
    store = S3BlobStore(bucket_url(), part_bytes=5 * MIB)
    store.open()
    upload = store.upload()
    await upload.__aenter__()
    await upload.write(os.urandom(6 * MIB))  # a part sent: a multipart upload is open
    # The process dies here: the upload is never ended.
    assert await store.remove_partials_before(time.time() - 3600) == 0
    assert await store.remove_partials_before(time.time() + 60) == 1
    assert await store.remove_partials_before(time.time() + 60) == 0
    await store.close()


async def test_a_bucket_that_is_gone_is_unavailable_not_empty(s3_env):
    store = S3BlobStore(bucket_url())  # never opened: the bucket was never made
    with pytest.raises(StoreUnavailable, match="bucket"):
        await store.ping()
    with pytest.raises(StoreUnavailable):
        async with store.upload() as upload:
            await upload.write(b"nowhere to go")
            await upload.place()
    await store.close()
