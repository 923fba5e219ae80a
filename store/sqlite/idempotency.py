"""Idempotency keys: a result recorded in the same transaction as its write."""

from __future__ import annotations

import sqlite3
from typing import Any

from vault.store.core.idempotency import Replayed, recorded_text
from vault.store.errors import IdempotencyMismatch
from vault.store.interface import IdempotencyClaim

from vault import clock, jsonutil


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
        (claim.key, claim.fingerprint, recorded_text(result), clock.now_text()),
    )
