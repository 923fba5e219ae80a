"""Idempotency keys: a result recorded in the same transaction as its write."""

from __future__ import annotations

import sqlite3
from typing import Any

from attrs import frozen
from vault.store.errors import IdempotencyMismatch
from vault.store.interface import IdempotencyClaim

from vault import clock, jsonutil
from vault.converter import unstructure


@frozen
class Replayed:
    """The recorded result of an earlier request with the same key, unstructured."""

    body: Any


def lookup(conn: sqlite3.Connection, claim: IdempotencyClaim) -> Replayed | None:
    row = conn.execute("SELECT fingerprint, response FROM idempotency_keys WHERE key = ?", (claim.key,)).fetchone()
    if row is None:
        return None
    if row[0] != claim.fingerprint:
        raise IdempotencyMismatch(claim.key)
    return Replayed(jsonutil.loads(row[1]))


def record(conn: sqlite3.Connection, claim: IdempotencyClaim, result: Any) -> None:
    conn.execute(
        "INSERT INTO idempotency_keys (key, fingerprint, response, created_at) VALUES (?, ?, ?, ?)",
        (claim.key, claim.fingerprint, jsonutil.dumps_text(unstructure(result)), clock.now_text()),
    )


def revive(result: Any, cls: type) -> Any:
    """The result as its type, whether fresh or replayed from the record."""
    if not isinstance(result, Replayed):
        return result
    if isinstance(result.body, list):
        return [cls(**item) for item in result.body]
    if isinstance(result.body, dict):
        return cls(**result.body)
    return result.body
