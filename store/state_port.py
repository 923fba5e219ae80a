"""The state port: each session's JSON state with its version, and its adapters.

The store's *_state methods go through a StateStore chosen when the store is
built: the main database by default, another adapter (Redis, ...) passed in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

from vault.models import Session, State
from vault.telemetry import Telemetry


class StateStore(Protocol):
    """A state adapter: what it must guarantee (tests/store/test_contract_state.py holds it to this).

    - `get` of a session never written is `data={}`, `version=0`.
    - Every write moves the version on by exactly 1, a delete too.
    - With `if_match` other than the current version, a write raises
      PreconditionFailed carrying the current State and changes nothing; the
      check and the write are one atomic step against other writes of the
      same session (concurrent writes with one If-Match: exactly one wins).
    - `forget`, called once the session is deleted, drops whatever the
      adapter keeps for it (nothing is left to drop where the state went
      with the session's own delete, as in the database); a write still on
      its way for that session afterwards raises NotFound and writes nothing.

    The adapter knows nothing of sessions. The store does: it checks that the
    session exists before each call (NotFound: an unknown session is 404) and
    forgets its state when the session is deleted (SessionScopedState). The
    database adapter gets both from its own transactions.
    """

    # Where state lives, as /health's `backends` names it: "database", "redis".
    kind: ClassVar[str]

    async def get(self, session_id: str) -> State:
        """The state; `data={}`, `version=0` for a session that has none yet."""

    async def put(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        """Replace the data; version + 1."""

    async def patch(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        """Apply a JSON merge patch (RFC 7396) to the data atomically; version + 1."""

    async def delete(self, session_id: str, if_match: int | None) -> State:
        """Empty the data; the version still moves on, so If-Match never matches stale copies."""

    async def forget(self, session_id: str) -> None:
        """The session was deleted: drop its state altogether."""

    async def ping(self) -> None:
        """Return when the adapter answers; StoreUnavailable, naming it, otherwise."""

    async def close(self) -> None:
        """Let go of connections; the store calls it when it closes."""

    def observe(self, telemetry: Telemetry) -> None:
        """Report its calls to the app's metrics, if it has any of its own to report."""


class DatabaseCommands(Protocol):
    """What a database backend does for state itself (the session check and the cascade included)."""

    async def _db_get_state(self, session_id: str) -> State: ...

    async def _db_put_state(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State: ...

    async def _db_patch_state(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State: ...

    async def _db_delete_state(self, session_id: str, if_match: int | None) -> State: ...


class DatabaseState:
    """State in the main database: each write checks its session in the same transaction."""

    kind: ClassVar[str] = "database"

    def __init__(self, database: DatabaseCommands) -> None:
        self._database = database

    async def get(self, session_id: str) -> State:
        return await self._database._db_get_state(session_id)

    async def put(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        return await self._database._db_put_state(session_id, data, if_match)

    async def patch(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        return await self._database._db_patch_state(session_id, patch, if_match)

    async def delete(self, session_id: str, if_match: int | None) -> State:
        return await self._database._db_delete_state(session_id, if_match)

    async def forget(self, session_id: str) -> None:
        pass  # the session's delete took its state with it, in the same transaction

    async def ping(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def observe(self, telemetry: Telemetry) -> None:
        pass  # the database's own metrics cover it


class SessionScopedState:
    """An adapter outside the database, answering only for sessions the database knows.

    Deleting a session deletes its row first, then `forget`s its state. A crash
    between the two can leave state behind; no later call can see it, since
    every call here checks the session first and session ids are never
    reused. A write that checked the session just before its delete is the
    adapter's to refuse: `forget` must leave a mark that makes it NotFound.
    """

    def __init__(self, state: StateStore, get_session: Callable[[str], Awaitable[Session]]) -> None:
        self._state = state
        self._get_session = get_session
        self.kind = state.kind

    async def get(self, session_id: str) -> State:
        await self._get_session(session_id)
        return await self._state.get(session_id)

    async def put(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        await self._get_session(session_id)
        return await self._state.put(session_id, data, if_match)

    async def patch(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        await self._get_session(session_id)
        return await self._state.patch(session_id, patch, if_match)

    async def delete(self, session_id: str, if_match: int | None) -> State:
        await self._get_session(session_id)
        return await self._state.delete(session_id, if_match)

    async def forget(self, session_id: str) -> None:
        await self._state.forget(session_id)

    async def ping(self) -> None:
        await self._state.ping()

    async def close(self) -> None:
        await self._state.close()

    def observe(self, telemetry: Telemetry) -> None:
        self._state.observe(telemetry)
