"""Artifact bytes kept zstd-compressed, in frames that a range is read from without the rest.

A packed blob is in zstd's seekable format: the raw bytes cut into chunks of
CHUNK_BYTES, each its own zstd frame (with its content size and checksum),
then a skippable frame holding the seek table (each frame's packed and raw
size) and a footer that ends in the seekable magic number. A range touches
only the frames it overlaps: the last byte of a 100 MiB artifact costs one
1 MiB frame, not the file. Any zstd tool reads the whole file as the raw
bytes (it skips the table).

Whether a blob is packed is in its name (`<sha256>.zst` beside `<sha256>`),
never guessed from its bytes: a raw artifact that happens to be a zstd file
stays what it is. The first chunk of an upload is the sample: if its frame
does not shrink it to KEEP_RATIO, the upload is kept raw (images, archives,
anything already compressed), so no time is spent packing what will not pay.

Uploads feed a Packer chunk by chunk (memory stays at about one chunk);
reads go through `unpacked`, which decompresses frame by frame on a thread.
"""

from __future__ import annotations

import asyncio
import bisect
import struct
from collections.abc import AsyncIterator, Callable
from itertools import accumulate

import zstandard as zstd
from attrs import frozen

PACKED_SUFFIX = ".zst"
CHUNK_BYTES = 1024 * 1024
LEVEL = 3
# A sample must shrink to this share of its size for the upload to be packed.
KEEP_RATIO = 0.9
# How much of a packed blob's end is read first, hoping it holds the whole seek table (8 bytes a frame).
TAIL_BYTES = 64 * 1024

SKIPPABLE_MAGIC = 0x184D2A5E
SEEKABLE_MAGIC = 0x8F92EAB1
CHECKSUM_FLAG = 0x80
_HEADER = struct.Struct("<II")  # skippable magic, frame size
_ENTRY = struct.Struct("<II")  # packed size, raw size
_FOOTER = struct.Struct("<IBI")  # frames, descriptor, seekable magic


class DamagedTable(ValueError):
    """A packed blob whose end is not a seek table that fits it."""


@frozen
class Frame:
    packed_start: int
    packed_size: int
    raw_start: int
    raw_size: int


@frozen
class SeekTable:
    packed_sizes: tuple[int, ...]
    raw_sizes: tuple[int, ...]

    @property
    def raw_size(self) -> int:
        return sum(self.raw_sizes)

    @property
    def table_size(self) -> int:
        return _HEADER.size + _ENTRY.size * len(self.packed_sizes) + _FOOTER.size

    @property
    def stored_size(self) -> int:
        return sum(self.packed_sizes) + self.table_size

    def to_bytes(self) -> bytes:
        entries = b"".join(_ENTRY.pack(p, r) for p, r in zip(self.packed_sizes, self.raw_sizes, strict=True))
        footer = _FOOTER.pack(len(self.packed_sizes), 0, SEEKABLE_MAGIC)
        return _HEADER.pack(SKIPPABLE_MAGIC, len(entries) + len(footer)) + entries + footer

    def frames(self, start: int, end: int) -> list[Frame]:
        """The frames that hold raw bytes `start` to `end` (exclusive), in order."""
        if end <= start:
            return []
        raw_starts = [0, *accumulate(self.raw_sizes)]
        packed_starts = [0, *accumulate(self.packed_sizes)]
        first = bisect.bisect_right(raw_starts, start) - 1
        found = []
        for index in range(first, len(self.raw_sizes)):
            if raw_starts[index] >= end:
                break
            packed_size, raw_size = self.packed_sizes[index], self.raw_sizes[index]
            found.append(Frame(packed_starts[index], packed_size, raw_starts[index], raw_size))
        return found


def table_length(tail: bytes) -> int:
    """How many bytes at the end of a packed blob its seek table takes, from at least its footer."""
    if len(tail) < _FOOTER.size:
        raise DamagedTable("a packed blob shorter than a seek table's footer")
    frames, descriptor, magic = _FOOTER.unpack_from(tail, len(tail) - _FOOTER.size)
    if magic != SEEKABLE_MAGIC:
        raise DamagedTable("a packed blob does not end in a seek table")
    entry = _ENTRY.size + (4 if descriptor & CHECKSUM_FLAG else 0)
    return _HEADER.size + entry * frames + _FOOTER.size


def parse_table(tail: bytes, stored_size: int) -> SeekTable:
    """The seek table from the last bytes of a packed blob of `stored_size` bytes (at least `table_length`)."""
    length = table_length(tail)
    if len(tail) < length:
        raise DamagedTable("the seek table is longer than the bytes given")
    table = tail[len(tail) - length :]
    magic, size = _HEADER.unpack_from(table)
    frames, descriptor, _ = _FOOTER.unpack_from(table, length - _FOOTER.size)
    if magic != SKIPPABLE_MAGIC or size != length - _HEADER.size:
        raise DamagedTable("the seek table's frame header does not fit it")
    entry = _ENTRY.size + (4 if descriptor & CHECKSUM_FLAG else 0)
    packed, raw = [], []
    for index in range(frames):
        packed_size, raw_size = _ENTRY.unpack_from(table, _HEADER.size + index * entry)
        packed.append(packed_size)
        raw.append(raw_size)
    found = SeekTable(tuple(packed), tuple(raw))
    if sum(packed) + length != stored_size:
        raise DamagedTable(f"the seek table accounts for {sum(packed) + length} bytes of {stored_size}")
    return found


class Packer:
    """Raw bytes in, the bytes to keep out: frames and a seek table, or the raw bytes if packing will not pay.

    Not thread-safe: one upload feeds it, from one thread at a time.
    """

    def __init__(self, enabled: bool = True) -> None:
        # None until the sample (the first chunk, or all of a smaller upload) decides.
        self.packed: bool | None = None if enabled else False
        self._pending = bytearray()
        self._packed_sizes: list[int] = []
        self._raw_sizes: list[int] = []
        self._compressor = zstd.ZstdCompressor(level=LEVEL, write_checksum=True, write_content_size=True)
        self.stored_size = 0

    def feed(self, data: bytes) -> bytes:
        """The bytes to append to the stored copy now (perhaps none until a chunk is full)."""
        if self.packed is False:
            return self._kept(data)
        self._pending += data
        out = []
        while len(self._pending) >= CHUNK_BYTES:
            chunk = bytes(self._pending[:CHUNK_BYTES])
            del self._pending[:CHUNK_BYTES]
            out.append(self._frame_or_sample(chunk))
            if self.packed is False:
                out.append(bytes(self._pending))
                self._pending = bytearray()
                break
        return self._kept(b"".join(out))

    def end(self) -> bytes:
        """The last bytes to keep: the rest, and the seek table if packed."""
        rest, self._pending = bytes(self._pending), bytearray()
        if self.packed is False:
            return self._kept(rest)
        if self.packed is None:
            # All of it is smaller than a chunk: packed only if frame and table together pay.
            frame = self._compressor.compress(rest) if rest else b""
            table_size = SeekTable((len(frame),), (len(rest),)).table_size
            if not rest or len(frame) + table_size > KEEP_RATIO * len(rest):
                self.packed = False
                return self._kept(rest)
            self.packed = True
            return self._kept(self._framed(frame, len(rest)) + self._table())
        last = self._framed(self._compressor.compress(rest), len(rest)) if rest else b""
        return self._kept(last + self._table())

    def _frame_or_sample(self, chunk: bytes) -> bytes:
        frame = self._compressor.compress(chunk)
        if self.packed is None:
            self.packed = len(frame) <= KEEP_RATIO * len(chunk)
            if not self.packed:
                return chunk
        return self._framed(frame, len(chunk))

    def _framed(self, frame: bytes, raw_size: int) -> bytes:
        self._packed_sizes.append(len(frame))
        self._raw_sizes.append(raw_size)
        return frame

    def _table(self) -> bytes:
        return SeekTable(tuple(self._packed_sizes), tuple(self._raw_sizes)).to_bytes()

    def _kept(self, data: bytes) -> bytes:
        self.stored_size += len(data)
        return data


def unpack_frame(frame: bytes, raw_size: int) -> bytes:
    """One frame's raw bytes; DamagedTable if it is not a frame of `raw_size` bytes or fails its checksum."""
    try:
        declared = zstd.get_frame_parameters(frame).content_size
        if declared != raw_size:
            raise DamagedTable(f"a frame holds {declared} bytes where its table says {raw_size}")
        raw = zstd.ZstdDecompressor().decompress(frame)
    except zstd.ZstdError as exc:
        raise DamagedTable(f"a frame does not decompress ({exc})") from None
    if len(raw) != raw_size:
        raise DamagedTable(f"a frame gave {len(raw)} bytes where its table says {raw_size}")
    return raw


# The packed bytes `start` to `end` (exclusive) of a stored blob, in chunks.
PackedSpan = Callable[[int, int], AsyncIterator[bytes]]


async def unpacked(span: PackedSpan, table: SeekTable, start: int, end: int) -> AsyncIterator[bytes]:
    """Raw bytes `start` to `end` of a packed blob, decompressing only the frames they touch (on a thread)."""
    frames = table.frames(start, end)
    if not frames:
        return
    first, last = frames[0], frames[-1]
    stream = span(first.packed_start, last.packed_start + last.packed_size)
    try:
        buffer = bytearray()
        for frame in frames:
            while len(buffer) < frame.packed_size:
                chunk = await anext(stream, None)
                if chunk is None:
                    raise DamagedTable("a packed blob ends inside a frame")
                buffer += chunk
            packed = bytes(buffer[: frame.packed_size])
            del buffer[: frame.packed_size]
            raw = await asyncio.to_thread(unpack_frame, packed, frame.raw_size)
            low = max(start - frame.raw_start, 0)
            high = min(end - frame.raw_start, frame.raw_size)
            yield raw[low:high] if (low, high) != (0, frame.raw_size) else raw
    finally:
        await stream.aclose()
