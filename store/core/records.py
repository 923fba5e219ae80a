"""What each write stores and answers, the same in every backend: the records and their rows.

A backend's write function reads and locks what it must, then builds its
record here and hands the row to its own SQL; so both backends store the
same text and answer the same record for the same command.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from vault.store.blobs import BlobInfo
from vault.store.errors import DocumentTooLarge

from vault import clock, ids
from vault.inputs import CacheWrite, MessageFields, NewArtifact, NewMetric, NewSession, SessionChanges, is_set
from vault.jsonutil import dumps_text
from vault.merge_patch import merge_keys
from vault.models import Artifact, CacheEntry, Message, Metric, Session, State


def bounded_text(value: Any, field: str, limit: int | None) -> str:
    """The stored JSON of a document; DocumentTooLarge when its UTF-8 is over `limit` bytes."""
    text = dumps_text(value)
    # A character is 1 to 4 bytes: most documents are decided without encoding them.
    if limit is not None and len(text) * 4 > limit:
        size = len(text.encode("utf-8"))
        if size > limit:
            raise DocumentTooLarge(field, size, limit)
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


def message_records(session_id: str, messages: Sequence[MessageFields], first_seq: int, now: str) -> list[dict]:
    """Plain dicts in Message's field order: each is stored as the JSON it is served as
    (one encoding per message, no unstructuring pass)."""
    return [
        {
            "id": ids.message_id(),
            "session_id": session_id,
            "seq": seq,
            "role": new.role,
            "content": new.content,
            "name": new.name,
            "tool_calls": new.tool_calls,
            "tool_call_id": new.tool_call_id,
            "metadata": new.metadata,
            "timestamp": now,
        }
        for seq, new in enumerate(messages, start=first_seq)
    ]


def message_rows(records: list[dict], limit: int | None = None) -> list[tuple[Any, ...]]:
    """Values for (session_id, seq, id, role, body); with `limit`, each stored body is bounded."""
    return [
        (r["session_id"], r["seq"], r["id"], r["role"], bounded_text(r, _message_field(records, index), limit))
        for index, r in enumerate(records)
    ]


def _message_field(records: list[dict], index: int) -> str:
    return "message" if len(records) == 1 else f"messages[{index}]"


def messages_of(records: list[dict]) -> list[Message]:
    return [Message(**record) for record in records]


def next_state(current: State, data: dict[str, Any]) -> State:
    """The state replaced by `data`: the version moves on by one."""
    return State(current.session_id, data, current.version + 1, clock.now_text())


def state_row(state: State, limit: int | None = None) -> tuple[Any, ...]:
    """Values for (session_id, data, version, updated_at); with `limit`, the data is bounded."""
    return (state.session_id, bounded_text(state.data, "data", limit), state.version, state.updated_at)


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


def cache_row(entry: CacheEntry, limit: int | None = None) -> tuple[Any, ...]:
    """Values for rows.CACHE_COLUMNS; with `limit`, the value is bounded."""
    value = bounded_text(entry.value, "value", limit)
    return (entry.key, value, entry.ttl, entry.created_at, entry.accessed_at, entry.expires_at)


def has_expired(expires_at: str | None) -> bool:
    return expires_at is not None and expires_at <= clock.now_text()
