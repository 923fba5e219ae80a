"""The records The Vault keeps, as they go out over HTTP.

Timestamps are held as their canonical text (see vault.clock): they are
stored, compared and sent in that one form, so no record re-parses them.
"""

from __future__ import annotations

from typing import Any, Literal

from attrs import field, frozen

SessionStatus = Literal["active", "paused", "ended"]
Role = Literal["user", "assistant", "system", "tool"]

SESSION_STATUSES: tuple[str, ...] = ("active", "paused", "ended")
ROLES: tuple[str, ...] = ("user", "assistant", "system", "tool")


@frozen
class Session:
    id: str
    agent_name: str
    user_id: str | None
    status: str
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    message_count: int


@frozen
class Message:
    id: str
    session_id: str
    seq: int
    role: str
    content: Any
    name: str | None
    tool_calls: list[Any] | None
    tool_call_id: str | None
    metadata: dict[str, Any]
    timestamp: str


@frozen
class State:
    session_id: str
    data: dict[str, Any]
    version: int
    updated_at: str | None


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
    created_at: str


@frozen
class Metric:
    id: str
    entity_type: str
    entity_name: str
    session_id: str | None
    metric_name: str
    value: float
    labels: dict[str, str]
    timestamp: str


@frozen
class CacheEntry:
    key: str
    value: Any
    ttl: int | None
    created_at: str
    accessed_at: str
    expires_at: str | None


@frozen
class Page:
    """One page of a list and whether another follows it."""

    items: list[Any]
    has_more: bool = field(default=False)


@frozen
class Rollup:
    bucket_start: str
    count: int
    sum: float
    min: float
    max: float
    avg: float


@frozen
class BackupInfo:
    file: str
    size: int
    created_at: str
    duration_seconds: float
    integrity_check: str
