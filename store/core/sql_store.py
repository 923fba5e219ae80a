"""SqlStore: the store interface once, for every SQL backend.

What the backends do alike lives here: each Store method as a command for the
writer or a read, chunked sweeps, the content-backed artifact flow, cache
read times batched into one write a second, the backup around a backend's
copy, and idempotent replays revived as their type. A backend (huey's
BaseSqlStorage with SqliteStorage and PostgresStorage on top) supplies its
connections and SQL through the hooks below: `_write` runs a command from
vault.store.core.commands, `_read` runs one of its `_queries`, and `_snapshot`
copies its database to a backup file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from types import ModuleType
from typing import Any, ClassVar, TypeVar

from vault.store import errors
from vault.store.blob_operations import BlobOperations
from vault.store.blobs import BlobInfo, BlobStore, BlobUpload
from vault.store.cache_port import CacheStore
from vault.store.content import ContentKeeper
from vault.store.core import bodies, checkpoints, commands, records, scoped_state
from vault.store.core.compression_operations import CompressionOperations
from vault.store.core.copies import Check, copy_artifacts
from vault.store.core.events import EventFilter, FeedEvent
from vault.store.core.feed import Feed
from vault.store.core.feed_cursor import START, EventBounds, valid_event_id
from vault.store.core.idempotency import Replayed, revive
from vault.store.core.migrations import Migration
from vault.store.core.packing import Codec, MissingDictionary
from vault.store.interface import IdempotencyClaim
from vault.store.port_operations import PortOperations
from vault.store.positions import ReplicaStatus
from vault.store.state_port import StateStore

from vault import clock
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

log = logging.getLogger(__name__)
T = TypeVar("T")

# Long sweeps run as many small commands, so other writes interleave with them
# and no transaction holds its locks for long.
CLEANUP_CHUNK = 1000
FOLD_CHUNK = 5000
TOUCH_FLUSH_SECONDS = 1.0
# The newest messages of an append whose bodies are kept unpacked (windows read the newest few).
KEPT_OF_AN_APPEND = 200


class SqlStore(BlobOperations, PortOperations, CompressionOperations):
    backend: ClassVar[str]
    tracks_positions: ClassVar[bool] = False
    # The backend's read functions, each taking its connection first.
    # Hears (migration, rows done, rows in all) while a migration that writes rows runs at start.
    migration_progress: Callable[[Migration, int, int], None] | None = None
    _queries: ClassVar[ModuleType]
    # The backend's change feed functions (read_events, event_bounds).
    _events: ClassVar[ModuleType]
    # How often the feed's reader looks without being woken (None: only when woken).
    feed_poll_seconds: ClassVar[float | None] = None

    def __init__(
        self,
        blobs: BlobStore,
        cache: CacheStore | None,
        state: StateStore | None,
        max_document_bytes: int | None,
        compression: bool = True,
        body_cache_bytes: int = 0,
    ) -> None:
        self._blobs = blobs
        # Packs documents before their commands reach the writer; unpacks what reads find
        # (and keeps recent message bodies unpacked, up to body_cache_bytes).
        self._codec = Codec(enabled=compression, body_cache_bytes=body_cache_bytes)
        self._storage_report: StorageReport | None = None
        # The bound each stored document is checked against where it is built; None: unbounded.
        self._max_document_bytes = max_document_bytes
        self._content = ContentKeeper(blobs, self._remove_unclaimed)
        # The cache and state ports: the database's own tables unless an adapter is given.
        self._use_ports(cache, state)
        self._touches: dict[str, str] = {}
        self._background: set[asyncio.Task] = set()
        self.applied_migrations: list[Migration] = []
        # One reader of new events for every subscriber of this instance.
        self.feed = Feed(self._read_feed_events, self._newest_event, self.feed_poll_seconds)

    async def _open_blobs(self) -> None:
        try:
            await asyncio.to_thread(self._blobs.open)
        except OSError as exc:
            raise errors.StoreUnavailable(
                f"cannot use the artifact folder {self._blobs.location}: {exc.strerror or exc}"
            ) from exc

    # -- what a backend supplies

    async def _write(self, command: commands.Command, claim: IdempotencyClaim | None = None) -> Any:
        """Run the command (with its claim) in a transaction; answer only after COMMIT."""
        raise NotImplementedError

    async def _read(self, query: Callable[..., Any], *args: Any) -> Any:
        """Run one of `_queries` on a read connection."""
        raise NotImplementedError

    async def _read_primary(self, query: Callable[..., Any], *args: Any) -> Any:
        """Run one of `_queries` where the writes are: for reads that decide a write
        (an idempotency claim, whether a blob is referenced), which a replica's
        slightly older view must not answer."""
        return await self._read(query, *args)

    def replicas(self) -> list[ReplicaStatus]:
        return []

    async def _read_feed(self, query: Callable[..., Any], *args: Any) -> Any:
        """Run one of `_events`' reads where the writes are (a replica may lag behind a notification)."""
        return await self._read_primary(query, *args)

    def _takes_writes(self) -> bool:
        """Whether `_write` may be called now (started and not closing)."""
        raise NotImplementedError

    async def _snapshot(self, target: str, progress: Any) -> Check:
        """Write a checked copy of the database, as a Vault SQLite file, to `target`."""
        raise NotImplementedError

    def _blobs_held_elsewhere(self) -> AbstractAsyncContextManager[Any]:
        """While a backup copies blobs: keep other instances from releasing any."""
        return contextlib.nullcontext()

    def _known(self, kind: str, key: str) -> None:
        """Raise NotFound for a key the database could never have stored."""

    def _storable(self, *values: str | None) -> bool:
        """False when a filter value cannot be stored, so nothing can match it."""
        return True

    def _history_can_match(self, query: HistoryQuery) -> bool:
        """Check a history query's references; False if its filters can match nothing."""
        return True

    async def _read_window(self, query: HistoryQuery) -> Page:
        return await self._read_documents(self._queries.list_message_bodies, query)

    async def _read_keyed(self, query: Callable[..., Any], *args: Any) -> Any:
        """A read of one row by its key (a session, an artifact): a backend may run it where it is cheapest."""
        return await self._read(query, *args)

    async def _read_keyed_document(self, query: Callable[..., Any], *args: Any) -> Any:
        """A read of one stored document by its key (a state, a cache value, a message)."""
        return await self._read_documents(query, *args)

    async def _read_documents(self, query: Callable[..., Any], *args: Any) -> Any:
        """A read that unpacks documents: `query` takes the codec after its connection."""
        return await self._with_dictionaries(lambda: self._read(query, self._codec, *args))

    async def _with_dictionaries(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()`, again once the database's dictionaries are loaded if a frame needed one not held here."""
        try:
            return await attempt()
        except MissingDictionary:
            # Another instance trained it since this one last looked.
            await self.load_dictionaries()
        try:
            return await attempt()
        except MissingDictionary as exc:
            raise errors.CorruptDocument(
                f"a stored document needs zstd dictionary {exc.dict_id}, which the database does not hold"
            ) from None

    # -- sessions

    async def create_session(self, new: NewSession, claim: IdempotencyClaim | None = None) -> Session:
        return revive(await self._write(commands.CreateSession(new, self._max_document_bytes), claim), Session)

    async def get_session(self, session_id: str) -> Session:
        self._known("session", session_id)
        return await self._read_keyed(self._queries.get_session, session_id)

    async def update_session(self, session_id: str, changes: SessionChanges) -> Session:
        self._known("session", session_id)
        return await self._write(commands.UpdateSession(session_id, changes, self._max_document_bytes))

    async def delete_session(self, session_id: str) -> None:
        self._known("session", session_id)
        released = await self._write(commands.DeleteSession(session_id))
        await self._forget_state(session_id)
        await self._content.release_quietly(released)

    async def search(self, query: SearchQuery) -> Page:
        if not self._storable(query.session_id, query.agent_name, query.user_id, query.role):
            return Page([])
        return await self._read_documents(self._queries.search, query)

    async def list_sessions(self, query: SessionQuery) -> Page:
        if not self._storable(query.agent_name, query.user_id, query.status):
            return Page([])
        return await self._read(self._queries.list_sessions, query)

    # -- sessions bound to a key of their client's choosing

    async def create_keyed_session(self, key: str, new: NewSession) -> Session:
        if not self._storable(new.agent_name, new.user_id, key):
            raise errors.InvalidReference(["path"], "an app, user or key this database cannot store")
        return await self._write(commands.CreateKeyedSession(key, new, self._max_document_bytes))

    async def get_keyed_session(self, app_name: str, user_id: str, key: str) -> Session:
        for name in (app_name, user_id, key):
            self._known("session key", name)
        return await self._read(self._queries.get_keyed_session, app_name, user_id, key)

    async def list_keyed_sessions(self, query: KeyedSessionQuery) -> Page:
        if not self._storable(query.app_name, query.user_id):
            return Page([])
        return await self._read(self._queries.list_keyed_sessions, query)

    # -- history

    async def add_messages(
        self, session_id: str, messages: Sequence[MessageFields], claim: IdempotencyClaim | None = None
    ) -> list[Message]:
        appended = await self._append(session_id, messages, claim)
        if isinstance(appended, records.Appended):
            self._keep_bodies(appended)
            return appended.messages()
        return revive(appended, Message)

    async def add_rendered_messages(
        self, session_id: str, messages: Sequence[MessageFields], claim: IdempotencyClaim | None = None
    ) -> list[RenderedMessage]:
        appended = await self._append(session_id, messages, claim)
        if isinstance(appended, records.Appended):
            rendered = bodies.rendered(appended)
            self._keep_bodies(appended, rendered)
            return rendered
        # A replayed append answers the messages of its first try: encoded from their records.
        return bodies.rendered_records(revive(appended, Message))

    async def _append(
        self, session_id: str, messages: Sequence[MessageFields], claim: IdempotencyClaim | None
    ) -> records.Appended | Replayed:
        self._known("session", session_id)
        limit = self._max_document_bytes
        now = clock.now_text()
        # Packed here, on the loop, so the writer (SQLite's one serialized path) never compresses.
        prepared = records.prepared_messages(self._codec, messages, now, limit)
        return await self._write(commands.AddMessages(session_id, prepared, now, limit), claim)

    def _keep_bodies(self, appended: records.Appended, rendered: list[RenderedMessage] | None = None) -> None:
        """Packed bodies just written, as answered (`rendered`, when the append made them), for the next windows.

        Only a batch's newest (KEPT_OF_AN_APPEND): a window reads the newest
        few, and an older one is unpacked, and kept, if it is ever read.
        """
        known = self._codec.bodies
        if known is None:
            return
        start = max(0, len(appended.prepared) - KEPT_OF_AN_APPEND)
        for index, sent in enumerate(appended.prepared[start:], start):
            if sent.tail.frame is None:
                continue
            if rendered:
                known.put(sent.id, rendered[index].body)
                continue
            seq = appended.first_seq + index
            known.put(sent.id, bodies.head(sent.id, appended.session_id, seq) + sent.served_tail)

    async def get_message(self, message_id: str) -> Message:
        self._known("message", message_id)
        return await self._read_keyed_document(self._queries.get_message, message_id)

    async def list_messages(self, query: HistoryQuery) -> Page:
        if not self._history_can_match(query):
            return Page([])
        return await self._read_documents(self._queries.list_messages, query)

    async def list_message_bodies(self, query: HistoryQuery) -> Page:
        if not self._history_can_match(query):
            return Page([])
        return await self._read_window(query)

    async def clear_history(self, session_id: str) -> int:
        self._known("session", session_id)
        return await self._write(commands.ClearHistory(session_id))

    # -- state, in the database (the state port's database adapter calls these)

    async def _db_get_state(self, session_id: str) -> State:
        self._known("session", session_id)
        return await self._read_keyed_document(self._queries.get_state, session_id)

    async def _db_put_state(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        self._known("session", session_id)
        packed = records.packed_document(self._codec, "state", data, "data", self._max_document_bytes)
        command = commands.PutState(session_id, data, packed, if_match, self._codec)
        return await self._with_dictionaries(lambda: self._write(command))

    async def _db_patch_state(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        self._known("session", session_id)
        command = commands.PatchState(session_id, patch, if_match, self._codec, self._max_document_bytes)
        return await self._with_dictionaries(lambda: self._write(command))

    async def _db_delete_state(self, session_id: str, if_match: int | None) -> State:
        self._known("session", session_id)
        return await self._with_dictionaries(
            lambda: self._write(commands.DeleteState(session_id, if_match, self._codec))
        )

    # -- state of an app, or of a user of an app (always in the database)

    async def get_scoped_state(self, app_name: str, user_id: str | None) -> ScopedState:
        self._known("app", app_name)
        user_key = scoped_state.key_of(user_id)
        self._known("user", user_key)
        return await self._read_documents(self._queries.get_scoped_state, app_name, user_key)

    async def put_scoped_state(
        self, app_name: str, user_id: str | None, data: dict[str, Any], if_match: int | None
    ) -> ScopedState:
        packed = records.packed_document(self._codec, "state", data, "data", self._max_document_bytes)
        command = commands.PutScopedState(
            app_name, self._scope_key(app_name, user_id), data, packed, if_match, self._codec
        )
        return await self._with_dictionaries(lambda: self._write(command))

    async def patch_scoped_state(
        self, app_name: str, user_id: str | None, patch: dict[str, Any], if_match: int | None
    ) -> ScopedState:
        user_key = self._scope_key(app_name, user_id)
        command = commands.PatchScopedState(app_name, user_key, patch, if_match, self._codec, self._max_document_bytes)
        return await self._with_dictionaries(lambda: self._write(command))

    async def delete_scoped_state(self, app_name: str, user_id: str | None, if_match: int | None) -> ScopedState:
        command = commands.DeleteScopedState(app_name, self._scope_key(app_name, user_id), if_match, self._codec)
        return await self._with_dictionaries(lambda: self._write(command))

    def _scope_key(self, app_name: str, user_id: str | None) -> str:
        """The scope's key, once its names are known storable (a write of what cannot be stored is a 422)."""
        user_key = scoped_state.key_of(user_id)
        if not self._storable(app_name, user_key):
            raise errors.InvalidReference(["path"], "an app or user name this database cannot store")
        return user_key

    # -- checkpoints of threads

    async def put_checkpoint(self, thread_id: str, checkpoint_id: str, new: NewCheckpoint) -> CheckpointKey:
        self._storable_checkpoint(
            thread_id,
            checkpoint_id,
            new.checkpoint_ns,
            *(text for blob in new.blobs for text in (blob.channel, blob.type)),
        )
        row = checkpoints.checkpoint_row(thread_id, checkpoint_id, new, clock.now_text(), self._max_document_bytes)
        await self._write(commands.PutCheckpoint(row, checkpoints.blob_rows(thread_id, new)))
        return CheckpointKey(thread_id, new.checkpoint_ns, checkpoint_id, new.parent_checkpoint_id)

    async def put_checkpoint_writes(self, thread_id: str, checkpoint_id: str, writes: NewWrites) -> int:
        texts = (text for write in writes.writes for text in (write.channel, write.type))
        self._storable_checkpoint(
            thread_id, checkpoint_id, writes.checkpoint_ns, writes.task_id, writes.task_path, *texts
        )
        await self._write(commands.PutCheckpointWrites(checkpoints.write_rows(thread_id, checkpoint_id, writes)))
        return len(writes.writes)

    def _storable_checkpoint(self, *texts: str) -> None:
        if not self._storable(*texts):
            raise errors.InvalidReference(["body"], "a name or id this database cannot store (a NUL character)")

    async def get_checkpoint(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> Checkpoint:
        self._known("checkpoint", checkpoint_id)
        if not self._storable(thread_id, checkpoint_ns):
            raise errors.NotFound("checkpoint", checkpoint_id)
        return await self._read(self._queries.get_checkpoint, thread_id, checkpoint_ns, checkpoint_id)

    async def list_checkpoints(self, query: CheckpointQuery) -> Page:
        if not self._storable(query.thread_id, query.checkpoint_ns, query.before):
            return Page([])
        return await self._read(self._queries.list_checkpoints, query)

    async def delete_thread(self, thread_id: str) -> int:
        if not self._storable(thread_id):
            return 0
        return await self._write(commands.DeleteThread(thread_id))

    async def delete_runs(self, run_ids: list[str], claim: IdempotencyClaim | None = None) -> int:
        run_ids = [run_id for run_id in run_ids if self._storable(run_id)]
        return revive(await self._write(commands.DeleteRuns(run_ids), claim), int)

    async def copy_thread(
        self, source_thread_id: str, target_thread_id: str, claim: IdempotencyClaim | None = None
    ) -> int:
        if not self._storable(target_thread_id):
            raise errors.InvalidReference(["body", "target_thread_id"], "a thread id this database cannot store")
        if not self._storable(source_thread_id):
            source_thread_id = target_thread_id  # a source that cannot be stored holds nothing to copy
        return revive(await self._write(commands.CopyThread(source_thread_id, target_thread_id), claim), int)

    async def prune_threads(
        self, thread_ids: list[str], keep_latest: bool, claim: IdempotencyClaim | None = None
    ) -> int:
        thread_ids = [thread_id for thread_id in thread_ids if self._storable(thread_id)]
        return revive(await self._write(commands.PruneThreads(thread_ids, keep_latest), claim), int)

    # -- artifacts

    async def create_artifact(
        self, new: NewArtifact, claim: IdempotencyClaim | None = None, content: BlobUpload | None = None
    ) -> Artifact:
        if content is None:
            return revive(await self._write(commands.CreateArtifact(new), claim), Artifact)

        async def commit(info: BlobInfo) -> Any:
            return await self._commit_claiming(commands.CreateArtifact(new, info, self._blobs.contains), claim)

        result = await self._content.commit_with(content, commit)
        if isinstance(result, Replayed):
            # The first request's record answers; these bytes may be claimed by nothing.
            await self._content.release_quietly([content.info.sha256])
        return revive(result, Artifact)

    async def get_artifact(self, artifact_id: str) -> Artifact:
        self._known("artifact", artifact_id)
        return await self._read_keyed(self._queries.get_artifact, artifact_id)

    async def list_artifacts(self, query: ArtifactQuery) -> Page:
        if not self._storable(query.session_id, query.type, query.name):
            return Page([])
        return await self._read(self._queries.list_artifacts, query)

    async def delete_artifact(self, artifact_id: str) -> None:
        self._known("artifact", artifact_id)
        removed = await self._write(commands.DeleteArtifact(artifact_id))
        if removed.sha256 is not None:
            await self._content.release_quietly([removed.sha256])

    async def referenced_blobs(self, sha256s: list[str]) -> set[str]:
        return await self._read_primary(self._queries.referenced_blobs, sha256s)

    async def release_blobs(self, sha256s: list[str]) -> int:
        return await self._content.release(sha256s)

    async def _commit_claiming(self, command: commands.CreateArtifact, claim: IdempotencyClaim | None) -> Any:
        """Commit a record that claims a blob, if the blob is present; the command checks it, ordered with releases."""
        return await self._write(command, claim)

    async def _remove_unclaimed(self, sha256s: list[str]) -> int:
        """Remove the blobs no record claims, each check ordered with the commits that claim it."""
        return await self._write(commands.ReleaseBlobs(sha256s, self._blobs.remove))

    async def _drop_raw(self, sha256: str, stored_size: int) -> bool:
        """Remove a blob's raw form beside its packed copy (of `stored_size` bytes), ordered with the commits
        that claim and release it; its records take the packed size."""
        return await self._write(commands.DropRawBlob(sha256, stored_size, self._blobs.drop_raw))

    # -- metrics

    async def record_metrics(self, metrics: list[NewMetric], claim: IdempotencyClaim | None = None) -> list[Metric]:
        return revive(await self._write(commands.RecordMetrics(metrics), claim), Metric)

    async def get_metric(self, metric_id: str) -> Metric:
        self._known("metric", metric_id)
        return await self._read(self._queries.get_metric, metric_id)

    async def list_metrics(self, query: MetricQuery) -> Page:
        if not self._storable(query.entity_type, query.entity_name, query.session_id, query.metric_name):
            return Page([])
        return await self._read(self._queries.list_metrics, query)

    # -- cache, in the database (the cache port's database adapter calls these)

    async def _db_cache_get(self, key: str) -> CacheEntry:
        self._known("cache key", key)
        now = clock.now_text()
        entry = await self._read_keyed_document(self._queries.cache_get, key, now)
        self._touch(key, now)
        return entry

    async def _db_cache_set(self, key: str, write: CacheWrite) -> CacheEntry:
        packed = records.packed_document(self._codec, "cache", write.value, "value", self._max_document_bytes)
        return await self._write(commands.CacheSet(key, write, packed))

    async def _db_cache_delete(self, key: str) -> None:
        self._known("cache key", key)
        await self._write(commands.CacheDelete(key))

    async def _db_cache_cleanup(self, claim: IdempotencyClaim | None = None) -> int:
        return await self._count_once(claim, lambda: self._repeat(commands.CacheCleanupChunk(CLEANUP_CHUNK)))

    async def _count_once(self, claim: IdempotencyClaim | None, work: Callable[[], Awaitable[int]]) -> int:
        """Run work that spans several commands (or happens outside the database) under a claim."""
        if claim is not None:
            # The claim is checked before the work: a replay or a mismatched request must not redo it.
            replay = await self._read_primary(self._queries.lookup_claim, claim)
            if replay is not None:
                return revive(replay, int)
        total = await work()
        if claim is None:
            return total
        return revive(await self._write(commands.Answer(total), claim), int)

    def _touch(self, key: str, when: str) -> None:
        """Note a read time. Read times are written best-effort, all of a second's in one
        command, so reading the cache does not cost a commit per read."""
        schedule = not self._touches
        self._touches[key] = when
        if schedule:
            asyncio.get_running_loop().call_later(TOUCH_FLUSH_SECONDS, self._start_flush)

    def _start_flush(self) -> None:
        if not self._takes_writes():
            return
        task = asyncio.get_running_loop().create_task(self._flush_touches())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _flush_touches(self) -> None:
        if not self._touches:
            return
        touches, self._touches = self._touches, {}
        try:
            await self._write(commands.TouchCache(touches))
        except errors.StoreError as exc:
            log.debug("cache read times not recorded: %s", exc)

    # -- change feed

    async def _start_feed(self) -> None:
        await self.feed.start()

    async def _newest_event(self) -> str | None:
        return (await self.event_bounds()).newest

    async def _read_feed_events(self, after: str, limit: int, only: EventFilter) -> list[FeedEvent]:
        return await self._with_dictionaries(
            lambda: self._read_feed(self._events.read_events, self._codec, after, limit, only)
        )

    def valid_event_id(self, text: str) -> bool:
        return valid_event_id(text)

    async def event_bounds(self) -> EventBounds:
        return await self._read_feed(self._events.event_bounds)

    async def resume_point(self, after: str | None) -> str:
        """Where a reader given `after` starts: None, the oldest event kept; "now", after the newest;
        an event id, after it, unless events after it are no longer kept (EventsPruned)."""
        if after is None:
            return START
        bounds = await self.event_bounds()
        if after == "now":
            return bounds.newest or START
        if bounds.lost_after(after):
            raise errors.EventsPruned(after, bounds.oldest)
        return after

    async def read_events(self, after: str, limit: int, only: EventFilter) -> list[FeedEvent]:
        return await self._read_feed_events(after, limit, only)

    async def prune_events(self, older_than: str) -> int:
        return await self._repeat(commands.PruneEventsChunk(CLEANUP_CHUNK, older_than))

    # -- housekeeping

    async def _repeat(self, step: commands.Chunked) -> int:
        """Run a sweep's step until a run does less than a full chunk."""
        total = 0
        while True:
            done = await self._write(step)
            total += done
            if done < step.limit:
                return total

    async def fold_metric_rollups(self) -> int:
        return await self._repeat(commands.FoldRollupsChunk(FOLD_CHUNK))

    async def prune_metrics(self, older_than: str) -> int:
        return await self._repeat(commands.PruneMetricsChunk(CLEANUP_CHUNK, older_than))

    async def list_rollups(self, query: RollupQuery) -> Page:
        if not self._storable(query.metric_name, query.entity_name, query.entity_type):
            return Page([])
        found, has_more = await self._read(self._queries.list_rollups, query)
        return Page(found, has_more=has_more)

    async def prune_idempotency_keys(self, older_than: str) -> int:
        return await self._repeat(commands.PruneIdempotencyChunk(CLEANUP_CHUNK, older_than))

    async def backup(self, target: str, progress: Any = None) -> BackupInfo:
        started = time.monotonic()
        created_at = clock.now_text()
        # Blobs a copy references must still exist when they are copied after it,
        # whichever instance would release them.
        async with self._content.releases_held(), self._blobs_held_elsewhere():
            checked = await self._snapshot(target, progress)
            exported = await asyncio.to_thread(copy_artifacts, target, self._blobs)
        return BackupInfo(
            file=str(target),
            size=os.path.getsize(target),
            created_at=created_at,
            duration_seconds=round(time.monotonic() - started, 3),
            integrity_check=checked.result,
            artifacts=exported.copied,
        )
