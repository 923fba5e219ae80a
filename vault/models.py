"""The records The Vault keeps, as they go out over HTTP.

Timestamps are held as their canonical text (see vault.clock): they are
stored, compared and sent in that one form, so no record re-parses them.
"""

from __future__ import annotations

from typing import Any, Literal, NewType

from attrs import define, field, frozen

SessionStatus = Literal["active", "paused", "ended"]
Role = Literal["user", "assistant", "system", "tool"]

SESSION_STATUSES: tuple[str, ...] = ("active", "paused", "ended")
ROLES: tuple[str, ...] = ("user", "assistant", "system", "tool")

# A timestamp as vault.clock writes it: ISO 8601, UTC, microseconds, "+00:00".
# Its own type so the OpenAPI description can say so (format: date-time).
UtcTime = NewType("UtcTime", str)


@frozen
class Session:
    id: str
    agent_name: str
    user_id: str | None
    status: SessionStatus
    metadata: dict[str, Any]
    created_at: UtcTime
    updated_at: UtcTime
    message_count: int


@frozen
class Message:
    id: str
    session_id: str
    seq: int
    role: Role
    content: Any
    name: str | None
    tool_calls: list[Any] | None
    tool_call_id: str | None
    metadata: dict[str, Any]
    timestamp: UtcTime


@frozen
class Event:
    """A change feed event: `id` sorts in commit order; `data` is the record as a read answers it,
    absent for a deletion."""

    id: str
    type: str
    session_id: str | None
    at: UtcTime
    data: dict[str, Any] | None = None


@frozen
class SearchHit:
    """One message found by a search, as it is described; sent as RenderedHit."""

    score: float
    snippet: str
    highlights: list[list[int]]
    message: Message


@frozen
class RenderedHit:
    """A search hit as the JSON text it is sent as (its message spliced in as stored)."""

    body: str


# Not frozen, for what a frozen class costs to make (one per message answered): see packing.Packed.
@define
class RenderedMessage:
    """A message as the JSON text it is served as, with its id and seq for links."""

    id: str
    seq: int
    body: str


@frozen
class KeyedSession:
    """A session and the key its client bound it to, unique within the session's app and user."""

    key: str
    session: Session


@frozen
class State:
    session_id: str
    data: dict[str, Any]
    version: int
    updated_at: UtcTime | None


@frozen
class ScopedState:
    """State beside a session's: an app's own (`user_id` null), or one user's within an app."""

    app_name: str
    user_id: str | None
    data: dict[str, Any]
    version: int
    updated_at: UtcTime | None


@frozen
class TypedValue:
    """A value as its client's serializer wrote it: the serializer's type tag and the bytes, in base64."""

    type: str
    data: str


@frozen
class CheckpointWrite:
    """A pending write of a task against a checkpoint."""

    task_id: str
    idx: int
    channel: str
    type: str
    data: str
    task_path: str


@frozen
class CheckpointKey:
    """Where a checkpoint was stored."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None


@frozen
class Checkpoint:
    """A thread's checkpoint: `checkpoint` as sent (without its channel values), the channel
    values its `channel_versions` name, and the pending writes stored against it."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    checkpoint: dict[str, Any]
    metadata: dict[str, Any]
    channel_values: dict[str, TypedValue]
    pending_writes: list[CheckpointWrite]
    created_at: UtcTime


@frozen
class Artifact:
    id: str
    session_id: str | None
    name: str
    type: str
    content_type: str | None
    path: str | None
    size: int | None
    sha256: str | None
    metadata: dict[str, Any]
    created_at: UtcTime


@frozen
class Metric:
    id: str
    entity_type: str
    entity_name: str
    session_id: str | None
    metric_name: str
    value: float
    labels: dict[str, str]
    timestamp: UtcTime


@frozen
class CacheEntry:
    key: str
    value: Any
    ttl: int | None
    created_at: UtcTime
    accessed_at: UtcTime
    expires_at: UtcTime | None


@frozen
class Page:
    """One page of a list and whether another follows it."""

    items: list[Any]
    has_more: bool = field(default=False)
    # About how many bytes of stored JSON the items hold, where the store measured
    # them (characters on SQLite): decides whether encoding the page is worth a
    # worker thread. Not part of what the page is, so not compared.
    size: int = field(default=0, eq=False)


@frozen
class Rollup:
    bucket_start: UtcTime
    count: int
    sum: float
    min: float
    max: float
    avg: float


@frozen
class BackupInfo:
    file: str
    size: int
    created_at: UtcTime
    duration_seconds: float
    integrity_check: str
    # Artifact blobs copied beside the database file (into `<file>.artifacts/`).
    artifacts: int = 0


@frozen
class BackupFile:
    """A backup found in the backup folder."""

    file: str
    size: int
    created_at: UtcTime


@frozen
class StorageUse:
    """One kind of data: how many records, their bytes as sent, and the bytes the database keeps for them."""

    count: int
    raw_bytes: int
    stored_bytes: int


@frozen
class StorageReport:
    """Storage per kind of data, as measured at `measured_at` (state and cache: those in the database)."""

    measured_at: UtcTime
    messages: StorageUse
    state: StorageUse
    cache: StorageUse
    artifacts: StorageUse
