"""`vault copy` between blob stores: artifact bytes from a folder to S3 and back, with a count check."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import zstandard
from vault.store.blobs3 import S3BlobStore

from tests.s3temp import bucket_url
from vault.cli import main

CONTENTS = [b"first", b"second" * 1000, bytes(range(256)) * 50_000]  # the last one is past a multipart part


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_folder(root: Path, contents: list[bytes]) -> Path:
    """An artifact folder as the filesystem blob store lays it out."""
    for data in contents:
        name = sha256(data)
        (root / "blobs" / name[:2]).mkdir(parents=True, exist_ok=True)
        (root / "blobs" / name[:2] / name).write_bytes(data)
    return root


def files_in(root: Path) -> dict[str, bytes]:
    """Each blob's bytes as sent, by sha256; a packed one read as any zstd tool reads it (seek table skipped)."""
    found = {}
    for path in (root / "blobs").rglob("*"):
        if path.suffix == ".zst":
            with path.open("rb") as packed:
                found[path.stem] = zstandard.ZstdDecompressor().stream_reader(packed, read_across_frames=True).read()
        elif path.is_file():
            found[path.name] = path.read_bytes()
    return found


def test_artifact_bytes_go_to_s3_and_back_with_a_count_check(s3_env, tmp_path, capsys):
    disk = blob_folder(tmp_path / "disk", CONTENTS)
    bucket = bucket_url()

    assert main(["copy", "--from", disk.as_uri(), "--to", bucket]) == 0
    report = capsys.readouterr().out
    assert "every blob is in the target" in report
    assert all(S3BlobStore(bucket).contains(sha256(data)) for data in CONTENTS)

    # Run again: nothing left to send, the check still holds.
    assert main(["copy", "--from", disk.as_uri(), "--to", bucket]) == 0
    again = capsys.readouterr().out
    assert re.search(r"sent across +0 ", again) and re.search(r"already in the target +3\n", again), again
    assert "every blob is in the target" in again

    back = tmp_path / "back"
    assert main(["copy", "--from", bucket, "--to", back.as_uri()]) == 0
    assert files_in(back) == {sha256(data): data for data in CONTENTS}
    # The target keeps what it receives as its own setting says: the repetitive bytes packed.
    assert (back / "blobs" / sha256(CONTENTS[2])[:2] / f"{sha256(CONTENTS[2])}.zst").is_file()


def test_damaged_bytes_are_reported_not_copied(s3_env, tmp_path, capsys):
    # Rule: a blob whose bytes do not hash to its name is never placed under that name elsewhere.
    disk = blob_folder(tmp_path / "disk", [b"sound"])
    damaged = "ab" * 32
    (disk / "blobs" / "ab").mkdir()
    (disk / "blobs" / "ab" / damaged).write_bytes(b"not what the name says")
    bucket = bucket_url()

    assert main(["copy", "--from", disk.as_uri(), "--to", bucket]) == 1
    report = capsys.readouterr().out
    assert damaged in report and "COUNTS DIFFER" in report
    assert not S3BlobStore(bucket).contains(damaged)
    assert S3BlobStore(bucket).contains(sha256(b"sound"))


def test_a_bad_blob_store_url_is_refused(tmp_path, capsys):
    assert main(["copy", "--from", "file://relative/path", "--to", "s3://bucket/prefix"]) == 2
    assert "--from" in capsys.readouterr().err
    assert main(["copy", "--from", tmp_path.as_uri(), "--to", tmp_path.as_uri()]) == 2
