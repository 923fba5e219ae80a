"""The blob store on a local filesystem.

Layout under the artifact folder:

    blobs/<first two hex digits>/<sha256>       one file per distinct content, as sent
    blobs/<first two hex digits>/<sha256>.zst   or packed (vault.store.blob_packing)
    tmp/<random>.partial                        uploads in progress

An upload is written to `tmp/`, fsynced, then hard-linked to its blob name
and the folder fsynced: a blob name only ever points at complete, durable
bytes, and a crash leaves at worst an unclaimed blob or partial file for the
orphan sweep. Linking (rather than renaming) keeps the temporary copy until
the record is committed, so an upload whose blob was released meanwhile can
place it again. Blob names come only from sha256 digests, never from what a
client sent, so nothing outside the folder is ever touched.

A blob is kept raw or packed, under one name or the other; for a moment
while `vault compress` packs an old raw blob, under both (either is read).
Reads try the packed name first: its seek table says where each frame is.
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

from vault.store.blob_packing import (
    PACKED_SUFFIX,
    TAIL_BYTES,
    DamagedTable,
    Packer,
    SeekTable,
    parse_table,
    table_length,
    unpacked,
)
from vault.store.blobs import BlobInfo, ExportResult, blob_file_name, is_sha256
from vault.store.errors import BlobMissing, ContentTooLarge, DiskFull, StoreReadOnly, StoreUnavailable

from vault.telemetry import Telemetry

# Chunks are gathered to about this size before one trip to a thread writes and hashes them.
FLUSH_BYTES = 1024 * 1024
# Reads go to a thread a chunk at a time: memory stays at a chunk or two whatever the size.
READ_CHUNK_BYTES = 1024 * 1024
SHARDS = tuple(f"{n:02x}" for n in range(256))


def exported_blobs(folder: Path) -> Iterator[tuple[str, bool, Path]]:
    """(sha256, packed, file) of each blob in a folder laid out as `export` writes it (shard folders of files)."""
    for shard in SHARDS:
        source_dir = folder / shard
        if not source_dir.is_dir():
            continue
        for entry in os.scandir(source_dir):
            named = blob_file_name(entry.name)
            if named is not None:
                yield *named, Path(entry.path)


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


async def _span(handle: BinaryIO, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes `start` to `end` of an open file, a chunk per trip to a thread; BlobMissing if it is shorter."""
    position = start
    while position < end:
        chunk = await asyncio.to_thread(os.pread, handle.fileno(), min(READ_CHUNK_BYTES, end - position), position)
        if not chunk:
            raise BlobMissing(sha256)  # shorter than its size: damaged on disk
        position += len(chunk)
        yield chunk


def _take(names: Iterator[str], count: int) -> list[str]:
    return list(islice(names, count))


def read_table(handle: BinaryIO) -> SeekTable:
    """The seek table at the end of an open packed blob; DamagedTable if there is none that fits it."""
    stored = os.fstat(handle.fileno()).st_size
    tail_size = min(stored, TAIL_BYTES)
    handle.seek(stored - tail_size)
    tail = handle.read(tail_size)
    length = table_length(tail)
    if length > len(tail):
        if length > stored:
            raise DamagedTable("a seek table longer than its blob")
        handle.seek(stored - length)
        tail = handle.read(length)
    return parse_table(tail, stored)


def _open_blob(raw: Path, packed: Path) -> tuple[BinaryIO, SeekTable | None]:
    """An open blob, packed if it has that form (with its seek table), else raw; FileNotFoundError if neither."""
    try:
        handle = packed.open("rb")
    except FileNotFoundError:
        return raw.open("rb"), None
    try:
        return handle, read_table(handle)
    except BaseException:
        handle.close()
        raise


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

    def __init__(self, location: str | os.PathLike[str], packing: bool = True) -> None:
        self.location = str(location)
        # Whether uploads are packed where that pays (VAULT_COMPRESSION); packed blobs are read either way.
        self.packing = packing
        self._root = Path(location)
        self.blob_dir = self._root / "blobs"
        self.tmp_dir = self._root / "tmp"

    def path(self, sha256: str) -> Path:
        name = _blob_name(sha256)
        return self.blob_dir / name[:2] / name

    def packed_path(self, sha256: str) -> Path:
        return self.path(sha256).with_name(sha256 + PACKED_SUFFIX)

    def form_path(self, sha256: str, packed: bool) -> Path:
        return self.packed_path(sha256) if packed else self.path(sha256)

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
        return self.packed_path(sha256).is_file() or self.path(sha256).is_file()

    def remove(self, sha256: str) -> bool:
        removed = False
        for path in (self.packed_path(sha256), self.path(sha256)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed = True
        return removed

    def drop_raw(self, sha256: str) -> bool:
        if not self.packed_path(sha256).is_file():
            return False
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        fsync_dir(self.path(sha256).parent)
        return True

    async def size(self, sha256: str) -> int:
        handle, table = await self._opened(sha256)
        try:
            return table.raw_size if table is not None else os.fstat(handle.fileno()).st_size
        finally:
            handle.close()

    def kept_size(self, sha256: str, packed: bool, size: int) -> int | None:
        """The stored size of the blob's form, if that form is there and holds `size` bytes as sent."""
        path = self.form_path(sha256, packed)
        try:
            with path.open("rb") as handle:
                stored = os.fstat(handle.fileno()).st_size
                if not packed:
                    return stored if stored == size else None
                return stored if read_table(handle).raw_size == size else None
        except (FileNotFoundError, DamagedTable):
            return None

    def remove_damaged(self, sha256: str, packed: bool, size: int) -> None:
        """Delete the blob's form if it is there but does not hold `size` bytes as sent (it would be read first)."""
        path = self.form_path(sha256, packed)
        if path.exists() and self.kept_size(sha256, packed, size) is None:
            path.unlink(missing_ok=True)

    async def _opened(self, sha256: str) -> tuple[BinaryIO, SeekTable | None]:
        try:
            return await asyncio.to_thread(_open_blob, self.path(sha256), self.packed_path(sha256))
        except (FileNotFoundError, DamagedTable):
            raise BlobMissing(sha256) from None

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        handle, table = await self._opened(sha256)
        # From here the open file keeps the bytes, even if the blob's name is removed.
        try:
            if table is None:
                async for chunk in _span(handle, sha256, start, end):
                    yield chunk
                return
            if end > table.raw_size:
                raise BlobMissing(sha256)
            try:
                async for chunk in unpacked(functools.partial(_span, handle, sha256), table, start, end):
                    yield chunk
            except DamagedTable:
                raise BlobMissing(sha256) from None
        finally:
            # Closing a file opened for reading does not block; awaiting here could be cut short.
            handle.close()

    async def stored_before(self, cutoff: float, page: int) -> AsyncIterator[list[str]]:
        names = self._stored_before(cutoff)
        while chunk := await asyncio.to_thread(_take, names, page):
            yield chunk

    def _stored_before(self, cutoff: float) -> Iterator[str]:
        for sha256, forms in self._blob_files():
            if max(forms.values()) < cutoff:
                yield sha256

    async def raw_blobs(self, page: int) -> AsyncIterator[list[str]]:
        names = (sha256 for sha256, forms in self._blob_files() if False in forms)
        while chunk := await asyncio.to_thread(_take, names, page):
            yield chunk

    def _blob_files(self) -> Iterator[tuple[str, dict[bool, float]]]:
        """Each blob with its forms (packed or not) and each form's last write, a shard at a time."""
        for shard in SHARDS:
            try:
                entries = list(os.scandir(self.blob_dir / shard))
            except FileNotFoundError:
                continue
            found: dict[str, dict[bool, float]] = {}
            for entry in entries:
                named = blob_file_name(entry.name)
                if named is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    found.setdefault(named[0], {})[named[1]] = entry.stat(follow_symlinks=False).st_mtime
            yield from found.items()

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
            # As kept: a packed blob goes into the folder packed, under its packed name.
            target_dir = folder / sha256[:2]
            target_dir.mkdir(parents=True, exist_ok=True)
            touched.add(target_dir)
            for source in (self.packed_path(sha256), self.path(sha256)):
                target = target_dir / source.name
                try:
                    _link_durably(source, target)
                    break
                except FileNotFoundError:
                    continue
            else:
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
        for sha256, packed, file in exported_blobs(folder):
            if not self.contains(sha256):
                _link_durably(file, self.form_path(sha256, packed))
                imported += 1
        return imported


class FilesystemUpload:
    """Streams into tmp/ while hashing (and packing); the work runs in a thread, a chunk batch at a time."""

    def __init__(self, store: FilesystemBlobStore, limit: int | None) -> None:
        self._store = store
        self._limit = limit
        self._path = store.tmp_dir / f"{uuid.uuid4().hex}{PARTIAL_SUFFIX}"
        self._file: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._packer = Packer(store.packing)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.size = 0
        self.info: BlobInfo | None = None
        self.packed: bool | None = None

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
            # hashlib and zstd release the GIL for large inputs, so this work keeps the loop free.
            self._hash.update(chunk)
            self._file.write(self._packer.feed(chunk))

    async def finish(self) -> BlobInfo:
        if self.info is None:
            await self._flush()
            await asyncio.to_thread(self._end_and_close)
            self.packed = self._packer.packed
            self.info = BlobInfo(self._hash.hexdigest(), self.size)
        return self.info

    @_storage_errors
    def _end_and_close(self) -> None:
        assert self._file is not None
        self._file.write(self._packer.end())
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    async def place(self, beside: bool = False) -> int:
        info = await self.finish()
        return await asyncio.to_thread(self._place, info, beside)

    @_storage_errors
    def _place(self, info: BlobInfo, beside: bool) -> int:
        assert self.packed is not None
        store = self._store
        forms = (self.packed,) if beside else (self.packed, not self.packed)
        for packed in forms:
            kept = store.kept_size(info.sha256, packed, info.size)
            if kept is not None:
                # Already there, perhaps placed a moment ago by another upload: the record
                # about to claim it must not commit before its folder entry is durable.
                fsync_dir(store.path(info.sha256).parent)
                return kept
        # Whatever is left under the blob's names is damage, not content: the true bytes go over it.
        target = store.form_path(info.sha256, self.packed)
        if target.exists():
            os.replace(self._relink(target), target)
        else:
            _link_durably(self._path, target)
        if not beside:
            # A damaged copy in the other form would be read first, or stay behind.
            store.remove_damaged(info.sha256, not self.packed, info.size)
        fsync_dir(target.parent)
        return self._packer.stored_size

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
