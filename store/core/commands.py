"""The store's write commands: every write a backend runs is one of these.

A command names an operation and carries its inputs, nothing else; one
that stores a document carries `max_bytes`, the bound its stored JSON is
checked against where it is built (DocumentTooLarge, nothing written). Each
backend maps a command's type to the function that runs it in one table
(vault.store.sqlite.operations, vault.store.postgres.operations); a writer
takes these and nothing else, so there is no "run any function" write path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from attrs import frozen
from vault.store.blobs import BlobInfo

from vault.inputs import CacheWrite, MessageFields, NewArtifact, NewMetric, NewSession, SessionChanges


@frozen
class Command:
    # Runs in a transaction of its own: for commands with effects outside the
    # database (unlinking files), which must never share a COMMIT that may fail.
    alone: ClassVar[bool] = False


@frozen
class Chunked(Command):
    """A sweep's step: does at most `limit` rows; the sweep repeats it until it falls short."""

    limit: int


# -- sessions


@frozen
class CreateSession(Command):
    new: NewSession
    max_bytes: int | None = None


@frozen
class UpdateSession(Command):
    session_id: str
    changes: SessionChanges
    max_bytes: int | None = None


@frozen
class DeleteSession(Command):
    """Answers the sha256s the session's artifacts pointed at, released after the commit."""

    session_id: str


# -- history


@frozen
class AddMessages(Command):
    session_id: str
    messages: Sequence[MessageFields]
    max_bytes: int | None = None


@frozen
class ClearHistory(Command):
    session_id: str


# -- state


@frozen
class PutState(Command):
    session_id: str
    data: dict[str, Any]
    if_match: int | None
    max_bytes: int | None = None


@frozen
class PatchState(Command):
    session_id: str
    patch: dict[str, Any]
    if_match: int | None
    max_bytes: int | None = None


@frozen
class DeleteState(Command):
    session_id: str
    if_match: int | None


# -- artifacts


@frozen
class CreateArtifact(Command):
    """With `content`, the record claims that blob, and commits only if `present` finds it."""

    new: NewArtifact
    content: BlobInfo | None = None
    present: Callable[[str], bool] | None = None


@frozen
class DeleteArtifact(Command):
    """Answers the sha256 the artifact pointed at, if any, released after the commit."""

    artifact_id: str


@frozen
class ReleaseBlobs(Command):
    """Remove (with `remove`) each blob no artifact references; answers how many."""

    alone: ClassVar[bool] = True

    sha256s: list[str]
    remove: Callable[[str], bool]


# -- metrics


@frozen
class RecordMetrics(Command):
    metrics: list[NewMetric]


@frozen
class FoldRollupsChunk(Chunked):
    pass


@frozen
class PruneMetricsChunk(Chunked):
    older_than: str


# -- cache


@frozen
class CacheSet(Command):
    key: str
    write: CacheWrite
    max_bytes: int | None = None


@frozen
class CacheDelete(Command):
    key: str


@frozen
class TouchCache(Command):
    """Record read times (key to time); never moves one backwards."""

    touches: dict[str, str]


@frozen
class CacheCleanupChunk(Chunked):
    pass


# -- housekeeping


@frozen
class PruneIdempotencyChunk(Chunked):
    older_than: str


@frozen
class Answer(Command):
    """Write nothing new and answer `value`: lets a multi-command result carry an idempotency key."""

    value: Any
