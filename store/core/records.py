"""What each write stores and answers, the same in every backend: the records and their rows.

A backend's write function reads and locks what it must, then builds its
record here and hands the row to its own SQL; so both backends store the
same text and answer the same record for the same command.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
from attrs import frozen
from vault.store.blobs import BlobInfo
from vault.store.core import bodies
from vault.store.core.commands import PreparedMessage
from vault.store.core.packing import OFF, Codec, Packed
from vault.store.errors import DocumentTooLarge, StoreUnavailable

from vault import clock, ids
from vault.inputs import CacheWrite, MessageFields, NewArtifact, NewMetric, NewSession, SessionChanges, is_set
from vault.jsonutil import dumps_text
from vault.merge_patch import merge_keys
from vault.models import Artifact, CacheEntry, Message, Metric, Session, State
from vault.search import indexed_words


def bounded_text(value: Any, field: str, limit: int | None) -> str:
    """The stored JSON of a document; DocumentTooLarge when its UTF-8 is over `limit` bytes."""
    text = storable_text(value)
    # A character is 1 to 4 bytes: most documents are decided without encoding them.
    if limit is not None and len(text) * 4 > limit:
        size = len(text.encode("utf-8"))
        if size > limit:
            raise DocumentTooLarge(field, size, limit)
    return text


def storable_text(value: Any) -> str:
    """The JSON a document is stored as; a value JSON or UTF-8 cannot hold (NaN, a lone surrogate) fails the write."""
    try:
        text = dumps_text(value)
        text.encode("utf-8")
    except ValueError as exc:
        raise StoreUnavailable(f"write failed: a document cannot be stored ({type(exc).__name__})") from None
    return text


def new_session(new: NewSession) -> Session:
    now = clock.now_text()
    return Session(ids.session_id(), new.agent_name, new.user_id, new.status, new.metadata, now, now, 0)


def session_row(session: Session, limit: int | None = None) -> tuple[Any, ...]:
    """Values for (id, agent_name, user_id, status, metadata, created_at, updated_at)."""
    s = session
    metadata = bounded_text(s.metadata, "metadata", limit)
    return (s.id, s.agent_name, s.user_id, s.status, metadata, s.created_at, s.updated_at)


def changed_session_row(session: Session, limit: int | None) -> tuple[Any, ...]:
    """Values for (status, user_id, metadata, updated_at, id) of an update; the merged metadata is bounded."""
    metadata = bounded_text(session.metadata, "metadata", limit)
    return (session.status, session.user_id, metadata, session.updated_at, session.id)


def changed_session(current: Session, changes: SessionChanges) -> Session:
    """The session with the given fields applied; metadata merges key by key."""
    status = changes.status if is_set(changes.status) else current.status
    user_id = changes.user_id if is_set(changes.user_id) else current.user_id
    metadata = merge_keys(current.metadata, changes.metadata) if is_set(changes.metadata) else current.metadata
    return Session(
        current.id,
        current.agent_name,
        user_id,
        status,
        metadata,
        current.created_at,
        clock.now_text(),
        current.message_count,
    )


def prepared_messages(
    codec: Codec, messages: Sequence[MessageFields], now: str, limit: int | None = None
) -> list[PreparedMessage]:
    """Each message with its id and its tail packed: built where the command is, not on the writer."""
    prepared = []
    pack = codec.packer("messages")
    message_ids = ids.message_ids(len(messages))
    for index, new in enumerate(messages):
        fields = {
            "role": new.role,
            "content": new.content,
            "name": new.name,
            "tool_calls": new.tool_calls,
            "tool_call_id": new.tool_call_id,
            "metadata": new.metadata,
            "timestamp": now,
        }
        text = bodies.tail(fields, message_text)
        # The whole body is bounded on the writer, once its seq is known; most are decided here.
        if limit is not None and len(text) * 4 > limit and len(text.encode("utf-8")) > limit:
            raise DocumentTooLarge(_message_field(len(messages), index), len(text.encode("utf-8")), limit)
        words = indexed_words(fields)
        prepared.append(PreparedMessage(message_ids[index], fields, pack(text), words, text))
    return prepared


_TEXT_OR_NULL = (str, type(None))


def message_text(fields: dict[str, Any]) -> str:
    """`storable_text(fields)` for a message's fields, without walking them when none can hold a float.

    A message of text with no tool calls and no metadata holds strings, nulls
    and an empty object only, which orjson writes byte for byte as the
    standard encoder does (dumps_text) and refuses when a string has a lone
    surrogate, so that it needs neither dumps_text's walk for floats nor
    storable_text's check of its UTF-8: half the work (6,600 instructions
    against 12,500, counted by callgrind, for the benchmark's message). Each
    field's type is checked exactly, so anything else takes the general path.
    """
    if (
        type(fields["content"]) is str
        and fields["tool_calls"] is None
        and type(fields["metadata"]) is dict
        and not fields["metadata"]
        and type(fields["role"]) is str
        and type(fields["name"]) in _TEXT_OR_NULL
        and type(fields["tool_call_id"]) in _TEXT_OR_NULL
        and type(fields["timestamp"]) is str
    ):
        try:
            return orjson.dumps(fields).decode()
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: storable_text refuses it with the write's own error
    return storable_text(fields)


def message_rows(
    session_id: str, prepared: Sequence[PreparedMessage], first_seq: int, limit: int | None = None
) -> list[tuple[Any, ...]]:
    """Values for (session_id, seq, id, role, body, body_packed, body_size); with `limit`, each body is bounded."""
    found = []
    for index, (row, size) in enumerate(bodies.stored_rows(session_id, first_seq, prepared)):
        if limit is not None and size > limit:
            raise DocumentTooLarge(_message_field(len(prepared), index), size, limit)
        found.append(row)
    return found


def _message_field(count: int, index: int) -> str:
    return "message" if count == 1 else f"messages[{index}]"


@frozen
class Appended:
    """What an append's write answers: its prepared messages, numbered from `first_seq`.

    An append answered with its bodies (bodies.rendered) never needs the
    Message records, so they are built only when asked for (`messages()`:
    add_messages, an idempotency record).
    """

    session_id: str
    prepared: Sequence[PreparedMessage]
    first_seq: int

    def messages(self) -> list[Message]:
        session_id = self.session_id
        return [
            Message(sent.id, session_id, seq, **sent.fields) for seq, sent in enumerate(self.prepared, self.first_seq)
        ]


def packed_document(codec: Codec, kind: str, value: Any, field: str, limit: int | None) -> Packed:
    """A document as its row keeps it: bounded (DocumentTooLarge), then packed where that saves space."""
    return codec.pack(kind, bounded_text(value, field, limit))


def next_state(current: State, data: dict[str, Any]) -> State:
    """The state replaced by `data`: the version moves on by one."""
    return State(current.session_id, data, current.version + 1, clock.now_text())


def state_row(state: State, packed: Packed | None = None) -> tuple[Any, ...]:
    """Values for rows.STATE_ROW_COLUMNS; without `packed`, the data is kept as plain text."""
    if packed is None:
        packed = OFF.pack("state", dumps_text(state.data))
    return (state.session_id, packed.text, packed.frame, packed.size, state.version, state.updated_at)


def new_artifact(new: NewArtifact, content: BlobInfo | None) -> Artifact:
    """With content, the record takes its sha256 and size from the blob."""
    return Artifact(
        ids.artifact_id(),
        new.session_id,
        new.name,
        new.type,
        new.content_type,
        new.path,
        new.size if content is None else content.size,
        None if content is None else content.sha256,
        new.metadata,
        clock.now_text(),
    )


def stored_size(content: BlobInfo | None) -> int | None:
    """The size the record's blob is kept in, for storage figures; None: no content, or not known (as sent)."""
    return None if content is None else content.stored_size


def artifact_row(a: Artifact) -> tuple[Any, ...]:
    """Values for rows.ARTIFACT_COLUMNS."""
    return (
        a.id,
        a.session_id,
        a.name,
        a.type,
        a.content_type,
        a.path,
        a.size,
        a.sha256,
        dumps_text(a.metadata),
        a.created_at,
    )


def new_metrics(metrics: list[NewMetric]) -> list[Metric]:
    """Points without a timestamp are stamped now, all with the same time."""
    now = clock.now_text()
    return [
        Metric(
            ids.metric_id(),
            m.entity_type,
            m.entity_name,
            m.session_id,
            m.metric_name,
            m.value,
            m.labels,
            m.timestamp or now,
        )
        for m in metrics
    ]


def metric_rows(metrics: list[Metric]) -> list[tuple[Any, ...]]:
    """Values for rows.METRIC_COLUMNS."""
    return [
        (m.id, m.entity_type, m.entity_name, m.session_id, m.metric_name, m.value, dumps_text(m.labels), m.timestamp)
        for m in metrics
    ]


def new_cache_entry(key: str, write: CacheWrite) -> CacheEntry:
    moment = clock.now()
    now = clock.format_time(moment)
    # From the same moment as created_at, so expires_at - created_at is exactly the ttl.
    expires_at = None if write.ttl is None else clock.format_time(moment + timedelta(seconds=write.ttl))
    return CacheEntry(key, write.value, write.ttl, now, now, expires_at)


def cache_row(entry: CacheEntry, packed: Packed | None = None) -> tuple[Any, ...]:
    """Values for rows.CACHE_ROW_COLUMNS; without `packed`, the value is kept as plain text."""
    if packed is None:
        packed = OFF.pack("cache", dumps_text(entry.value))
    return (
        entry.key,
        packed.text,
        packed.frame,
        packed.size,
        entry.ttl,
        entry.created_at,
        entry.accessed_at,
        entry.expires_at,
    )


def has_expired(expires_at: str | None) -> bool:
    return expires_at is not None and expires_at <= clock.now_text()
