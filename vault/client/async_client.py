"""AsyncVaultClient: one method per route of The Vault, on aiohttp.

Results are the records of vault.models (and vault.client.records); every
non-2xx answer is raised as a typed vault.client.errors.VaultError. What is
retried, and why, is in vault.client.core.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from vault.client import wire
from vault.client.content import file_sink, multipart_upload, read_content
from vault.client.events import follow
from vault.client.metric_calls import MetricCalls
from vault.client.records import BackupFile, Content, Health, JobStatus
from vault.client.session_key_calls import SessionKeyCalls
from vault.client.thread_calls import ThreadCalls
from vault.client.transport import Call
from vault.models import Artifact, BackupInfo, CacheEntry, Event, Message, SearchHit, Session, State


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


# "Leave this field as it is", as distinct from None ("set it to null").
UNSET: Any = _Unset()


class AsyncVaultClient(MetricCalls, ThreadCalls, SessionKeyCalls):
    """A client for one Vault service; use as `async with AsyncVaultClient(url) as vault:`.

    `timeout` bounds each attempt, in seconds (for artifact content, each
    wait for the network, so a large file is not cut off). `retries` is how many times a
    failed call is tried again (0 turns retrying off); waits start at
    `backoff` seconds and double, and a Retry-After longer than
    `max_retry_delay` is not waited for (Busy is raised at once). `session`:
    an aiohttp ClientSession to use instead of one of the client's own (it
    is then the caller's to close); note that aiohttp itself sends a GET, PUT
    or DELETE again once when its connection drops, unseen by this client,
    so with a caller's session a lost answer to a delete can come back as
    NotFound, and one to an If-Match put as PreconditionFailed.
    """

    # -- sessions

    async def create_session(
        self,
        agent_name: str,
        *,
        user_id: str | None = None,
        status: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Session:
        body = wire.fields(agent_name=agent_name, user_id=user_id, status=status, metadata=metadata)
        return wire.structure(await self._post("/storage/sessions", body, idempotency_key), Session)

    async def get_session(self, session_id: str) -> Session:
        return wire.structure(await self._get(f"/storage/sessions/{wire.segment(session_id)}"), Session)

    async def update_session(
        self, session_id: str, *, status: str = UNSET, user_id: str | None = UNSET, metadata: Mapping[str, Any] = UNSET
    ) -> Session:
        """Change the given fields; `metadata` merges key by key (a None value removes its key)."""
        given = {"status": status, "user_id": user_id, "metadata": metadata}
        body = {name: value for name, value in given.items() if value is not UNSET}
        answer = await self._write("PUT", f"/storage/sessions/{wire.segment(session_id)}", body)
        return wire.structure(wire.decode_json(answer.body), Session)

    async def delete_session(self, session_id: str) -> None:
        """Delete the session with its history, state, artifacts and metrics."""
        await self._delete(f"/storage/sessions/{wire.segment(session_id)}")

    async def list_sessions(
        self,
        *,
        agent_name: str | None = None,
        user_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Session]:
        """One page, newest first; iter_sessions walks every page."""
        params = wire.query(agent_name=agent_name, user_id=user_id, status=status, limit=limit, offset=offset)
        return wire.structure_list(await self._get("/storage/sessions", params), Session)

    def iter_sessions(
        self,
        *,
        agent_name: str | None = None,
        user_id: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Session]:
        params = wire.query(agent_name=agent_name, user_id=user_id, status=status, limit=page_size)
        return self._pages("/storage/sessions", params, Session)

    # -- history

    async def add_message(
        self,
        session_id: str,
        role: str,
        content: Any = None,
        *,
        name: str | None = None,
        tool_calls: Sequence[Mapping[str, Any]] | None = None,
        tool_call_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        body = {
            "session_id": session_id,
            "role": role,
            "content": content,
            **wire.fields(name=name, tool_calls=tool_calls, tool_call_id=tool_call_id, metadata=metadata),
        }
        return wire.structure(await self._post("/storage/history", body, idempotency_key), Message)

    async def add_messages(
        self, session_id: str, messages: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> list[Message]:
        """Append `[{role, content, ...}, ...]` all or nothing."""
        body = {"session_id": session_id, "messages": list(messages)}
        return wire.structure_list(await self._post("/storage/history/batch", body, idempotency_key), Message)

    async def get_history(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        after: int | str | None = None,
        before: int | str | None = None,
        offset: int | None = None,
        role: str | None = None,
    ) -> list[Message]:
        """The newest `limit` messages, oldest first; `after`/`before` take a seq or a message id."""
        params = wire.query(session_id=session_id, limit=limit, after=after, before=before, offset=offset, role=role)
        return wire.structure_list(await self._get("/storage/history", params), Message)

    def iter_history(
        self, session_id: str, *, after: int | str = 0, role: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[Message]:
        """Every message after `after` (from the first by default), oldest first."""
        params = wire.query(session_id=session_id, after=after, role=role, limit=page_size)
        return self._pages("/storage/history", params, Message)

    async def search(
        self,
        q: str,
        *,
        session_id: str | None = None,
        agent_name: str | None = None,
        user_id: str | None = None,
        role: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[SearchHit]:
        """Messages holding every word of `q` (and its `"phrases"` and `prefix*`es), best first; one page."""
        params = wire.query(
            q=q, session_id=session_id, agent_name=agent_name, user_id=user_id, role=role, limit=limit, offset=offset
        )
        return wire.structure_list(await self._get("/storage/search", params), SearchHit)

    def iter_search(
        self,
        q: str,
        *,
        session_id: str | None = None,
        agent_name: str | None = None,
        user_id: str | None = None,
        role: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[SearchHit]:
        """Every hit of `q`, best first, page after page."""
        params = wire.query(
            q=q, session_id=session_id, agent_name=agent_name, user_id=user_id, role=role, limit=page_size
        )
        return self._pages("/storage/search", params, SearchHit)

    def events(
        self,
        *,
        session_id: str | None = None,
        types: Sequence[str] | None = None,
        after: str | None = None,
    ) -> AsyncIterator[Event]:
        """The change feed, live and for as long as it is read: every event after `after` (an event id,
        or "now"; None: from the oldest kept), each once and in commit order. A lost connection
        is opened again from the last event received; a cursor past retention raises Gone."""
        params = wire.query(session_id=session_id, types=",".join(types) if types else None)
        return follow(self._transport.send, params, after)

    async def get_message(self, message_id: str) -> Message:
        return wire.structure(await self._get(f"/storage/history/{wire.segment(message_id)}"), Message)

    async def clear_history(self, session_id: str) -> int:
        """Delete the session's messages; how many were deleted (0 when the answer
        to a first attempt was lost and its repeat found nothing left)."""
        answer = await self._delete("/storage/history", wire.query(session_id=session_id))
        return int(answer["deleted"]) if answer is not None else 0

    # -- state

    async def get_state(self, session_id: str) -> State:
        """The state (version 0 and empty data when none was written yet)."""
        return wire.structure(await self._get(f"/storage/state/{wire.segment(session_id)}"), State)

    async def put_state(self, session_id: str, data: Mapping[str, Any], *, if_match: int | None = None) -> State:
        """Replace the data; with `if_match`, only if the version is still that one (else PreconditionFailed)."""
        path = f"/storage/state/{wire.segment(session_id)}"
        answer = await self._write("PUT", path, {"data": data}, if_match=if_match)
        return wire.structure(wire.decode_json(answer.body), State)

    async def patch_state(self, session_id: str, patch: Mapping[str, Any], *, if_match: int | None = None) -> State:
        """Apply a JSON merge patch (RFC 7396) to the data, atomically on the service."""
        path = f"/storage/state/{wire.segment(session_id)}"
        answer = await self._write("PATCH", path, {"data": patch}, if_match=if_match)
        return wire.structure(wire.decode_json(answer.body), State)

    async def delete_state(self, session_id: str, *, if_match: int | None = None) -> None:
        await self._delete(f"/storage/state/{wire.segment(session_id)}", if_match=if_match)

    # -- artifacts

    async def create_artifact(
        self,
        name: str,
        *,
        session_id: str | None = None,
        type: str | None = None,
        path: str | None = None,
        size: int | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Artifact:
        """Record a reference to content stored elsewhere (at `path`)."""
        body = wire.fields(
            name=name,
            session_id=session_id,
            type=type,
            path=path,
            size=size,
            content_type=content_type,
            metadata=metadata,
        )
        return wire.structure(await self._post("/storage/artifacts", body, idempotency_key), Artifact)

    async def upload_artifact(
        self,
        name: str,
        data: bytes | str | None = None,
        *,
        file: str | os.PathLike[str] | None = None,
        session_id: str | None = None,
        type: str | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Artifact:
        """Store the bytes in the service: `data` (bytes, or text sent as UTF-8),
        or the file at `file`, streamed from disk. The service fills in `size`,
        `sha256` and, when not given, `content_type` (guessed from `name`)."""
        if (data is None) == (file is None):
            raise TypeError("give data or file, not both or neither")
        if isinstance(data, str):
            data = data.encode()
        fields = {"name": name, "session_id": session_id, "type": type, "content_type": content_type}
        if metadata is not None:
            fields["metadata"] = metadata
        key = idempotency_key or uuid.uuid4().hex
        call = Call(
            "POST",
            "/storage/artifacts",
            body=multipart_upload(fields, name, data, file),
            headers={"Idempotency-Key": key},
            idempotency_key=key,
            streaming=True,
        )
        return wire.structure(wire.decode_json((await self._call(call)).body), Artifact)

    async def download_artifact(self, artifact_id: str, *, start: int | None = None, end: int | None = None) -> Content:
        """The stored bytes, in memory; `start`/`end` (inclusive) ask for a part only.

        NotFound also when the artifact is a reference to content stored elsewhere.
        """
        headers = {}
        if start is not None or end is not None:
            headers["Range"] = f"bytes={start or 0}-{'' if end is None else end}"
        call = Call(
            "GET",
            f"/storage/artifacts/{wire.segment(artifact_id)}/content",
            headers=headers,
            sink=read_content,
            streaming=True,
        )
        return (await self._call(call)).received

    async def download_artifact_to(self, artifact_id: str, path: str | os.PathLike[str]) -> int:
        """Stream the stored bytes into the file at `path`; how many were written."""
        call = Call(
            "GET", f"/storage/artifacts/{wire.segment(artifact_id)}/content", sink=file_sink(path), streaming=True
        )
        return (await self._call(call)).received

    async def get_artifact(self, artifact_id: str) -> Artifact:
        return wire.structure(await self._get(f"/storage/artifacts/{wire.segment(artifact_id)}"), Artifact)

    async def list_artifacts(
        self,
        *,
        session_id: str | None = None,
        type: str | None = None,
        name: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Artifact]:
        params = wire.query(session_id=session_id, type=type, name=name, limit=limit, offset=offset)
        return wire.structure_list(await self._get("/storage/artifacts", params), Artifact)

    def iter_artifacts(
        self,
        *,
        session_id: str | None = None,
        type: str | None = None,
        name: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Artifact]:
        params = wire.query(session_id=session_id, type=type, name=name, limit=page_size)
        return self._pages("/storage/artifacts", params, Artifact)

    async def delete_artifact(self, artifact_id: str) -> None:
        await self._delete(f"/storage/artifacts/{wire.segment(artifact_id)}")

    # -- cache

    async def cache_get(self, key: str) -> CacheEntry:
        """The entry; NotFound when there is none or it has expired."""
        return wire.structure(await self._get(f"/storage/cache/{wire.segment(key)}"), CacheEntry)

    async def cache_set(self, key: str, value: Any, *, ttl: int | None = None) -> CacheEntry:
        """Set `value` (any JSON) for `ttl` seconds (None: no expiry); restarts the TTL."""
        answer = await self._write("PUT", f"/storage/cache/{wire.segment(key)}", {"value": value, "ttl": ttl})
        return wire.structure(wire.decode_json(answer.body), CacheEntry)

    async def cache_delete(self, key: str) -> None:
        await self._delete(f"/storage/cache/{wire.segment(key)}")

    async def cache_cleanup(self, *, idempotency_key: str | None = None) -> int:
        """Delete expired entries now; how many."""
        return int((await self._post("/storage/cache/cleanup", {}, idempotency_key))["deleted"])

    # -- service

    async def health(self) -> Health:
        return wire.structure(await self._get("/health"), Health)

    async def ready(self) -> bool:
        """True when the service can serve (database answers, writer runs); asked once, never retried."""
        answer = await self._transport.send(Call("GET", "/ready", retry=False))
        if answer.status == 503:
            return False
        if not answer.ok:
            raise wire.error_from_answer(answer.status, answer.headers, answer.body)
        return True

    async def backup(self) -> BackupInfo:
        """Take a checked backup now, into the service's backup folder.

        Not repeated after a lost answer: the service keeps no
        Idempotency-Key for backups, and the likely cause is a backup that
        outlasted the timeout and is still running; a repeat would start a
        second one beside it. ConnectionFailed(maybe_applied=True) instead.
        """
        answer = await self._write("POST", "/storage/admin/backup", {}, repeatable=False)
        return wire.structure(wire.decode_json(answer.body), BackupInfo)

    async def list_backups(self) -> list[BackupFile]:
        return wire.structure_list(await self._get("/storage/admin/backups"), BackupFile)

    async def jobs(self) -> list[JobStatus]:
        """Each scheduled job with its next run and how its last run went."""
        return wire.structure_list(await self._get("/storage/admin/jobs"), JobStatus)
