"""Expiry jobs called directly against a real database."""

from __future__ import annotations

import sqlite3

from vault.jobs.housekeeping import expire_events, expire_idempotency_keys, sweep_cache
from vault.store.interface import IdempotencyClaim

from vault.inputs import CacheWrite, NewSession

LONG_AGO = "2000-01-01T00:00:00.000000+00:00"


def expire(db_path: str, keys: list[str]) -> None:
    """Move entries' expiry into the past directly in the file: no waiting for a TTL."""
    with sqlite3.connect(db_path) as conn:
        conn.executemany("UPDATE cache SET expires_at = ? WHERE key = ?", [(LONG_AGO, key) for key in keys])


async def test_sweep_removes_exactly_the_expired_entries(store, db_path):
    for key in ("a", "b", "c", "d"):
        await store.cache_set(key, CacheWrite(value=key, ttl=3600))
    await store.cache_set("forever", CacheWrite(value=1))
    expire(db_path, ["a", "c"])
    assert await sweep_cache(store) == 2
    with sqlite3.connect(db_path) as conn:
        assert sorted(row[0] for row in conn.execute("SELECT key FROM cache")) == ["b", "d", "forever"]
    assert await sweep_cache(store) == 0


async def test_sweep_works_in_bounded_chunks(store, db_path):
    keys = [f"k{i}" for i in range(2500)]
    for key in keys:
        await store.cache_set(key, CacheWrite(value=None, ttl=60))
    expire(db_path, keys)
    commits_before = store.write_stats.commits
    assert await sweep_cache(store) == 2500
    # 1,000 a command: the sweep never holds the writer for the whole table.
    assert store.write_stats.commits - commits_before >= 3


async def test_idempotency_keys_expire_by_age(store, db_path):
    for key in ("old", "new"):
        await store.create_session(NewSession(agent_name="a"), IdempotencyClaim(key, "f"))
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE idempotency_keys SET created_at = ? WHERE key = 'old'", (LONG_AGO,))
    assert await expire_idempotency_keys(store, max_age_hours=24) == 1
    with sqlite3.connect(db_path) as conn:
        assert [row[0] for row in conn.execute("SELECT key FROM idempotency_keys")] == ["new"]


async def test_event_expiry_deletes_the_events_older_than_their_hours(store, db_path):
    await store.create_session(NewSession(agent_name="old"))
    await store.create_session(NewSession(agent_name="new"))
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE events SET at = ? WHERE id = (SELECT min(id) FROM events)", (LONG_AGO,))
    assert await expire_events(store, 24) == 1
    with sqlite3.connect(db_path) as conn:
        [kept] = [row[0] for row in conn.execute("SELECT data FROM events")]
    assert '"agent_name":"new"' in kept
    assert await expire_events(store, 24) == 0
