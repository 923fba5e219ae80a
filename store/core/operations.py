"""Which function runs each write command: one name per command type, the same in every backend.

A backend keeps its write functions under these names and binds them into
its table with `bind`; a command without a function, or a function under a
name no command has, is an error when the backend is imported, not at the
first write.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from vault.store.core import commands

NAMES: dict[type[commands.Command], str] = {
    commands.CreateSession: "create_session",
    commands.CreateKeyedSession: "create_keyed_session",
    commands.UpdateSession: "update_session",
    commands.DeleteSession: "delete_session",
    commands.AddMessages: "add_messages",
    commands.ClearHistory: "clear_history",
    commands.PutState: "put_state",
    commands.PatchState: "patch_state",
    commands.DeleteState: "delete_state",
    commands.PutScopedState: "put_scoped_state",
    commands.PatchScopedState: "patch_scoped_state",
    commands.DeleteScopedState: "delete_scoped_state",
    commands.PutCheckpoint: "put_checkpoint",
    commands.PutCheckpointWrites: "put_checkpoint_writes",
    commands.DeleteThread: "delete_thread",
    commands.DeleteRuns: "delete_runs",
    commands.CopyThread: "copy_thread",
    commands.PruneThreads: "prune_threads",
    commands.CreateArtifact: "create_artifact",
    commands.DeleteArtifact: "delete_artifact",
    commands.ReleaseBlobs: "release_blobs",
    commands.DropRawBlob: "drop_raw_blob",
    commands.RecordMetrics: "record_metrics",
    commands.FoldRollupsChunk: "fold_rollups_chunk",
    commands.PruneMetricsChunk: "prune_metrics_chunk",
    commands.CacheSet: "cache_set",
    commands.CacheDelete: "cache_delete",
    commands.TouchCache: "touch_cache",
    commands.CacheCleanupChunk: "cache_cleanup_chunk",
    commands.PruneIdempotencyChunk: "prune_idempotency_chunk",
    commands.PruneEventsChunk: "prune_events_chunk",
    commands.Answer: "answer",
    commands.AddDictionary: "add_dictionary",
    commands.Repack: "repack",
}


def bind(*modules: ModuleType) -> dict[type[commands.Command], Callable[..., Any]]:
    """The table of a backend whose write functions live in `modules`, each under its command's name."""
    table = {}
    for command_type, name in NAMES.items():
        found = [getattr(module, name) for module in modules if hasattr(module, name)]
        if len(found) != 1:
            raise LookupError(f"{command_type.__name__} needs one function named {name}, found {len(found)}")
        table[command_type] = found[0]
    return table
