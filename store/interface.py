"""The store interface: one method per operation, each with its contract.

Every backend implements this and passes the same contract tests
(tests/store/). Writes return only after their transaction has committed.
Unknown ids raise vault.store.errors.NotFound; a full write queue raises StoreBusy.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from attrs import frozen
from vault.store.artifact_content import ArtifactContent
from vault.store.blobs import BlobUpload
from vault.store.core.events import EventFilter, FeedEvent
from vault.store.core.feed import Feed
from vault.store.core.feed_cursor import EventBounds
from vault.store.orphans import OrphanSweep
from vault.store.positions import ReplicaStatus

from vault.inputs import (
    CacheWrite,
    MessageFields,
    NewArtifact,
    NewCheckpoint,
    NewMetric,
    NewSession,
    NewWrites,
    SessionChanges,
)
from vault.models import (
    Artifact,
    BackupFile,
    BackupInfo,
    CacheEntry,
    Checkpoint,
    CheckpointKey,
    Message,
    Metric,
    Page,
    RenderedMessage,
    ScopedState,
    Session,
    State,
    StorageReport,
)
from vault.queries import (
    ArtifactQuery,
    CheckpointQuery,
    HistoryQuery,
    KeyedSessionQuery,
    MetricQuery,
    RollupQuery,
    SearchQuery,
    SessionQuery,
)


@frozen
class IdempotencyClaim:
    """An `Idempotency-Key` and a fingerprint of the request that carried it.

    A write that carries a claim records its result with the key in the same
    transaction; a later write with the same key and fingerprint returns that
    result and writes nothing, and one with another fingerprint raises
    IdempotencyMismatch.
    """

    key: str
    fingerprint: str


class Store(Protocol):
    backend: str
    # Whether it reads Vault-Min-LSN and reports Vault-Commit-LSN (store/positions.py): PostgreSQL's WAL.
    tracks_positions: bool

    async def start(self) -> None:
        """Open connections and apply migrations; raise if the database is unusable."""

    async def close(self) -> None:
        """Stop taking commands, finish the queued ones, close. Safe to call twice."""

    @property
    def backends(self) -> dict[str, str]:
        """Where each kind of data lives: {"database", "cache", "state", "artifacts"} to a backend name."""

    async def ping(self) -> None:
        """Return when the database answers a read and the writer runs, and the cache answers; raise otherwise."""

    def observe(self, telemetry: Any) -> None:
        """Report commits, queue depth and database size to the app's vault.telemetry.Telemetry."""

    def replicas(self) -> list[ReplicaStatus]:
        """The read replicas and their state (empty without replicas), as /ready and `vault check` list them."""

    def job_lock(self, job_id: str, min_gap: float | None = None) -> AbstractAsyncContextManager[bool]:
        """`async with store.job_lock(id, gap) as acquired:` whether this instance runs the job now.

        Not acquired while another instance sharing the database runs the job,
        or when one started it less than `min_gap` seconds ago: a scheduled
        job then runs once per interval across instances, not once per instance.
        """

    # -- sessions

    async def create_session(self, new: NewSession, claim: IdempotencyClaim | None = None) -> Session:
        """Create a session with a fresh id."""

    async def get_session(self, session_id: str) -> Session:
        """The session; NotFound if there is none."""

    async def update_session(self, session_id: str, changes: SessionChanges) -> Session:
        """Apply the given fields; metadata merges key by key, a null value removes its key."""

    async def delete_session(self, session_id: str) -> None:
        """Delete the session and its history, state, artifacts and metrics, atomically.

        Then release the blobs its artifacts pointed at.
        """

    async def list_sessions(self, query: SessionQuery) -> Page:
        """Sessions matching every given filter, newest first."""

    async def create_keyed_session(self, key: str, new: NewSession) -> Session:
        """Create a session (fresh id) bound to `key` within its app (`agent_name`) and `user_id`, atomically.

        AlreadyExists, and no session made, if the key is taken; of two racing creates one wins.
        Deleting the session frees its key.
        """

    async def get_keyed_session(self, app_name: str, user_id: str, key: str) -> Session:
        """The session bound to the key; NotFound if none is."""

    async def list_keyed_sessions(self, query: KeyedSessionQuery) -> Page:
        """The keyed sessions of an app, or of one user of it, as KeyedSession items by user and key."""

    async def search(self, query: SearchQuery) -> Page:
        """Messages holding every term of the query and matching every filter, best first,
        as vault.models.RenderedHit items; a message is found once its append is answered
        and never after it is gone."""

    # -- history

    async def add_messages(
        self, session_id: str, messages: Sequence[MessageFields], claim: IdempotencyClaim | None = None
    ) -> list[Message]:
        """Append all messages or none; each gets the next seq of its session."""

    async def add_rendered_messages(
        self, session_id: str, messages: Sequence[MessageFields], claim: IdempotencyClaim | None = None
    ) -> list[RenderedMessage]:
        """The same append, each message answered as the JSON text it is served as (no encoding again)."""

    async def get_message(self, message_id: str) -> Message:
        """One message by id."""

    async def list_messages(self, query: HistoryQuery) -> Page:
        """A window of a session's history, always oldest first (see HistoryQuery)."""

    async def list_message_bodies(self, query: HistoryQuery) -> Page:
        """The same window as list_messages, as vault.models.RenderedMessage items (JSON text)."""

    async def clear_history(self, session_id: str) -> int:
        """Delete every message of the session; return how many. Seq numbers are not reused."""

    # -- state (through the store's StateStore port, vault.store.state_port)

    async def get_state(self, session_id: str) -> State:
        """The state; `data={}`, `version=0` for a session that has none yet."""

    async def put_state(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        """Replace the data; version + 1. PreconditionFailed if `if_match` is not the version."""

    async def patch_state(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        """Apply a JSON merge patch (RFC 7396) to the data atomically; version + 1."""

    async def delete_state(self, session_id: str, if_match: int | None) -> State:
        """Empty the data; the version still moves on, so If-Match never matches stale copies."""

    # -- state of an app (user_id None) or of one user of it; always in the main database

    async def get_scoped_state(self, app_name: str, user_id: str | None) -> ScopedState:
        """The state; `data={}`, `version=0` for a scope never written. Any names exist: no NotFound."""

    async def put_scoped_state(
        self, app_name: str, user_id: str | None, data: dict[str, Any], if_match: int | None
    ) -> ScopedState:
        """Replace the data; version + 1. PreconditionFailed (with the current ScopedState) on a stale `if_match`."""

    async def patch_scoped_state(
        self, app_name: str, user_id: str | None, patch: dict[str, Any], if_match: int | None
    ) -> ScopedState:
        """Apply a JSON merge patch (RFC 7396) to the data atomically; version + 1."""

    async def delete_scoped_state(self, app_name: str, user_id: str | None, if_match: int | None) -> ScopedState:
        """Empty the data; the version still moves on (a scope never written stays at 0)."""

    # -- checkpoints of threads (keyed by thread, namespace and checkpoint id; no session needed)

    async def put_checkpoint(self, thread_id: str, checkpoint_id: str, new: NewCheckpoint) -> CheckpointKey:
        """Store the checkpoint, replacing one with the same key, and the channel values it brings
        (a value already stored for that channel and version is kept)."""

    async def put_checkpoint_writes(self, thread_id: str, checkpoint_id: str, writes: NewWrites) -> int:
        """Store a task's pending writes against a checkpoint: a write with idx >= 0 already stored
        is kept as it was, one with idx < 0 replaces its own. Answers how many were sent."""

    async def get_checkpoint(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with the values its channel_versions name and its pending writes
        (ordered by task path, task id, idx); NotFound if there is none."""

    async def list_checkpoints(self, query: CheckpointQuery) -> Page:
        """The thread's checkpoints, newest (highest id) first, as `query` narrows them."""

    async def delete_thread(self, thread_id: str) -> int:
        """Delete the thread's checkpoints, values and writes in every namespace; answers how many checkpoints."""

    async def delete_runs(self, run_ids: list[str], claim: IdempotencyClaim | None = None) -> int:
        """Delete the checkpoints whose metadata names one of these runs, with their writes."""

    async def copy_thread(
        self, source_thread_id: str, target_thread_id: str, claim: IdempotencyClaim | None = None
    ) -> int:
        """Copy every checkpoint, value and write of a thread to another, in one transaction
        (checkpoints the target already has are kept). Answers how many were copied."""

    async def prune_threads(
        self, thread_ids: list[str], keep_latest: bool, claim: IdempotencyClaim | None = None
    ) -> int:
        """Keep only each namespace's newest checkpoint (or none) of each thread; answers how many went."""

    # -- artifacts

    def upload_content(self, limit: int | None = None) -> BlobUpload:
        """`async with store.upload_content(limit) as upload:` a place to stream an artifact's bytes into.

        The bytes are hashed while written and refused past `limit`
        (ContentTooLarge); memory stays flat whatever the size. They become
        content only through create_artifact(content=upload); leaving the
        block discards whatever no record claimed.
        """

    async def create_artifact(
        self, new: NewArtifact, claim: IdempotencyClaim | None = None, content: BlobUpload | None = None
    ) -> Artifact:
        """Record an artifact; NotFound if its session does not exist.

        With `content` (from upload_content), the record takes its sha256 and
        size from it, and commits only with its blob present: the blob is placed
        first, and placed again if a release removed it meanwhile. If nothing
        is recorded, the blob is released.
        """

    async def get_artifact(self, artifact_id: str) -> Artifact:
        """One artifact's metadata."""

    async def list_artifacts(self, query: ArtifactQuery) -> Page:
        """Artifacts matching the filters, newest first."""

    async def delete_artifact(self, artifact_id: str) -> None:
        """Delete one artifact; then release its blob (removed if no other artifact has the same bytes)."""

    async def artifact_content(self, artifact: Artifact) -> ArtifactContent:
        """The stored bytes of `artifact` (a record just read, with a sha256): their size and any range.

        NotFound if the artifact was deleted since its record was read, here
        or when a range is opened; BlobMissing if its record stays but the
        bytes are gone. An opened range is read to its end even if the
        artifact is deleted meanwhile.
        """

    async def referenced_blobs(self, sha256s: list[str]) -> set[str]:
        """Those of the sha256s that some artifact record points at."""

    async def release_blobs(self, sha256s: list[str]) -> int:
        """Remove each blob no artifact references; return how many were removed.

        The "no reference" check and the removal are ordered with the commits
        of create_artifact, so a committed record never loses its blob. While
        a backup copies blobs, removals wait until it is done.
        """

    # -- metrics

    async def record_metrics(self, metrics: list[NewMetric], claim: IdempotencyClaim | None = None) -> list[Metric]:
        """Record all points or none; NotFound if a named session does not exist."""

    async def get_metric(self, metric_id: str) -> Metric:
        """One raw point."""

    async def list_metrics(self, query: MetricQuery) -> Page:
        """Raw points matching the filters, newest first."""

    # -- cache (through the store's CacheStore port, vault.store.cache_port)

    async def cache_get(self, key: str) -> CacheEntry:
        """The live entry; NotFound if there is none or it has expired."""

    async def cache_set(self, key: str, write: CacheWrite) -> CacheEntry:
        """Set the value and restart its TTL."""

    async def cache_delete(self, key: str) -> None:
        """Delete a live entry; NotFound if there is none."""

    async def cache_cleanup(self, claim: IdempotencyClaim | None = None) -> int:
        """Delete every expired entry, in bounded chunks; return how many."""

    # -- change feed

    feed: Feed

    def valid_event_id(self, text: str) -> bool:
        """Whether `text` has the form of this backend's event ids."""

    async def event_bounds(self) -> EventBounds:
        """The oldest and newest events kept, and the newest one retention has deleted."""

    async def resume_point(self, after: str | None) -> str:
        """Where a reader starts: None, at the oldest event kept; "now", after the newest;
        an event id, after it, or EventsPruned if events after it are no longer kept."""

    async def read_events(self, after: str, limit: int, only: EventFilter) -> list[FeedEvent]:
        """At most `limit` events after `after` that match `only`, in commit order; only
        events that no write still running can precede (none is ever read out of order)."""

    async def prune_events(self, older_than: str) -> int:
        """Delete the events recorded before `older_than`; answers how many."""

    # -- housekeeping (called by jobs/)

    async def fold_metric_rollups(self) -> int:
        """Fold raw points not yet folded into minute/hour/day rollups; return how many.

        Incremental and idempotent: a point is counted exactly once, even if a
        run is interrupted and repeated.
        """

    async def prune_metrics(self, older_than: str) -> int:
        """Delete raw points older than the timestamp, only those already folded."""

    async def list_rollups(self, query: RollupQuery) -> Page:
        """Rollup buckets of one metric, oldest first, summed over the matching series."""

    async def prune_idempotency_keys(self, older_than: str) -> int:
        """Forget idempotency keys recorded before the timestamp."""

    async def sweep_orphans(self, cutoff: float) -> OrphanSweep:
        """Remove partial uploads, and blobs no artifact references, last written before `cutoff`.

        `cutoff` is in seconds since the epoch. Each removal goes through
        release_blobs, so a blob a new record claims meanwhile stays.
        """

    async def list_backups(self, backup_dir: str) -> list[BackupFile]:
        """The backups in `backup_dir`, newest first, with their sizes."""

    async def backup_into(self, backup_dir: str, keep: int) -> BackupInfo:
        """Take a backup under a new timestamped name in `backup_dir`, then keep only the newest `keep`.

        Older backups go together with their `.artifacts/` folders.
        """

    # -- compression at rest (vault.store.core.packing)

    async def load_dictionaries(self) -> int:
        """Load the zstd dictionaries the database holds and this process does not; answer how many."""

    async def train_dictionaries(self, force: bool = False) -> list[Any]:
        """Train a dictionary for each kind of document that is due (or every kind with `force`) and has at
        least MIN_SAMPLES documents; answer what was trained. Nothing while compression is off."""

    async def compress_existing(self, progress: Any = None) -> dict[str, int]:
        """Rewrite rows kept as plain text in their packed form, in bounded batches while the service runs,
        then artifact blobs kept raw (packed copy placed, then the raw one removed: readable at every step);
        answer rows (for "artifacts", blobs) rewritten per kind. Idempotent; nothing while compression is off."""

    async def measure_storage(self) -> StorageReport:
        """Measure count, raw bytes and stored bytes per kind of data now, and keep it as the last report."""

    async def storage_report(self, fresh: bool = False) -> StorageReport:
        """The last measurement; measured now if there is none yet, or with `fresh`."""

    def last_storage_report(self) -> StorageReport | None:
        """The last measurement, without measuring (for /metrics)."""

    async def backup(self, target: str, progress: Any = None) -> BackupInfo:
        """Write a consistent, checked copy of the live database to `target`.

        The blobs the copy references go beside it, into `<target>.artifacts/`.
        """
