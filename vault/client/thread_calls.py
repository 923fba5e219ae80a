"""The calls of AsyncVaultClient that framework adapters use: checkpoints of threads, and
state scoped to an app or to a user of an app.

Kept apart so each client module stays small; AsyncVaultClient inherits them.
Values travel as bytes: the client sends them in base64 and hands them back decoded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from vault.client import wire
from vault.client.core import ClientCore
from vault.models import Checkpoint, CheckpointKey, ScopedState

# A channel's value at a version: (channel, version, type tag, bytes).
Blob = tuple[str, str | int | float, str, bytes]
# A pending write: (idx, channel, type tag, bytes).
Write = tuple[int, str, str, bytes]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _thread(thread_id: str) -> str:
    return f"/storage/threads/{wire.segment(thread_id)}"


def _scope(app_name: str, user_id: str | None) -> str:
    path = f"/storage/state/apps/{wire.segment(app_name)}"
    return path if user_id is None else f"{path}/users/{wire.segment(user_id)}"


def _list_query(
    checkpoint_ns: str | None, before: str | None, metadata: Mapping[str, Any] | None, limit: int | None
) -> dict[str, str]:
    found = wire.query(before=before, limit=limit)
    if checkpoint_ns is not None:
        found["checkpoint_ns"] = checkpoint_ns  # sent even when empty: "" is the root namespace
    if metadata:
        found["metadata"] = json.dumps(metadata, separators=(",", ":"), allow_nan=False)
    return found


class ThreadCalls(ClientCore):
    # -- checkpoints

    async def put_checkpoint(
        self,
        thread_id: str,
        checkpoint_id: str,
        checkpoint: Mapping[str, Any],
        *,
        checkpoint_ns: str = "",
        parent_checkpoint_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        blobs: Sequence[Blob] = (),
    ) -> CheckpointKey:
        """Store a checkpoint (replacing one with the same key) and the channel values new in it."""
        body = wire.fields(
            checkpoint=checkpoint,
            checkpoint_ns=checkpoint_ns,
            parent_checkpoint_id=parent_checkpoint_id,
            metadata=metadata,
            blobs=[{"channel": c, "version": v, "type": t, "data": b64(d)} for c, v, t, d in blobs],
        )
        path = f"{_thread(thread_id)}/checkpoints/{wire.segment(checkpoint_id)}"
        return wire.structure(wire.decode_json((await self._write("PUT", path, body)).body), CheckpointKey)

    async def put_checkpoint_writes(
        self,
        thread_id: str,
        checkpoint_id: str,
        task_id: str,
        writes: Sequence[Write],
        *,
        checkpoint_ns: str = "",
        task_path: str = "",
    ) -> int:
        """Store a task's pending writes; (task_id, idx) already stored with idx >= 0 stays as it was."""
        body = {
            "checkpoint_ns": checkpoint_ns,
            "task_id": task_id,
            "task_path": task_path,
            "writes": [{"idx": i, "channel": c, "type": t, "data": b64(d)} for i, c, t, d in writes],
        }
        path = f"{_thread(thread_id)}/checkpoints/{wire.segment(checkpoint_id)}/writes"
        return int(wire.decode_json((await self._write("PUT", path, body)).body)["count"])

    async def get_checkpoint(self, thread_id: str, checkpoint_id: str, *, checkpoint_ns: str = "") -> Checkpoint:
        """The checkpoint with its values (base64 in `data`, see `unb64`) and pending writes; NotFound if none."""
        path = f"{_thread(thread_id)}/checkpoints/{wire.segment(checkpoint_id)}"
        return wire.structure(await self._get(path, wire.query(checkpoint_ns=checkpoint_ns or None)), Checkpoint)

    async def list_checkpoints(
        self,
        thread_id: str,
        *,
        checkpoint_ns: str | None = None,
        before: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[Checkpoint]:
        """One page, newest first; `checkpoint_ns=None` lists every namespace, "" the root one."""
        found = await self._get(
            f"{_thread(thread_id)}/checkpoints", _list_query(checkpoint_ns, before, metadata, limit)
        )
        return wire.structure_list(found, Checkpoint)

    def iter_checkpoints(
        self,
        thread_id: str,
        *,
        checkpoint_ns: str | None = None,
        before: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Checkpoint]:
        """Every checkpoint that matches, newest first, page after page."""
        query = _list_query(checkpoint_ns, before, metadata, None)
        return self._pages(f"{_thread(thread_id)}/checkpoints", query, Checkpoint)

    async def delete_thread(self, thread_id: str) -> int:
        answer = await self._delete(_thread(thread_id))
        return int(answer["deleted"]) if answer is not None else 0

    async def copy_thread(self, source_thread_id: str, target_thread_id: str) -> int:
        body = {"target_thread_id": target_thread_id}
        return int((await self._post(f"{_thread(source_thread_id)}/copy", body, None))["copied"])

    async def delete_checkpoints_of_runs(self, run_ids: Sequence[str]) -> int:
        return int((await self._post("/storage/checkpoints/delete-runs", {"run_ids": list(run_ids)}, None))["deleted"])

    async def prune_threads(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> int:
        body = {"thread_ids": list(thread_ids), "strategy": strategy}
        return int((await self._post("/storage/checkpoints/prune", body, None))["deleted"])

    # -- state of an app (user_id None) or of one of its users

    async def get_scoped_state(self, app_name: str, user_id: str | None = None) -> ScopedState:
        return wire.structure(await self._get(_scope(app_name, user_id)), ScopedState)

    async def put_scoped_state(
        self, app_name: str, data: Mapping[str, Any], user_id: str | None = None, *, if_match: int | None = None
    ) -> ScopedState:
        answer = await self._write("PUT", _scope(app_name, user_id), {"data": data}, if_match=if_match)
        return wire.structure(wire.decode_json(answer.body), ScopedState)

    async def patch_scoped_state(
        self, app_name: str, patch: Mapping[str, Any], user_id: str | None = None, *, if_match: int | None = None
    ) -> ScopedState:
        """Apply a JSON merge patch (RFC 7396) to the scope's data, atomically on the service."""
        answer = await self._write("PATCH", _scope(app_name, user_id), {"data": patch}, if_match=if_match)
        return wire.structure(wire.decode_json(answer.body), ScopedState)

    async def delete_scoped_state(
        self, app_name: str, user_id: str | None = None, *, if_match: int | None = None
    ) -> None:
        await self._delete(_scope(app_name, user_id), if_match=if_match)
