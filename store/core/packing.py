"""Documents kept zstd-compressed where that saves space, and given back byte for byte.

A document column (messages.body, state.data, cache.value) has two companions:
`<column>_packed`, the zstd frame when packing made the document smaller (the
text column is then empty), and `<column>_size`, the document's UTF-8 size as
sent. Rows written before compression existed have neither and are read as
they are.

Small JSON documents compress poorly alone, so frames of a kind are made with
the newest zstd dictionary trained on that kind's own documents
(vault.store.core.dictionaries). A frame names its dictionary (zstd's
`dict_id`); dictionaries are never changed or deleted, so every frame stays
readable, and a frame whose dictionary this process does not hold yet (another
instance trained it) is read once the store has fetched it by that id.

Every frame carries its content size and a checksum: a damaged frame is a
CorruptDocument, never a wrong answer or an allocation its header asks for.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import zstandard as zstd
from attrs import define
from vault.store.core.body_cache import BodyCache
from vault.store.errors import CorruptDocument, StoreError

KINDS = ("messages", "state", "cache")
LEVEL = 3
# Below this a frame's own header and checksum cost more than packing can win.
MIN_PACK_BYTES = 64


# Not frozen: one is made per document packed (a thousand per batch append), and
# a frozen attrs class costs twice as much to make. Nothing changes one once made.
@define
class Packed:
    """A document as a row keeps it: `text` alone, or `frame` with `text` empty."""

    text: str
    frame: bytes | None
    # The document's UTF-8 bytes as sent.
    size: int


class MissingDictionary(StoreError):
    """A frame names a dictionary this process does not hold (a StoreError, so a writer hands it back as it is)."""

    def __init__(self, dict_id: int) -> None:
        super().__init__(f"zstd dictionary {dict_id} is not loaded")
        self.dict_id = dict_id


class Dictionaries:
    """The dictionaries this process holds, by id; shared by every thread, added to, never changed."""

    def __init__(self) -> None:
        self._by_id: dict[int, zstd.ZstdCompressionDict] = {}
        self._newest: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, dict_id: int, kind: str, content: bytes) -> None:
        loaded = zstd.ZstdCompressionDict(content, dict_type=zstd.DICT_TYPE_FULLDICT)
        with self._lock:
            if dict_id in self._by_id:
                return
            self._by_id[dict_id] = loaded
            if dict_id > self._newest.get(kind, 0):
                self._newest[kind] = dict_id

    def get(self, dict_id: int) -> zstd.ZstdCompressionDict | None:
        return self._by_id.get(dict_id)

    def newest(self, kind: str) -> int | None:
        return self._newest.get(kind)

    def ids(self) -> set[int]:
        return set(self._by_id)


class Codec:
    """Packs and unpacks documents; safe to use from any thread (each keeps its own zstd contexts)."""

    def __init__(self, enabled: bool = True, body_cache_bytes: int = 0) -> None:
        self.enabled = enabled
        self.dictionaries = Dictionaries()
        # Message bodies already unpacked (vault.store.core.body_cache); None: every read unpacks.
        self.bodies = BodyCache(body_cache_bytes) if body_cache_bytes > 0 else None
        self._local = threading.local()

    # -- packing

    def pack(self, kind: str, text: str) -> Packed:
        """The row form of `text`: a frame when compression is on and the frame is smaller."""
        if not self.enabled:
            return _unpacked(text)
        return _packed(self._compressor(self.dictionaries.newest(kind)).compress, text)

    def packer(self, kind: str) -> Callable[[str], Packed]:
        """`pack` for many documents of a kind on this thread: the compressor is looked up once."""
        if not self.enabled:
            return _unpacked
        return functools.partial(_packed, self._compressor(self.dictionaries.newest(kind)).compress)

    def _compressor(self, dict_id: int | None) -> zstd.ZstdCompressor:
        cache = self._contexts("compressors")
        compressor = cache.get(dict_id)
        if compressor is None:
            compressor = zstd.ZstdCompressor(
                level=LEVEL,
                dict_data=None if dict_id is None else self.dictionaries.get(dict_id),
                write_checksum=True,
                write_content_size=True,
            )
            cache[dict_id] = compressor
        return compressor

    def _contexts(self, name: str) -> dict:
        found = getattr(self._local, name, None)
        if found is None:
            found = {}
            setattr(self._local, name, found)
        return found

    # -- unpacking

    def unpack(self, text: str, frame: bytes | None, size: int | None = None) -> str:
        """The document a row keeps; `size`, when the row has it, is checked against the frame's."""
        if frame is None:
            return text
        frame = bytes(frame)
        try:
            params = zstd.get_frame_parameters(frame)
        except zstd.ZstdError as exc:
            raise CorruptDocument(f"a stored document is not a zstd frame ({exc})") from None
        if size is not None and params.content_size != size:
            raise CorruptDocument(f"a stored document's frame says {params.content_size} bytes, its row says {size}")
        dictionary = None
        if params.dict_id:
            dictionary = self.dictionaries.get(params.dict_id)
            if dictionary is None:
                raise MissingDictionary(params.dict_id)
        try:
            raw = self._decompressor(params.dict_id, dictionary).decompress(frame)
            return raw.decode("utf-8")
        except (zstd.ZstdError, UnicodeDecodeError) as exc:
            raise CorruptDocument(f"a stored document does not decompress ({exc})") from None

    def _decompressor(self, dict_id: int, dictionary: zstd.ZstdCompressionDict | None) -> zstd.ZstdDecompressor:
        cache = self._contexts("decompressors")
        decompressor = cache.get(dict_id)
        if decompressor is None:
            decompressor = zstd.ZstdDecompressor(dict_data=dictionary)
            cache[dict_id] = decompressor
        return decompressor


OFF = Codec(enabled=False)


def _unpacked(text: str) -> Packed:
    return Packed(text, None, len(text.encode("utf-8")))


def _packed(compress: Callable[[bytes], bytes], text: str) -> Packed:
    raw = text.encode("utf-8")
    if len(raw) < MIN_PACK_BYTES:
        return Packed(text, None, len(raw))
    frame = compress(raw)
    if len(frame) >= len(raw):
        return Packed(text, None, len(raw))
    return Packed("", frame, len(raw))
