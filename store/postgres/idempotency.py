"""Idempotency keys, claimed first in the write's own transaction.

The key's row is inserted before the write runs. A concurrent request with
the same key blocks on that insert until the first transaction ends: if it
committed, the second finds the recorded answer (or a mismatch) and writes
nothing; if it rolled back, the second claims the key itself. Either way a
key is written once, across every instance.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from vault.store.core.idempotency import Replayed, recorded_text
from vault.store.errors import IdempotencyMismatch
from vault.store.interface import IdempotencyClaim

from vault import clock, jsonutil


async def claim(conn: asyncpg.Connection, claim: IdempotencyClaim) -> Replayed | None:
    """Claim the key for this transaction, or return the answer recorded under it."""
    inserted = await conn.fetchval(
        "INSERT INTO idempotency_keys (key, fingerprint, created_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (key) DO NOTHING RETURNING true",
        claim.key,
        claim.fingerprint,
        clock.now_text(),
    )
    if inserted:
        return None
    return await lookup(conn, claim)


async def lookup(conn: asyncpg.Connection, claim: IdempotencyClaim) -> Replayed | None:
    row = await conn.fetchrow("SELECT fingerprint, response FROM idempotency_keys WHERE key = $1", claim.key)
    if row is None:
        return None
    if row["fingerprint"] != claim.fingerprint:
        raise IdempotencyMismatch(claim.key)
    return Replayed(jsonutil.loads(row["response"]))


async def record(conn: asyncpg.Connection, claim: IdempotencyClaim, result: Any) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET response = $2 WHERE key = $1",
        claim.key,
        recorded_text(result),
    )
