"""Google ADK services that keep sessions, events, state and artifacts in The Vault.

    from vault.integrations.adk import VaultArtifactService, VaultSessionService
    runner = Runner(agent=agent, app_name="travel", session_service=VaultSessionService(url),
                    artifact_service=VaultArtifactService(url))

Sessions are The Vault's sessions (`agent_name` is the app, `user_id` the
user), each bound to its ADK session id as a key within the app and the user
(/storage/apps/{app}/users/{user}/sessions/{key}): the id ADK chose or a uuid4
the service made, as ADK's own services do. Each event is a
message of the session's history that keeps the whole event as JSON in its
metadata, so `get_session` gives back equal events, and a window of recent
events costs what the window holds. State is split as ADK defines it: `app:`
keys go to the app's state, `user:` keys to the user's
(/storage/state/apps/...), the rest to the session's state, and `temp:` keys
are never stored. Every append writes the session's state with If-Match on
the version the session object was read at, so of two writers appending to
one stale session the second gets ADK's StaleSessionError.

Artifacts are The Vault's artifacts, one per version, their bytes in its
artifact store (deduplicated by content).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from google.adk.artifacts import artifact_util
from google.adk.artifacts.base_artifact_service import ArtifactVersion, BaseArtifactService, ensure_part
from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.input_validation_error import InputValidationError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.platform import uuid as platform_uuid
from google.adk.sessions import _session_util
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig, ListSessionsResponse
from google.adk.sessions.session import Session
from google.adk.sessions.state import State as AdkState
from google.genai import types

from vault.client import AlreadyExists, Artifact, AsyncVaultClient, Message, NotFound, PreconditionFailed
from vault.client import Session as VaultSession
from vault.client import State as VaultState

# Marks the sessions this service made among an agent's sessions.
MARK = "adk"
STALE_SESSION = (
    "The session has been modified in storage since it was loaded. "
    "Please reload the session before appending more events."
)
# The most messages one page of history holds.
MOST_PER_PAGE = 1000
# Between the Vault session's id and its state's version in a session's revision marker.
MARKER_SEPARATOR = " "

__all__ = ["VaultArtifactService", "VaultSessionService"]


def _role(event: Event) -> str:
    return "user" if event.author == "user" else "assistant"


def _text(event: Event) -> str | None:
    """The event's words, so The Vault's search finds them; the event itself travels in metadata."""
    parts = event.content.parts if event.content is not None and event.content.parts else []
    words = [part.text for part in parts if part.text]
    return "\n".join(words) if words else None


def _event_of(message: Message) -> Event:
    return Event.model_validate_json(json.dumps(message.metadata[MARK]))


def _patchable(delta: Mapping[str, Any]) -> bool:
    """Whether a JSON merge patch does what ADK's dict.update does: no value is null or an object."""
    return all(value is not None and not isinstance(value, dict) for value in delta.values())


def _merged(session_state: dict[str, Any], app_state: dict[str, Any], user_state: dict[str, Any]) -> dict[str, Any]:
    merged = dict(session_state)
    merged.update({AdkState.APP_PREFIX + key: value for key, value in app_state.items()})
    merged.update({AdkState.USER_PREFIX + key: value for key, value in user_state.items()})
    return merged


class _OverVault:
    """A service that calls The Vault through its own client; `close()` lets go of its connections."""

    def __init__(self, url: str, api_key: str | None = None) -> None:
        self.client = AsyncVaultClient(url, api_key)

    async def close(self) -> None:
        await self.client.aclose()


class VaultSessionService(_OverVault, BaseSessionService):
    """ADK's session service over The Vault's HTTP API."""

    # -- sessions

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        deltas = _session_util.extract_state_delta(state or {})
        key = (session_id.strip() if session_id else None) or platform_uuid.new_uuid()
        try:
            stored = await self.client.create_keyed_session(app_name, user_id, key, metadata={MARK: True})
        except AlreadyExists:
            raise AlreadyExistsError(f"Session with id {key} already exists.") from None
        await self._update_scoped(app_name, None, deltas["app"])
        await self._update_scoped(app_name, user_id, deltas["user"])
        # Written even when empty: its version is the revision stale sessions are told by.
        session_state = await self.client.put_state(stored.id, deltas["session"])
        return await self._session(key, stored, session_state, [])

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        key = session_id.strip()
        stored = await self._keyed(app_name, user_id, key)
        if stored is None:
            return None
        session_state = await self.client.get_state(stored.id)
        events = await self._events(stored.id, config or GetSessionConfig())
        return await self._session(key, stored, session_state, events)

    async def list_sessions(self, *, app_name: str, user_id: str | None = None) -> ListSessionsResponse:
        found = []
        app_state = await self.client.get_scoped_state(app_name)
        user_states: dict[str, dict[str, Any]] = {}
        async for keyed in self.client.iter_keyed_sessions(app_name, user_id, page_size=MOST_PER_PAGE):
            stored = keyed.session
            owner = stored.user_id or ""
            if owner not in user_states:
                user_states[owner] = (await self.client.get_scoped_state(app_name, owner)).data
            session_state = await self.client.get_state(stored.id)
            found.append(self._built(keyed.key, stored, session_state, [], app_state.data, user_states[owner]))
        # Oldest update first, as ADK's own services list them.
        found.sort(key=lambda session: (session.last_update_time, session.user_id, session.id))
        return ListSessionsResponse(sessions=found)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        stored = await self._keyed(app_name, user_id, session_id.strip())
        if stored is not None:
            # Gone already (another writer deleted it): gone is what was asked.
            with contextlib.suppress(NotFound):
                await self.client.delete_session(stored.id)

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        return (await self.client.get_scoped_state(app_name, user_id)).data

    # -- events

    async def append_event(self, session: Session, event: Event) -> Event:
        if event.partial:
            return event
        self._apply_temp_state(session, event)
        event = self._trim_temp_delta_state(event)
        delta = event.actions.state_delta if event.actions and event.actions.state_delta else {}
        deltas = _session_util.extract_state_delta(delta)
        vault_id, revision = await self._revision(session)
        written = await self._write_session_state(vault_id, revision, deltas["session"])
        await self.client.add_message(
            vault_id,
            _role(event),
            _text(event),
            metadata={MARK: json.loads(event.model_dump_json(exclude_none=True))},
            # A retried append stores the event once.
            idempotency_key=f"adk-event-{vault_id}-{event.id}",
        )
        await self._update_scoped(session.app_name, None, deltas["app"])
        await self._update_scoped(session.app_name, session.user_id, deltas["user"])
        self._commit_event_to_session(session, event)
        self._note_revision(session, written)
        return event

    async def _revision(self, session: Session) -> tuple[str, int | None]:
        """The Vault session behind an ADK session, and the state version the session was read at."""
        marker = session._storage_update_marker
        if marker is not None:
            vault_id, _, version = marker.rpartition(MARKER_SEPARATOR)
            return vault_id, int(version)
        # A session object this service never gave out: found by its key, with no revision to hold it to.
        stored = await self._keyed(session.app_name, session.user_id, session.id)
        if stored is None:
            raise SessionNotFoundError(f"Session {session.id} not found.")
        return stored.id, None

    async def _write_session_state(self, vault_id: str, revision: int | None, delta: dict[str, Any]) -> VaultState:
        """Apply the delta to the stored session state, only if it is still at `revision` (None: any)."""
        try:
            if revision is None:
                revision = (await self.client.get_state(vault_id)).version
            if _patchable(delta):
                # An empty patch still moves the version on: the next stale writer is told.
                return await self.client.patch_state(vault_id, delta, if_match=revision)
            current = await self.client.get_state(vault_id)
            if current.version != revision:
                raise StaleSessionError(STALE_SESSION)
            return await self.client.put_state(vault_id, {**current.data, **delta}, if_match=current.version)
        except PreconditionFailed:
            raise StaleSessionError(STALE_SESSION) from None
        except NotFound:
            raise SessionNotFoundError(f"Session {vault_id} not found.") from None

    async def _events(self, session_id: str, config: GetSessionConfig) -> list[Event]:
        wanted, after = config.num_recent_events, config.after_timestamp
        if wanted == 0:
            return []
        if wanted is None and after is None:
            return [_event_of(message) async for message in self.client.iter_history(session_id)]
        # Newest first, a page at a time, until the window is full or an event is older than `after`.
        newest_first: list[Event] = []
        before: int | None = None
        while wanted is None or len(newest_first) < wanted:
            room = MOST_PER_PAGE if wanted is None else min(MOST_PER_PAGE, wanted - len(newest_first))
            page = await self.client.get_history(session_id, limit=room, before=before)
            for message in reversed(page):
                event = _event_of(message)
                if after is not None and event.timestamp < after:
                    return newest_first[::-1]
                newest_first.append(event)
            if len(page) < room:
                break
            before = page[0].seq
        return newest_first[::-1]

    # -- state

    async def _update_scoped(self, app_name: str, user_id: str | None, delta: dict[str, Any]) -> None:
        """Apply a delta to an app's or user's state, which other sessions write too."""
        if not delta:
            return
        if _patchable(delta):
            await self.client.patch_scoped_state(app_name, delta, user_id)
            return
        # Values ADK replaces whole (objects) or sets to None: read, replace, retry if another writer came between.
        while True:
            current = await self.client.get_scoped_state(app_name, user_id)
            try:
                await self.client.put_scoped_state(
                    app_name, {**current.data, **delta}, user_id, if_match=current.version
                )
                return
            except PreconditionFailed:
                continue

    async def _keyed(self, app_name: str, user_id: str, key: str) -> VaultSession | None:
        """The Vault session bound to an ADK session id within its app and user, if there is one."""
        try:
            return await self.client.get_keyed_session(app_name, user_id, key)
        except NotFound:
            return None

    async def _session(self, key: str, stored: VaultSession, session_state: VaultState, events: list[Event]) -> Session:
        app_state = await self.client.get_scoped_state(stored.agent_name)
        user_state = await self.client.get_scoped_state(stored.agent_name, stored.user_id)
        return self._built(key, stored, session_state, events, app_state.data, user_state.data)

    def _built(
        self,
        key: str,
        stored: VaultSession,
        session_state: VaultState,
        events: list[Event],
        app_state: dict[str, Any],
        user_state: dict[str, Any],
    ) -> Session:
        session = Session(
            id=key,
            app_name=stored.agent_name,
            user_id=stored.user_id or "",
            state=_merged(session_state.data, app_state, user_state),
            events=events,
        )
        self._note_revision(session, session_state)
        return session

    @staticmethod
    def _note_revision(session: Session, state: VaultState) -> None:
        # Which Vault session, and at which version: a session deleted and made again under
        # the same key is another one, and a writer holding the old one is refused.
        session._storage_update_marker = f"{state.session_id}{MARKER_SEPARATOR}{state.version}"
        if state.updated_at is not None:
            session.last_update_time = state.updated_at.timestamp()


# -- artifacts


def _scope(app_name: str, user_id: str, filename: str, session_id: str | None) -> str:
    """The artifact type one scope's files are kept under: a user's (`user:` files) or a session's."""
    artifact_util.validate_path_segment(app_name, "app_name")
    artifact_util.validate_path_segment(user_id, "user_id")
    if filename.startswith("user:"):
        session_id = None
    elif session_id is None:
        raise InputValidationError("Session ID must be provided for session-scoped artifacts.")
    else:
        artifact_util.validate_path_segment(session_id, "session_id")
    return _scope_type(app_name, user_id, session_id)


def _scope_type(app_name: str, user_id: str, session_id: str | None) -> str:
    # Hashed: names of any length make a type of bounded length; the names themselves are in metadata.
    digest = hashlib.sha256(json.dumps([app_name, user_id, session_id]).encode()).hexdigest()
    return f"adk:{digest}"


def _split(part: types.Part) -> tuple[dict[str, Any], bytes | None, str | None]:
    """The part as JSON without its payload, the payload's bytes, and its mime type."""
    shape = json.loads(part.model_dump_json(exclude_none=True))
    if part.inline_data is not None:
        shape["inline_data"].pop("data", None)
        return shape, part.inline_data.data or b"", part.inline_data.mime_type
    if part.text is not None:
        return shape | {"text": None}, part.text.encode(), "text/plain"
    if part.file_data is not None:
        return shape, None, None if artifact_util.is_artifact_ref(part) else part.file_data.mime_type
    raise InputValidationError("Not supported artifact type.")


def _joined(shape: dict[str, Any], data: bytes | None) -> types.Part:
    """The part `_split` took apart."""
    part = types.Part.model_validate_json(json.dumps({key: value for key, value in shape.items() if value is not None}))
    if data is not None and part.inline_data is not None:
        return part.model_copy(update={"inline_data": part.inline_data.model_copy(update={"data": data})})
    if data is not None:
        return part.model_copy(update={"text": data.decode()})
    return part


class VaultArtifactService(_OverVault, BaseArtifactService):
    """ADK's artifact service over The Vault's HTTP API: versions from 0, session- and user-scoped files."""

    async def _versions(self, kind: str, filename: str) -> list[Artifact]:
        """A file's versions, oldest first."""
        found = [artifact async for artifact in self.client.iter_artifacts(type=kind, name=filename, page_size=1000)]
        return sorted(found, key=lambda artifact: artifact.metadata[MARK]["version"])

    async def save_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        artifact: types.Part | dict[str, Any],
        session_id: str | None = None,
        custom_metadata: dict[str, Any] | None = None,
    ) -> int:
        kind = _scope(app_name, user_id, filename, session_id)
        part = ensure_part(artifact)
        if part.file_data is not None and artifact_util.is_artifact_ref(part):
            parsed = artifact_util.parse_artifact_uri(part.file_data.file_uri or "")
            if not parsed:
                raise InputValidationError(f"Invalid artifact reference URI: {part.file_data.file_uri}")
            artifact_util.validate_artifact_reference_scope(
                app_name=app_name, user_id=user_id, session_id=session_id, parsed_uri=parsed
            )
        shape, data, mime_type = _split(part)
        versions = await self._versions(kind, filename)
        version = versions[-1].metadata[MARK]["version"] + 1 if versions else 0
        metadata = {
            MARK: {
                "app_name": app_name,
                "user_id": user_id,
                "session_id": None if filename.startswith("user:") else session_id,
                "version": version,
                "part": shape,
                "mime_type": mime_type,
                "custom_metadata": custom_metadata or {},
            }
        }
        if data is None:
            await self.client.create_artifact(filename, type=kind, metadata=metadata)
        else:
            await self.client.upload_artifact(
                filename, data, type=kind, content_type="application/octet-stream", metadata=metadata
            )
        return version

    async def load_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        session_id: str | None = None,
        version: int | None = None,
    ) -> types.Part | None:
        depth = artifact_util._MAX_ARTIFACT_REFERENCE_DEPTH
        while True:
            found = await self._version(app_name, user_id, filename, session_id, version)
            if found is None:
                return None
            described = found.metadata[MARK]
            data = None if found.sha256 is None else (await self.client.download_artifact(found.id)).data
            part = _joined(described["part"], data)
            if not artifact_util.is_artifact_ref(part):
                break
            parsed = artifact_util.resolve_artifact_reference(
                file_uri=part.file_data.file_uri,
                app_name=app_name,
                user_id=user_id,
                session_id=session_id,
                remaining_depth=depth,
            )
            app_name, user_id, filename = parsed.app_name, parsed.user_id, parsed.filename
            session_id, version, depth = parsed.session_id, parsed.version, depth - 1
        if part == types.Part() or artifact_util._is_rewind_tombstone(part):
            return None
        return part

    async def _version(
        self, app_name: str, user_id: str, filename: str, session_id: str | None, version: int | None
    ) -> Artifact | None:
        versions = await self._versions(_scope(app_name, user_id, filename, session_id), filename)
        if not versions:
            return None
        if version is None:
            return versions[-1]
        return next((found for found in versions if found.metadata[MARK]["version"] == version), None)

    async def list_artifact_keys(self, *, app_name: str, user_id: str, session_id: str | None = None) -> list[str]:
        artifact_util.validate_path_segment(app_name, "app_name")
        artifact_util.validate_path_segment(user_id, "user_id")
        kinds = [_scope_type(app_name, user_id, None)]
        if session_id is not None:
            artifact_util.validate_path_segment(session_id, "session_id")
            kinds.append(_scope_type(app_name, user_id, session_id))
        names = {
            artifact.name for kind in kinds async for artifact in self.client.iter_artifacts(type=kind, page_size=1000)
        }
        return sorted(names)

    async def delete_artifact(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> None:
        for found in await self._versions(_scope(app_name, user_id, filename, session_id), filename):
            await self.client.delete_artifact(found.id)

    async def list_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[int]:
        versions = await self._versions(_scope(app_name, user_id, filename, session_id), filename)
        return [found.metadata[MARK]["version"] for found in versions]

    async def list_artifact_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[ArtifactVersion]:
        versions = await self._versions(_scope(app_name, user_id, filename, session_id), filename)
        return [self._described(found) for found in versions]

    async def get_artifact_version(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        session_id: str | None = None,
        version: int | None = None,
    ) -> ArtifactVersion | None:
        found = await self._version(app_name, user_id, filename, session_id, version)
        return None if found is None else self._described(found)

    def _described(self, found: Artifact) -> ArtifactVersion:
        described = found.metadata[MARK]
        return ArtifactVersion(
            version=described["version"],
            canonical_uri=f"{self.client.base_url.rstrip('/')}/storage/artifacts/{found.id}",
            custom_metadata=described["custom_metadata"],
            create_time=found.created_at.timestamp(),
            mime_type=described["mime_type"],
        )
