"""Checkpoints of threads, the same in every backend: their rows, and the records rows make.

A checkpoint is stored without its channel values: each value is a row of
checkpoint_blobs under (thread, namespace, channel, version), written once by
the checkpoint whose new versions name it and read by every checkpoint whose
`channel_versions` still name it. A version is kept as its JSON text, so the
number 1 and the string "1" stay two versions.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

from vault.store.core.records import bounded_text

from vault.inputs import NewCheckpoint, NewWrites
from vault.jsonutil import dumps_text, loads_stored
from vault.models import Checkpoint, CheckpointWrite, TypedValue

CHECKPOINT_COLUMNS = "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata, created_at"
WRITE_COLUMNS = "task_id, idx, channel, type, data, task_path"
# The type tag a saver gives a channel whose new version holds no value: kept, never served.
EMPTY_TYPE = "empty"


def version_key(version: Any) -> str:
    return dumps_text(version)


def run_id_of(metadata: dict[str, Any]) -> str | None:
    run_id = metadata.get("run_id")
    return run_id if isinstance(run_id, str) else None


def checkpoint_row(thread_id: str, checkpoint_id: str, new: NewCheckpoint, now: str, limit: int | None) -> tuple:
    """(thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint, metadata, created_at)."""
    return (
        thread_id,
        new.checkpoint_ns,
        checkpoint_id,
        new.parent_checkpoint_id,
        run_id_of(new.metadata),
        bounded_text(new.checkpoint, "checkpoint", limit),
        bounded_text(new.metadata, "metadata", limit),
        now,
    )


def blob_rows(thread_id: str, new: NewCheckpoint) -> list[tuple]:
    """(thread_id, checkpoint_ns, channel, version, type, data) for each value the checkpoint brings."""
    return [
        (thread_id, new.checkpoint_ns, blob.channel, version_key(blob.version), blob.type, blob.data)
        for blob in new.blobs
    ]


def write_rows(thread_id: str, checkpoint_id: str, writes: NewWrites) -> list[tuple]:
    """(thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path)."""
    return [
        (
            thread_id,
            writes.checkpoint_ns,
            checkpoint_id,
            writes.task_id,
            w.idx,
            w.channel,
            w.type,
            w.data,
            writes.task_path,
        )
        for w in writes.writes
    ]


def wanted_blobs(checkpoint_text: str) -> list[tuple[str, str]]:
    """(channel, version) of each value the stored checkpoint names."""
    versions = loads_stored(checkpoint_text).get("channel_versions")
    if not isinstance(versions, dict):
        return []
    return [(channel, version_key(version)) for channel, version in versions.items()]


def metadata_matches(metadata_text: str, wanted: dict[str, Any] | None) -> bool:
    if not wanted:
        return True
    metadata = loads_stored(metadata_text)
    return all(key in metadata and _same(metadata[key], value) for key, value in wanted.items())


def _same(stored: Any, wanted: Any) -> bool:
    # JSON's values, not Python's: true is not 1.
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return stored is wanted
    return stored == wanted


def _text(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def checkpoint_of(row: Sequence[Any], blobs: Iterable[Sequence[Any]], writes: Iterable[Sequence[Any]]) -> Checkpoint:
    """The record from a row of CHECKPOINT_COLUMNS, its (channel, type, data) blobs and its rows of WRITE_COLUMNS."""
    values = {channel: TypedValue(kind, _text(data)) for channel, kind, data in blobs if kind != EMPTY_TYPE}
    pending = [CheckpointWrite(w[0], w[1], w[2], w[3], _text(w[4]), w[5]) for w in writes]
    # The order a super-step's writes are applied in (task path, task id, index).
    pending.sort(key=lambda w: (w.task_path, w.task_id, w.idx))
    return Checkpoint(
        thread_id=row[0],
        checkpoint_ns=row[1],
        checkpoint_id=row[2],
        parent_checkpoint_id=row[3],
        checkpoint=loads_stored(row[4]),
        metadata=loads_stored(row[5]),
        channel_values=values,
        pending_writes=pending,
        created_at=row[6],
    )
