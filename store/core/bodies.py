"""A message's stored JSON in two parts: a head rebuilt from the row's own columns, and a tail.

A body is `{"id":...,"session_id":...,"seq":N,"role":...,...,"timestamp":...}`.
Its seq number is only known on the writer, inside the transaction, but
compression must happen before a command reaches the writer (SQLite's writer
is the one serialized path). So only the tail, from `,"role":` to the end, is
packed when the command is built; the head is made from the id, session_id
and seq columns wherever the body is needed whole. Those columns are written
from the same record, so head + tail is the body byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from vault.store.core.packing import Codec

from vault.converter import unstructure
from vault.jsonutil import dumps, dumps_text
from vault.models import Message, RenderedMessage

if TYPE_CHECKING:
    # records builds its rows with this module.
    from vault.store.core.commands import PreparedMessage
    from vault.store.core.records import Appended

# Where the tail starts in a whole body: JSON escapes the quote inside strings,
# so this text can only be the key that follows seq.
TAIL_START = ',"role":'
HEAD_START = '{"id":'


def head(message_id: str, session_id: str, seq: int) -> str:
    return head_before_seq(message_id, session_id) + str(seq)


def head_before_seq(message_id: str, session_id: str) -> str:
    """The head up to its seq's digits (for a backend that numbers the message in SQL)."""
    return HEAD_START + _json_string(message_id) + _after_id(session_id)


def _after_id(session_id: str) -> str:
    return ',"session_id":' + _json_string(session_id) + ',"seq":'


def _json_string(text: str) -> str:
    """`dumps_text(text)`, without the encoder for the ids the service makes (every window rebuilds 50 heads)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return dumps_text(text)


def tail(fields: dict[str, Any], encode: Callable[[Any], str] = dumps_text) -> str:
    """The tail of the fields after seq (role ... timestamp), in the order they are served."""
    return "," + encode(fields)[1:]


def tail_of(body: str) -> str:
    """The tail of a whole body (for dictionary samples)."""
    return body[body.index(TAIL_START) :]


def body(codec: Codec, message_id: str, session_id: str, seq: int, text: str, frame: Any, size: int | None) -> str:
    """The body as served, from a row's (id, session_id, seq, body, body_packed, body_size)."""
    if frame is None:
        return text
    known = codec.bodies
    if known is not None:
        found = known.get(message_id)
        if found is not None:
            return found
    start = head(message_id, session_id, seq)
    packed_size = None if size is None else size - (len(start) if start.isascii() else len(start.encode("utf-8")))
    whole = start + codec.unpack(text, frame, packed_size)
    if known is not None:
        known.put(message_id, whole)
    return whole


def stored_rows(
    session_id: str, first_seq: int, prepared: Sequence[PreparedMessage]
) -> Iterator[tuple[tuple[Any, ...], int]]:
    """Values for each message's (session_id, seq, id, role, body, body_packed, body_size), and its body's size."""
    after_id = _after_id(session_id)  # the same in every head: made once
    after_id_size = _utf8_size(after_id)
    for seq, message in enumerate(prepared, first_seq):
        id_text = _json_string(message.id)
        number = str(seq)
        role, tail = message.fields["role"], message.tail
        size = len(HEAD_START) + _utf8_size(id_text) + after_id_size + len(number) + tail.size
        if tail.frame is None:
            body = f"{HEAD_START}{id_text}{after_id}{number}{tail.text}"
            yield (session_id, seq, message.id, role, body, None, size), size
        else:
            yield (session_id, seq, message.id, role, "", tail.frame, size), size


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def rendered(appended: Appended) -> list[RenderedMessage]:
    """What an append answers, each message as its body: head + the tail already made, never encoded again."""
    after_id = _after_id(appended.session_id)  # the same in every head: made once
    return [
        RenderedMessage(sent.id, seq, f"{HEAD_START}{_json_string(sent.id)}{after_id}{seq}{sent.served_tail}")
        for seq, sent in enumerate(appended.prepared, appended.first_seq)
    ]


def rendered_records(messages: Sequence[Message]) -> list[RenderedMessage]:
    """Messages as their bodies, encoded from their records (a replayed append's)."""
    return [RenderedMessage(message.id, message.seq, dumps(unstructure(message)).decode()) for message in messages]
