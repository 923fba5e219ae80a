"""The calls of AsyncVaultClient for sessions bound to a key of the caller's choosing, unique
within an app and a user (/storage/apps/{app}/users/{user}/sessions/{key}).

Kept apart so each client module stays small; AsyncVaultClient inherits them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from vault.client import wire
from vault.client.core import ClientCore
from vault.models import KeyedSession, Session


def _sessions(app_name: str, user_id: str | None) -> str:
    path = f"/storage/apps/{wire.segment(app_name)}"
    return f"{path}/sessions" if user_id is None else f"{path}/users/{wire.segment(user_id)}/sessions"


class SessionKeyCalls(ClientCore):
    async def create_keyed_session(
        self,
        app_name: str,
        user_id: str,
        key: str,
        *,
        status: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Session:
        """A new session (`agent_name` the app) bound to `key`; AlreadyExists if the key is taken.

        Never retried: a retry after an unanswered attempt could meet that attempt's
        session and report the key taken.
        """
        path = f"{_sessions(app_name, user_id)}/{wire.segment(key)}"
        answer = await self._write("PUT", path, wire.fields(status=status, metadata=metadata), repeatable=False)
        return wire.structure(wire.decode_json(answer.body), Session)

    async def get_keyed_session(self, app_name: str, user_id: str, key: str) -> Session:
        """The session bound to `key`; NotFound if none is."""
        return wire.structure(await self._get(f"{_sessions(app_name, user_id)}/{wire.segment(key)}"), Session)

    async def list_keyed_sessions(
        self, app_name: str, user_id: str | None = None, *, limit: int | None = None, offset: int | None = None
    ) -> list[KeyedSession]:
        """Keys with their sessions, of the app's users (or of one), by user id then key."""
        answer = await self._get(_sessions(app_name, user_id), wire.query(limit=limit, offset=offset))
        return wire.structure_list(answer, KeyedSession)

    def iter_keyed_sessions(
        self, app_name: str, user_id: str | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[KeyedSession]:
        return self._pages(_sessions(app_name, user_id), wire.query(limit=page_size), KeyedSession)
