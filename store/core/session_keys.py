"""Sessions bound to a key their client chose, unique within an app and a user: the rows, the same in every backend.

A framework that names its sessions itself (ADK's session ids are scoped to
an app and a user) binds each to a key here; the session keeps its own
server-made id, so sessions still sort by creation.
"""

from __future__ import annotations

from typing import Any

from vault.store.core import rows

from vault.models import KeyedSession

# The session's columns, then its key: rows.session reads the first ones as they are.
COLUMNS = ", ".join(f"s.{column}" for column in rows.SESSION_COLUMNS.split(", ")) + ", k.session_key"
SOURCE = "session_keys k JOIN sessions s ON s.id = k.session_id"
# The one document a row holds, for page budgets.
DOCUMENT = "s.metadata"
ORDER = "ORDER BY k.user_id, k.session_key"


def keyed(row: Any) -> KeyedSession:
    return KeyedSession(row[8], rows.session(row))
