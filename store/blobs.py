"""Artifact content: the blob store interface.

Blobs are addressed by the sha256 of their bytes, so identical content is
stored once and a blob never changes. An upload streams into a temporary copy
while it is hashed; `place` makes it a blob; only an artifact record that the
store commits with the blob present claims it (vault.store.interface). Blobs no
record claims are removed by the store (`release_blobs`), never directly.

The methods that are not async are short file operations: the SQLite store
calls `contains` and `remove` on its writer thread, so they are ordered with
the commits that claim and release blobs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from attrs import frozen

_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(text: str) -> bool:
    """A lowercase hex sha256: the only form a blob name may take (it becomes a file name)."""
    return _SHA256.fullmatch(text) is not None


def artifacts_folder(backup_file: str | Path) -> Path:
    """Where the artifact bytes of a backup go: `<backup file>.artifacts/`, beside it."""
    return Path(f"{backup_file}.artifacts")


@frozen
class BlobInfo:
    sha256: str
    size: int


@frozen
class ExportResult:
    copied: int
    size: int
    missing: tuple[str, ...] = ()


class BlobUpload(Protocol):
    """Bytes on their way in: an async context manager that discards its temporary copy on exit."""

    info: BlobInfo | None

    async def write(self, chunk: bytes) -> None:
        """Append bytes; ContentTooLarge past the upload's limit."""

    async def finish(self) -> BlobInfo:
        """Flush and fsync; the bytes are complete and hashed."""

    async def place(self) -> None:
        """Make the finished bytes a durable blob; again if it was removed since. Safe to repeat."""

    async def discard(self) -> None:
        """Remove the temporary copy; a placed blob stays."""


class BlobStore(Protocol):
    location: str

    def open(self) -> None:
        """Create what is missing; raise OSError if the store cannot be written."""

    def upload(self, limit: int | None = None) -> BlobUpload:
        """A new upload, refused past `limit` bytes."""

    def contains(self, sha256: str) -> bool:
        """Whether the blob is present."""

    def remove(self, sha256: str) -> bool:
        """Delete the blob; False if it was not there. Only the store calls this."""

    def open_blob(self, sha256: str) -> BinaryIO:
        """The blob for reading; FileNotFoundError if it is not there."""

    def stored_before(self, cutoff: float) -> Iterator[str]:
        """Every blob last written before `cutoff` (seconds since the epoch)."""

    def remove_partials_before(self, cutoff: float) -> int:
        """Delete temporary copies of uploads abandoned before `cutoff` (a crash, a lost client)."""

    def export(self, sha256s: Iterable[str], folder: Path) -> ExportResult:
        """Durably copy (or hard-link) the blobs into `folder`, laid out as a blob store."""

    def import_from(self, folder: Path) -> int:
        """Bring in every blob of an exported folder that is not here yet; return how many."""
