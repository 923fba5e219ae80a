"""Request bodies, as the converter structures them.

Field types are the rules: each NewType below has a strict structure hook in
vault.converter, so a bad value is reported with its path (`body.ttl`).
`UNSET` marks a field the client did not send, as distinct from null.
"""

from __future__ import annotations

import enum
from typing import Any, Literal, NewType

from attrs import Factory, define, frozen

from vault.models import Role, SessionStatus

# A short identifying string: 1 to 256 characters, not only blanks.
Name = NewType("Name", str)
# Any JSON object (metadata, state data).
JsonObject = NewType("JsonObject", dict)
# A flat map of strings to strings (metric labels).
Labels = NewType("Labels", dict)
# A message body: a string, a list of content parts (objects), or null.
Content = NewType("Content", object)
# A list of tool calls (objects).
ToolCalls = NewType("ToolCalls", list)
# Any ISO 8601 timestamp; structured into the canonical UTC text form.
Timestamp = NewType("Timestamp", str)
# Seconds to live: a whole number from 1 to MAX_TTL.
Ttl = NewType("Ttl", int)
# A byte count: a whole number, zero or more.
ByteCount = NewType("ByteCount", int)
# A pending write's index: a 64-bit integer (negative for LangGraph's special channels).
WriteIndex = NewType("WriteIndex", int)
# A checkpoint namespace: 0 to 256 characters ("" is a thread's root namespace).
Namespace = NewType("Namespace", str)
# Bytes sent as base64 text (RFC 4648, with padding); structured into the bytes.
Base64Bytes = NewType("Base64Bytes", bytes)
# A channel's version: a string, or a finite number.
ChannelVersion = NewType("ChannelVersion", object)
# Any JSON value, null included.
JsonValue = NewType("JsonValue", object)
# A metric point's value: a finite number of magnitude at most MAX_METRIC_MAGNITUDE,
# so that the sum of any number of points in a rollup bucket stays finite.
MetricValue = NewType("MetricValue", float)

MAX_TTL = 10 * 365 * 24 * 3600
MAX_BATCH = 1000
MAX_IDEMPOTENCY_KEY = 255  # characters of an Idempotency-Key header
# 1e15 points of this size still sum below float's 1.8e308; byte counts, nanosecond
# timestamps and money all fit well inside it.
MAX_METRIC_MAGNITUDE = 1e18


class Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET


@frozen
class NewSession:
    agent_name: Name
    user_id: Name | None = None
    status: SessionStatus = "active"
    metadata: JsonObject = Factory(dict)


@frozen
class KeyedSessionFields:
    """A keyed session's own fields; its app, user and key are in its path."""

    status: SessionStatus = "active"
    metadata: JsonObject = Factory(dict)


@frozen
class SessionChanges:
    status: SessionStatus | Unset = UNSET
    user_id: Name | Unset | None = UNSET
    metadata: JsonObject | Unset = UNSET


@frozen
class NewMessage:
    session_id: Name
    role: Role
    content: Content = None
    name: Name | None = None
    tool_calls: ToolCalls | None = None
    tool_call_id: Name | None = None
    metadata: JsonObject = Factory(dict)


# Not frozen, for what a frozen class costs to make (one per message of a batch): see packing.Packed.
@define
class BatchMessage:
    """A message inside a batch: its session comes from the batch."""

    role: Role
    content: Content = None
    name: Name | None = None
    tool_calls: ToolCalls | None = None
    tool_call_id: Name | None = None
    metadata: JsonObject = Factory(dict)
    session_id: Name | None = None


@frozen
class MessageBatch:
    session_id: Name
    messages: list[BatchMessage]


@frozen
class StateBody:
    data: JsonObject


@frozen
class NewArtifact:
    name: Name
    session_id: Name | None = None
    type: Name = "file"
    path: str | None = None
    size: ByteCount | None = None
    content_type: Name | None = None
    metadata: JsonObject = Factory(dict)


@frozen
class ArtifactBody:
    """POST /storage/artifacts as JSON: the fields of NewArtifact, and the bytes
    themselves in `content` (text, stored as UTF-8) or `content_base64`, or
    neither for a reference to content stored elsewhere."""

    name: Name
    session_id: Name | None = None
    type: Name = "file"
    path: str | None = None
    size: ByteCount | None = None
    content_type: Name | None = None
    metadata: JsonObject = Factory(dict)
    content: str | None = None
    content_base64: str | None = None

    def artifact(self) -> NewArtifact:
        return NewArtifact(
            name=self.name,
            session_id=self.session_id,
            type=self.type,
            path=self.path,
            size=self.size,
            content_type=self.content_type,
            metadata=self.metadata,
        )


@frozen
class NewMetric:
    entity_name: Name
    metric_name: Name
    value: MetricValue
    entity_type: Name = "agent"
    session_id: Name | None = None
    labels: Labels = Factory(dict)
    timestamp: Timestamp | None = None


@frozen
class MetricBatch:
    metrics: list[NewMetric]


@frozen
class CacheWrite:
    value: JsonValue
    ttl: Ttl | None = None
    key: str | None = None


@frozen
class ScopedStateBody:
    data: JsonObject


@frozen
class ChannelBlob:
    """A channel's value at one version, as the client's serializer wrote it."""

    channel: Name
    version: ChannelVersion
    type: Name
    data: Base64Bytes


@frozen
class NewCheckpoint:
    checkpoint: JsonObject
    checkpoint_ns: Namespace = ""
    parent_checkpoint_id: Name | None = None
    metadata: JsonObject = Factory(dict)
    # The values of the channels whose versions are new in this checkpoint.
    blobs: list[ChannelBlob] = Factory(list)


@frozen
class NewWrite:
    idx: WriteIndex
    channel: Name
    type: Name
    data: Base64Bytes


@frozen
class NewWrites:
    """A task's writes against a checkpoint. A write with idx >= 0 already stored stays as
    it is (a retried task writes nothing twice); one with idx < 0 (errors, interrupts) replaces it."""

    task_id: Name
    writes: list[NewWrite]
    checkpoint_ns: Namespace = ""
    task_path: str = ""


@frozen
class ThreadCopy:
    target_thread_id: Name


@frozen
class RunDeletion:
    run_ids: list[Name]


@frozen
class ThreadPruning:
    thread_ids: list[Name]
    strategy: Literal["keep_latest", "delete"] = "keep_latest"


# What appending a message needs; its session is given alongside.
MessageFields = NewMessage | BatchMessage


def is_set(value: Any) -> bool:
    return value is not UNSET
