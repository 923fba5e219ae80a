"""Rows kept as plain text (written before compression, or while it was off), rewritten packed.

`vault compress` reads a bounded batch of plain rows, packs them here (off
the writer, on a worker thread), and hands the result to the writer as one
Repack command, which rewrites a row only if it still holds what was read.
Each rewritten row is served byte for byte as before.
"""

from __future__ import annotations

from typing import Any

from vault.store.core import bodies
from vault.store.core.packing import Codec

# Rows per batch: one short write transaction each, so the service keeps going.
REPACK_CHUNK = 500


def repacked(codec: Codec, kind: str, found: list[tuple]) -> list[tuple]:
    """Repack rows as the backend's `plain_rows` reads them.

    Each result is (text, frame, size, *key): messages key (session_id, seq),
    state (session_id, version), cache (key, old value).
    """
    rewritten = []
    for row in found:
        if kind == "messages":
            packed = _message(codec, *row)
            if packed is not None:
                rewritten.append(packed)
        elif kind == "state":
            session_id, text, version = row
            packed = codec.pack(kind, text)
            rewritten.append((packed.text, packed.frame, packed.size, session_id, version))
        else:
            key, text = row
            packed = codec.pack(kind, text)
            rewritten.append((packed.text, packed.frame, packed.size, key, text))
    return rewritten


def _message(codec: Codec, message_id: str, session_id: str, seq: int, body: str) -> tuple[Any, ...] | None:
    try:
        tail = bodies.tail_of(body)
    except ValueError:
        return None
    # Only a body that its row's columns rebuild exactly is packed; any other stays as it is.
    if bodies.head(message_id, session_id, seq) + tail != body:
        return None
    packed = codec.pack("messages", tail)
    size = len(body.encode("utf-8"))
    if packed.frame is None:
        return (body, None, size, session_id, seq)
    return ("", packed.frame, size, session_id, seq)


def row_key(kind: str, row: tuple) -> tuple:
    """Where the next batch of `plain_rows` starts: the key of the last row read."""
    if kind == "messages":
        return (row[1], row[2])
    return (row[0],)


def samples_of(codec: Codec, kind: str, found: list[tuple]) -> list[str]:
    """Dictionary samples from rows of a backend's sample query: what a frame of that kind holds."""
    if kind == "messages":
        return [bodies.tail_of(bodies.body(codec, *row)) for row in found]
    return [codec.unpack(*row) for row in found]
