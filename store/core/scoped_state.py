"""State scoped to an app, or to one user of an app: its rows and records, the same in every backend.

It behaves as a session's state does (versions, If-Match, merge patches) and
is kept in one table, keyed by (app_name, user_id) with user_id '' for the
app's own state; a user id is never empty, so the two scopes never meet.
"""

from __future__ import annotations

from typing import Any

from vault.store.core import rows
from vault.store.core.packing import Codec, Packed
from vault.store.errors import PreconditionFailed

from vault.models import ScopedState, State

SCOPED_STATE_COLUMNS = "app_name, user_id, data, data_packed, data_size, version, updated_at"
APP_SCOPE = ""
# A scope's row, as rows.state reads it; each backend fills in its placeholders.
ROW_QUERY = (
    "SELECT data, data_packed, data_size, version, updated_at FROM scoped_state WHERE app_name = {} AND user_id = {}"
)
SQLITE_ROW_QUERY = ROW_QUERY.format("?", "?")
POSTGRES_ROW_QUERY = ROW_QUERY.format("$1", "$2")


def key_of(user_id: str | None) -> str:
    return APP_SCOPE if user_id is None else user_id


def scoped(app_name: str, user_key: str, state: State) -> ScopedState:
    return ScopedState(app_name, user_key or None, state.data, state.version, state.updated_at)


def current(app_name: str, user_key: str, row: Any, if_match: int | None, codec: Codec, with_data: bool) -> State:
    """The state a write starts from (as rows.current_state), a stale If-Match answered with the scoped record."""
    try:
        return rows.current_state(app_name, row, if_match, codec, with_data)
    except PreconditionFailed as failed:
        raise PreconditionFailed(scoped(app_name, user_key, failed.current)) from None


def row_of(app_name: str, user_key: str, state: State, packed: Packed) -> tuple[Any, ...]:
    """Values for SCOPED_STATE_COLUMNS."""
    return (app_name, user_key, packed.text, packed.frame, packed.size, state.version, state.updated_at)
