"""Rows to records: the column lists and the functions that read them, alike in both backends."""

from __future__ import annotations

from typing import Any

from vault.store.core import bodies
from vault.store.core.packing import Codec
from vault.store.errors import PreconditionFailed

from vault.jsonutil import loads_stored as loads
from vault.models import Artifact, CacheEntry, Message, Metric, Session, State

SESSION_COLUMNS = "id, agent_name, user_id, status, metadata, created_at, updated_at, message_count"
ARTIFACT_COLUMNS = "id, session_id, name, type, content_type, path, size, sha256, metadata, created_at"
# What an insert writes: the record, and the size its blob is kept in (not part of the record).
ARTIFACT_INSERT_COLUMNS = f"{ARTIFACT_COLUMNS}, stored_size"
METRIC_COLUMNS = "id, entity_type, entity_name, session_id, metric_name, value, labels, timestamp"
CACHE_COLUMNS = "key, value, value_packed, value_size, ttl, created_at, accessed_at, expires_at"
STATE_COLUMNS = "session_id, data, data_packed, data_size, version, updated_at"
# A message's body and what rebuilds it when packed (vault.store.core.bodies).
MESSAGE_BODY_COLUMNS = "id, session_id, seq, body, body_packed, body_size"

# Seq numbers are SQLite integers (and PostgreSQL bigints): at most 2^63 - 1.
MAX_SEQ = 2**63 - 1


def session(row: Any) -> Session:
    return Session(row[0], row[1], row[2], row[3], loads(row[4]), row[5], row[6], row[7])


def message(body: str) -> Message:
    return Message(**loads(body))


def message_body(row: Any, codec: Codec) -> str:
    """The body as served, from a row of MESSAGE_BODY_COLUMNS."""
    return bodies.body(codec, row[0], row[1], row[2], row[3], row[4], row[5])


def document_size(text: str, size: int | None) -> int:
    """A document's UTF-8 size for page budgets: recorded, or (rows from before) its length."""
    return len(text) if size is None else size


def state(session_id: str, row: Any, codec: Codec) -> State:
    """The state from (data, data_packed, data_size, version, updated_at), or none yet."""
    if row is None or row[3] is None:
        return State(session_id, {}, 0, None)
    return State(session_id, loads(codec.unpack(row[0], row[1], row[2])), row[3], row[4])


def artifact(row: Any) -> Artifact:
    return Artifact(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], loads(row[8]), row[9])


def metric(row: Any) -> Metric:
    return Metric(row[0], row[1], row[2], row[3], row[4], row[5], loads(row[6]), row[7])


def current_state(session_id: str, row: Any, if_match: int | None, codec: Codec, with_data: bool) -> State:
    """The state a write starts from, from a row like `state`'s: PreconditionFailed (with the
    whole state) when If-Match names another version. The data is unpacked only `with_data`:
    a put or a delete needs no more than the version."""
    version = 0 if row is None or row[3] is None else row[3]
    if if_match is not None and if_match != version:
        raise PreconditionFailed(state(session_id, row, codec))
    if with_data or version == 0:
        return state(session_id, row, codec)
    return State(session_id, {}, row[3], row[4])


def cache_entry(row: Any, codec: Codec, accessed_at: str) -> CacheEntry:
    """An entry from a row of CACHE_COLUMNS, read at `accessed_at`."""
    return CacheEntry(row[0], loads(codec.unpack(row[1], row[2], row[3])), row[4], row[5], accessed_at, row[7])
