"""Rows to records: the column lists and the functions that read them, alike in both backends."""

from __future__ import annotations

from typing import Any

from vault.jsonutil import loads_stored as loads
from vault.models import Artifact, CacheEntry, Message, Metric, Session, State

SESSION_COLUMNS = "id, agent_name, user_id, status, metadata, created_at, updated_at, message_count"
ARTIFACT_COLUMNS = "id, session_id, name, type, content_type, path, size, sha256, metadata, created_at"
METRIC_COLUMNS = "id, entity_type, entity_name, session_id, metric_name, value, labels, timestamp"
CACHE_COLUMNS = "key, value, ttl, created_at, accessed_at, expires_at"

# Seq numbers are SQLite integers (and PostgreSQL bigints): at most 2^63 - 1.
MAX_SEQ = 2**63 - 1


def session(row: Any) -> Session:
    return Session(row[0], row[1], row[2], row[3], loads(row[4]), row[5], row[6], row[7])


def message(body: str) -> Message:
    return Message(**loads(body))


def state(session_id: str, row: Any) -> State:
    if row is None or row[0] is None:
        return State(session_id, {}, 0, None)
    return State(session_id, loads(row[0]), row[1], row[2])


def artifact(row: Any) -> Artifact:
    return Artifact(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], loads(row[8]), row[9])


def metric(row: Any) -> Metric:
    return Metric(row[0], row[1], row[2], row[3], row[4], row[5], loads(row[6]), row[7])


def cache_entry(row: Any) -> CacheEntry:
    return CacheEntry(row[0], loads(row[1]), row[2], row[3], row[4], row[5])
