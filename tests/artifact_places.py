"""Where a test app keeps artifact bytes (a folder, or a bucket on moto's server), and what is there.

The HTTP artifact tests run once per place: their `config` fixture takes
`artifact_url(request)` for its parameter, and they check what is stored with
`stored_blobs` and `partial_uploads`, which look from outside the app.
"""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest
from vault.store.blob_packing import PACKED_SUFFIX
from vault.store.s3_calls import S3Location

from tests.s3temp import bucket_url
from vault.config import Config

PLACES = ("filesystem", "s3")


def artifact_url(request: pytest.FixtureRequest) -> str | None:
    """The VAULT_ARTIFACT_URL for the place `request.param` names (None: the folder beside the database)."""
    if request.param == "filesystem":
        return None
    request.getfixturevalue("s3_env")
    return bucket_url()


def _s3_keys(config: Config, folder: str) -> tuple[list[str], list[str]]:
    """(object names, multipart upload names) under `folder` of the config's bucket and prefix."""
    where = S3Location.from_url(config.artifact_location)
    client = botocore.session.get_session().create_client("s3")
    try:
        prefix = where.key(folder)
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=prefix)
        objects = [item["Key"][len(prefix) :] for page in pages for item in page.get("Contents", ())]
        uploads = client.list_multipart_uploads(Bucket=where.bucket, Prefix=prefix).get("Uploads", ())
        return sorted(objects), sorted(upload["Key"][len(prefix) :] for upload in uploads)
    finally:
        client.close()


def stored_files(config: Config) -> list[str]:
    """The name each blob is kept under (`<sha256>`, or `<sha256>.zst` packed), sorted."""
    if config.artifact_location.startswith("s3://"):
        return _s3_keys(config, "blobs/")[0]
    folder = Path(config.artifact_dir) / "blobs"
    return sorted(path.name for path in folder.rglob("*") if path.is_file())


def stored_blobs(config: Config) -> list[str]:
    """The sha256 of every blob stored (in whichever form), sorted."""
    return sorted({name.removesuffix(PACKED_SUFFIX) for name in stored_files(config)})


def partial_uploads(config: Config) -> list[str]:
    """What uploads in progress (or left behind) hold: partial files, temporary objects, multipart uploads."""
    if config.artifact_location.startswith("s3://"):
        objects, uploads = _s3_keys(config, "uploads/")
        return objects + uploads
    return sorted(path.name for path in (Path(config.artifact_dir) / "tmp").iterdir())
