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

from attrs import define, frozen
from vault.store.blobs import BlobInfo
from vault.store.core.packing import Codec, Packed

from vault.inputs import CacheWrite, NewArtifact, NewMetric, NewSession, SessionChanges


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
class CreateKeyedSession(Command):
    """A new session bound to `key` within its app (`new.agent_name`) and user; AlreadyExists if the key is taken."""

    key: str
    new: NewSession
    max_bytes: int | None = None


@frozen
class DeleteSession(Command):
    """Answers the sha256s the session's artifacts pointed at, released after the commit."""

    session_id: str


# -- history


# Not frozen, for what a frozen class costs to make (one per message): see packing.Packed.
@define
class PreparedMessage:
    """A message to append, its tail already packed (vault.store.core.bodies) before the writer sees it."""

    id: str
    # role ... timestamp, as served.
    fields: dict[str, Any]
    tail: Packed
    # What the search index keeps of it (vault.search.indexed_words); empty: nothing to index.
    words: str = ""
    # The tail as served, unpacked: what the body cache keeps once the append is answered.
    served_tail: str = ""


@frozen
class AddMessages(Command):
    session_id: str
    messages: Sequence[PreparedMessage]
    # The messages' timestamp, taken when the command was built, and the session's updated_at.
    now: str
    max_bytes: int | None = None


@frozen
class ClearHistory(Command):
    session_id: str


# -- state


@frozen
class PutState(Command):
    session_id: str
    data: dict[str, Any]
    # The data as the row keeps it, packed before the writer sees it (bounded by then).
    packed: Packed
    if_match: int | None
    # Reads the current data only for a stale If-Match's answer.
    codec: Codec


@frozen
class PatchState(Command):
    """The merged document exists only on the writer: it is packed there with `codec`."""

    session_id: str
    patch: dict[str, Any]
    if_match: int | None
    codec: Codec
    max_bytes: int | None = None


@frozen
class DeleteState(Command):
    session_id: str
    if_match: int | None
    # Reads the current data only for a stale If-Match's answer.
    codec: Codec


# -- state of an app, or of a user of an app (user_key '' for the app's own)


@frozen
class PutScopedState(Command):
    app_name: str
    user_key: str
    data: dict[str, Any]
    packed: Packed
    if_match: int | None
    codec: Codec


@frozen
class PatchScopedState(Command):
    app_name: str
    user_key: str
    patch: dict[str, Any]
    if_match: int | None
    codec: Codec
    max_bytes: int | None = None


@frozen
class DeleteScopedState(Command):
    app_name: str
    user_key: str
    if_match: int | None
    codec: Codec


# -- checkpoints of threads


@frozen
class PutCheckpoint(Command):
    """Stores the checkpoint (replacing one of the same id) and the channel values it brings."""

    checkpoint: tuple
    blobs: list[tuple]


@frozen
class PutCheckpointWrites(Command):
    """Rows with idx >= 0 already stored are kept; rows with idx < 0 replace theirs."""

    writes: list[tuple]


@frozen
class DeleteThread(Command):
    """Answers how many checkpoints went."""

    thread_id: str


@frozen
class DeleteRuns(Command):
    """Deletes the checkpoints (and their writes) that these runs made; answers how many."""

    run_ids: list[str]


@frozen
class CopyThread(Command):
    """Copies every checkpoint, value and write of a thread to another; answers how many checkpoints."""

    source_thread_id: str
    target_thread_id: str


@frozen
class PruneThreads(Command):
    """`keep_latest`: only each namespace's newest checkpoint stays; `delete`: none does. Answers how many went."""

    thread_ids: list[str]
    keep_latest: bool


# -- artifacts


@frozen
class CreateArtifact(Command):
    """With `content`, the record claims that blob, and commits only if `present` finds it."""

    new: NewArtifact
    content: BlobInfo | None = None
    present: Callable[[str], bool] | None = None


@frozen
class DeleteArtifact(Command):
    """Answers a RemovedArtifact: the sha256 it pointed at, if any, is released after the commit."""

    artifact_id: str


@frozen
class RemovedArtifact:
    sha256: str | None
    # Its session, which the deletion's event names.
    session_id: str | None


@frozen
class ReleaseBlobs(Command):
    """Remove (with `remove`) each blob no artifact references; answers how many."""

    alone: ClassVar[bool] = True

    sha256s: list[str]
    remove: Callable[[str], bool]


@frozen
class DropRawBlob(Command):
    """Remove (with `drop`) a blob's raw form now that its packed copy is beside it; answers whether it did.

    When it did, the records that claim the blob take the packed copy's size.

    Ordered with claims and releases of the blob, as ReleaseBlobs is: a
    release between the check for the packed copy and the removal of the raw
    one could otherwise leave a newly claimed raw blob removed.
    """

    alone: ClassVar[bool] = True

    sha256: str
    # The packed copy's size, for the records that claim the blob.
    stored_size: int
    drop: Callable[[str], bool]


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
    # The value as the row keeps it, packed (and bounded) before the writer sees it.
    packed: Packed


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


# -- compression


@frozen
class AddDictionary(Command):
    """Keep a newly trained zstd dictionary; its id is the one its frames will carry."""

    dict_id: int
    kind: str
    content: bytes
    samples: int


@frozen
class Repack(Command):
    """Store rows of `kind` kept as plain text in their packed form (packed before the writer sees them).

    Each of `rows` is (key..., what the row must still hold, text, frame, size),
    as vault.store.core.repacking builds them; a row that changed since it was
    read is left alone. Answers how many rows were rewritten.
    """

    kind: str
    rows: list[tuple]


# -- housekeeping


@frozen
class PruneEventsChunk(Chunked):
    """Delete the oldest events recorded before `older_than`, and move the horizon past them."""

    older_than: str


@frozen
class PruneIdempotencyChunk(Chunked):
    older_than: str


@frozen
class Answer(Command):
    """Write nothing new and answer `value`: lets a multi-command result carry an idempotency key."""

    value: Any
