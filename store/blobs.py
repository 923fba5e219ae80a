"""Artifact content: the blob store port.

Blobs are addressed by the sha256 of their bytes, so identical content is
stored once and a blob never changes. An upload streams into a temporary copy
while it is hashed; `place` makes it a blob; only an artifact record that the
store commits with the blob present claims it (vault.store.interface). Blobs no
record claims are removed by the store (`release_blobs`), never directly.

The port fits a filesystem and an object store alike: no method hands out a
file, a path or a descriptor; bytes go in through an upload and come out as an
async stream of a range. The methods that are not async are short operations,
called in order with the commits that claim and release blobs: by the SQLite
store on its writer thread for files, under a lock on the blob
(vault.store.sqlite.blob_locks) for a store over a network, and by the
PostgreSQL store under the blob's advisory lock. That order is the crash
guarantee: a record commits only while its blob is present, a blob is removed
only while no committed record claims it. An adapter over a network (S3)
makes one bounded request for each claim and release, failing with
StoreUnavailable after its timeouts; a release that fails leaves an
orphan for the sweep, never a record without its bytes. `export` and
`import_from` run on a thread of their own.

A blob is kept as sent or packed (vault.store.blob_packing), whichever the
upload found to pay; the store knows which by the name it keeps it under, and
every read gives the bytes as sent. Its name, size and ranges are those of the
bytes as sent, whatever form it is kept in.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from types import TracebackType
from typing import Protocol

from attrs import frozen
from vault.store.blob_packing import PACKED_SUFFIX

from vault.telemetry import Telemetry

_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(text: str) -> bool:
    """A lowercase hex sha256: the only form a blob name may take (it becomes a file or object name)."""
    return _SHA256.fullmatch(text) is not None


def blob_file_name(name: str) -> tuple[str, bool] | None:
    """(sha256, packed) for the name a blob is kept under (`<sha256>` or `<sha256>.zst`); None for any other name."""
    packed = name.endswith(PACKED_SUFFIX)
    sha256 = name[: -len(PACKED_SUFFIX)] if packed else name
    return (sha256, packed) if is_sha256(sha256) else None


def artifacts_folder(backup_file: str | Path) -> Path:
    """Where the artifact bytes of a backup go: `<backup file>.artifacts/`, beside it."""
    return Path(f"{backup_file}.artifacts")


@frozen
class BlobInfo:
    sha256: str
    # The bytes as sent.
    size: int
    # The bytes as kept (packed or not), once the blob is placed; None before.
    stored_size: int | None = None


@frozen
class ExportResult:
    copied: int
    size: int
    missing: tuple[str, ...] = ()


class BlobUpload(Protocol):
    """Bytes on their way in: an async context manager that discards its temporary copy on exit."""

    info: BlobInfo | None
    # Whether the finished upload is kept packed (None until it is finished).
    packed: bool | None

    async def __aenter__(self) -> BlobUpload: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    async def write(self, chunk: bytes) -> None:
        """Append bytes; ContentTooLarge past the upload's limit."""

    async def finish(self) -> BlobInfo:
        """Flush and make the bytes durable; they are complete and hashed."""

    async def place(self, beside: bool = False) -> int:
        """Make the finished bytes a durable blob under their sha256; again if it was removed since. Safe to repeat.

        Answers the size of the blob as kept: this upload's, or that of the same
        bytes already there (in either form). With `beside`, the upload is
        placed in its own form even when the blob is there in the other
        (`vault compress` writing a packed copy beside a raw blob).
        """

    async def discard(self) -> None:
        """Remove the temporary copy; a placed blob stays."""


class BlobStore(Protocol):
    # Where the blobs are, for messages (a folder, a bucket URL).
    location: str
    # What holds them, as /health names it: "filesystem", "s3".
    kind: str

    def open(self) -> None:
        """Create what is missing; raise OSError if the store cannot be reached at all.

        A store that can be read but not written still opens (downloads go on);
        its uploads are then refused with StoreReadOnly.
        """

    async def ping(self) -> None:
        """StoreUnavailable, naming the store, if it does not answer now (for /ready)."""

    def observe(self, telemetry: Telemetry) -> None:
        """Report calls to the store (time, failures) to /metrics, where there are any to report."""

    async def close(self) -> None:
        """Let go of connections; an upload in flight is ended first."""

    def upload(self, limit: int | None = None) -> BlobUpload:
        """A new upload, refused past `limit` bytes (memory stays flat whatever the size)."""

    def contains(self, sha256: str) -> bool:
        """Whether the blob is present."""

    def remove(self, sha256: str) -> bool:
        """Delete the blob (in every form it is kept in); False if it was not there. Only the store calls this."""

    def drop_raw(self, sha256: str) -> bool:
        """Delete the raw form of a blob also kept packed; False if it had not both. Only the store calls this."""

    async def size(self, sha256: str) -> int:
        """The blob's length in bytes; BlobMissing if it is not there."""

    def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes `start` (inclusive) to `end` (exclusive), in chunks of a bounded size.

        BlobMissing at the first step if the blob is not there, and later if it
        holds fewer bytes than `end`. Once the first step has returned, the read
        goes on to the end even if the blob is removed meanwhile. Close the
        iterator (`aclose`) when stopping early.
        """

    def stored_before(self, cutoff: float, page: int) -> AsyncIterator[list[str]]:
        """Every blob last written before `cutoff` (seconds since the epoch), `page` names at a time."""

    def raw_blobs(self, page: int) -> AsyncIterator[list[str]]:
        """Every blob kept raw (also those with a packed copy beside), `page` names at a time."""

    async def remove_partials_before(self, cutoff: float) -> int:
        """Delete temporary copies of uploads abandoned before `cutoff` (a crash, a lost client)."""

    def export(self, sha256s: Iterable[str], folder: Path) -> ExportResult:
        """Durably copy the blobs as kept into the local `folder`, as `<2 hex digits>/<sha256>[.zst]`."""

    def import_from(self, folder: Path) -> int:
        """Bring in every blob of an exported folder that is not here yet; return how many."""
