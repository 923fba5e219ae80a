"""The blob store on a local filesystem.

Layout under the artifact folder:

    blobs/<first two hex digits>/<sha256>   one file per distinct content
    tmp/<random>.partial                    uploads in progress

An upload is written to `tmp/`, fsynced, then hard-linked to its blob name
and the folder fsynced: a blob name only ever points at complete, durable
bytes, and a crash leaves at worst an unclaimed blob or partial file for the
orphan sweep. Linking (rather than renaming) keeps the temporary copy until
the record is committed, so an upload whose blob was released meanwhile can
place it again. Blob names come only from sha256 digests, never from what a
client sent, so nothing outside the folder is ever touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, ClassVar, TypeVar

from vault.store.blobs import BlobInfo, ExportResult, is_sha256
from vault.store.errors import BlobMissing, ContentTooLarge, DiskFull, StoreReadOnly, StoreUnavailable

from vault.telemetry import Telemetry

# Chunks are gathered to about this size before one trip to a thread writes and hashes them.
FLUSH_BYTES = 1024 * 1024
# Reads go to a thread a chunk at a time: memory stays at a chunk or two whatever the size.
READ_CHUNK_BYTES = 1024 * 1024
SHARDS = tuple(f"{n:02x}" for n in range(256))


def exported_blobs(folder: Path) -> Iterator[tuple[str, Path]]:
    """(sha256, file) of each blob in a folder laid out as `export` writes it (shard folders of files)."""
    for shard in SHARDS:
        source_dir = folder / shard
        if not source_dir.is_dir():
            continue
        for entry in os.scandir(source_dir):
            if is_sha256(entry.name):
                yield entry.name, Path(entry.path)


PARTIAL_SUFFIX = ".partial"
READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)
# A filesystem (or a backup target on another one) that cannot hard-link: copy instead.
NO_LINK_ERRNOS = (errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS)
T = TypeVar("T")
log = logging.getLogger(__name__)


def _storage_errors(function: Callable[..., T]) -> Callable[..., T]:
    """OS failures of artifact storage as the store errors the HTTP layer knows (a full disk is 507)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull("the artifact folder's disk is full") from exc
            if exc.errno in READ_ONLY_ERRNOS:
                raise StoreReadOnly(f"the artifact folder cannot be written: {exc.strerror or exc}") from exc
            raise StoreUnavailable(f"artifact storage failed: {exc.strerror or exc}") from exc

    return wrapper


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _blob_name(sha256: str) -> str:
    if not is_sha256(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return sha256


def _open_at(path: Path, start: int) -> BinaryIO:
    handle = path.open("rb")
    try:
        handle.seek(start)
    except BaseException:
        handle.close()
        raise
    return handle


def _take(names: Iterator[str], count: int) -> list[str]:
    return list(islice(names, count))


def _ensure_shard(folder: Path) -> None:
    """Shard folders are made on first use, so an empty store is three folders, not 259."""
    if not folder.is_dir():
        folder.mkdir(exist_ok=True)
        fsync_dir(folder.parent)


def _link_durably(source: Path, target: Path) -> None:
    """Give `target` the bytes of `source` (a hard link, or a copy across filesystems), durably."""
    _ensure_shard(target.parent)
    try:
        os.link(source, target)
    except FileExistsError:
        pass  # linked by another upload of the same bytes, which may not have synced the folder yet
    except OSError as exc:
        if exc.errno not in NO_LINK_ERRNOS:
            raise
        staged = target.with_name(f".{target.name}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")
        try:
            with source.open("rb") as reader, staged.open("wb") as writer:
                shutil.copyfileobj(reader, writer, FLUSH_BYTES)
                writer.flush()
                os.fsync(writer.fileno())
            os.replace(staged, target)
        finally:
            staged.unlink(missing_ok=True)
    fsync_dir(target.parent)


class FilesystemBlobStore:
    kind: ClassVar[str] = "filesystem"

    def __init__(self, location: str | os.PathLike[str]) -> None:
        self.location = str(location)
        self._root = Path(location)
        self.blob_dir = self._root / "blobs"
        self.tmp_dir = self._root / "tmp"

    def path(self, sha256: str) -> Path:
        name = _blob_name(sha256)
        return self.blob_dir / name[:2] / name

    def open(self) -> None:
        # A folder that cannot be made or written fails at start-up, not at the first upload;
        # but a read-only one still serves downloads, as a read-only database serves reads
        # (uploads are then refused with 503 read_only).
        try:
            self._create_folders()
            probe = self.tmp_dir / f"probe-{uuid.uuid4().hex}{PARTIAL_SUFFIX}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            if exc.errno not in READ_ONLY_ERRNOS:
                raise
            log.warning("the artifact folder %s cannot be written (%s): uploads will be refused", self.location, exc)

    def _create_folders(self) -> None:
        created = False
        for folder in (self._root, self.blob_dir, self.tmp_dir):
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True)
                created = True
        if created:
            fsync_dir(self.blob_dir)
            fsync_dir(self._root)

    async def ping(self) -> None:
        """A folder answers while the process runs; a failing disk shows in the calls themselves."""

    def observe(self, telemetry: Telemetry) -> None:
        """Nothing to report: the disk's time is in each request's own."""

    async def close(self) -> None:
        """Nothing held open between calls."""

    def upload(self, limit: int | None = None) -> FilesystemUpload:
        return FilesystemUpload(self, limit)

    def contains(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def remove(self, sha256: str) -> bool:
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    async def size(self, sha256: str) -> int:
        try:
            return (await asyncio.to_thread(self.path(sha256).stat)).st_size
        except FileNotFoundError:
            raise BlobMissing(sha256) from None

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(_open_at, self.path(sha256), start)
        except FileNotFoundError:
            raise BlobMissing(sha256) from None
        # From here the open file keeps the bytes, even if the blob's name is removed.
        try:
            left = end - start
            while left > 0:
                chunk = await asyncio.to_thread(handle.read, min(READ_CHUNK_BYTES, left))
                if not chunk:
                    raise BlobMissing(sha256)  # shorter than its size: damaged on disk
                left -= len(chunk)
                yield chunk
        finally:
            # Closing a file opened for reading does not block; awaiting here could be cut short.
            handle.close()

    async def stored_before(self, cutoff: float, page: int) -> AsyncIterator[list[str]]:
        names = self._stored_before(cutoff)
        while chunk := await asyncio.to_thread(_take, names, page):
            yield chunk

    def _stored_before(self, cutoff: float) -> Iterator[str]:
        for shard in SHARDS:
            try:
                entries = list(os.scandir(self.blob_dir / shard))
            except FileNotFoundError:
                continue
            for entry in entries:
                if not is_sha256(entry.name):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        yield entry.name

    async def remove_partials_before(self, cutoff: float) -> int:
        return await asyncio.to_thread(self._remove_partials_before, cutoff)

    def _remove_partials_before(self, cutoff: float) -> int:
        removed = 0
        folders = [self.tmp_dir, *(self.blob_dir / shard for shard in SHARDS)]
        for folder in folders:
            try:
                entries = list(os.scandir(folder))
            except FileNotFoundError:
                continue
            for entry in entries:
                if not entry.name.endswith(PARTIAL_SUFFIX):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
        return removed

    def export(self, sha256s: Iterable[str], folder: Path) -> ExportResult:
        copied = size = 0
        missing = []
        touched: set[Path] = set()
        for sha256 in sha256s:
            source = self.path(sha256)
            target = folder / sha256[:2] / sha256
            target.parent.mkdir(parents=True, exist_ok=True)
            touched.add(target.parent)
            try:
                _link_durably(source, target)
            except FileNotFoundError:
                missing.append(sha256)
                continue
            copied += 1
            size += target.stat().st_size
        for parent in touched:
            fsync_dir(parent)
        if folder.is_dir():
            fsync_dir(folder)
        return ExportResult(copied, size, tuple(missing))

    def import_from(self, folder: Path) -> int:
        imported = 0
        for sha256, file in exported_blobs(folder):
            if not self.contains(sha256):
                _link_durably(file, self.path(sha256))
                imported += 1
        return imported


class FilesystemUpload:
    """Streams into tmp/ while hashing; writes and hashing run in a thread, a chunk batch at a time."""

    def __init__(self, store: FilesystemBlobStore, limit: int | None) -> None:
        self._store = store
        self._limit = limit
        self._path = store.tmp_dir / f"{uuid.uuid4().hex}{PARTIAL_SUFFIX}"
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.size = 0
        self.info: BlobInfo | None = None

    async def __aenter__(self) -> FilesystemUpload:
        self._file = await asyncio.to_thread(_storage_errors(self._path.open), "xb")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        # Not through a thread: a cancelled request must still close and remove its partial file.
        self._discard()

    async def write(self, chunk: bytes) -> None:
        if self.info is not None:
            raise RuntimeError("the upload is finished")
        if self._limit is not None and self.size + len(chunk) > self._limit:
            raise ContentTooLarge(self._limit)
        self.size += len(chunk)
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        chunks, self._pending, self._pending_size = self._pending, [], 0
        if chunks:
            await asyncio.to_thread(self._write_out, chunks)

    @_storage_errors
    def _write_out(self, chunks: list[bytes]) -> None:
        assert self._file is not None
        for chunk in chunks:
            # hashlib releases the GIL for large updates, so hashing here keeps the loop free.
            self._hash.update(chunk)
            self._file.write(chunk)

    async def finish(self) -> BlobInfo:
        if self.info is None:
            await self._flush()
            await asyncio.to_thread(self._sync_and_close)
            self.info = BlobInfo(self._hash.hexdigest(), self.size)
        return self.info

    @_storage_errors
    def _sync_and_close(self) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    async def place(self) -> None:
        info = await self.finish()
        await asyncio.to_thread(self._place, info)

    @_storage_errors
    def _place(self, info: BlobInfo) -> None:
        target = self._store.path(info.sha256)
        try:
            if target.stat().st_size == info.size:
                # Already there, perhaps placed a moment ago by another upload: the record
                # about to claim it must not commit before its folder entry is durable.
                fsync_dir(target.parent)
                return
        except FileNotFoundError:
            pass
        else:
            # A blob of the wrong size is damage, not content: put the true bytes over it.
            os.replace(self._relink(target), target)
            fsync_dir(target.parent)
            return
        _link_durably(self._path, target)

    def _relink(self, target: Path) -> Path:
        staged = target.with_name(f".{target.name}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")
        _link_durably(self._path, staged)
        return staged

    async def discard(self) -> None:
        await asyncio.to_thread(self._discard)

    def _discard(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._path.unlink(missing_ok=True)
