"""`vault copy`: SQLite -> PostgreSQL -> SQLite, and the same answers from every copy."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from vault.store.blobfs import FilesystemBlobStore
from vault.store.errors import StoreError
from vault.store.interface import IdempotencyClaim, Store
from vault.store.sqlite import SQLiteStore
from vault.store.transfer import copy_database, parse_database_url

from tests import store_settings
from tests.postgres.conftest import new_store
from tests.store.conftest import message, point
from vault import clock
from vault.cli import main
from vault.inputs import CacheWrite, NewArtifact, NewSession
from vault.jsonutil import loads_stored
from vault.queries import ArtifactQuery, HistoryQuery, MetricQuery, RollupQuery, SearchQuery, SessionQuery
from vault.search import parse_query

CLAIM = IdempotencyClaim("create-once", "fingerprint")
CACHE_KEYS = ("forever", "for-an-hour", "ünïcode key")


def at(minutes: int) -> str:
    return clock.format_time(datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes))


async def fill(store: Store) -> None:
    """One of everything, in the shapes that are easy to get wrong."""
    first = await store.create_session(NewSession(agent_name="planner", metadata={"big": 2**70, "é": "ü"}), CLAIM)
    second = await store.create_session(NewSession(agent_name="coder", user_id="u1", status="paused"))
    await store.add_messages(
        first.id,
        [
            message("plain"),
            message(None, role="assistant", tool_calls=[{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]),
            message([{"type": "text", "text": "NUL \u0000 and emoji 🎉"}], role="tool", tool_call_id="c1"),
        ],
    )
    await store.add_messages(second.id, [message(f"m{n}") for n in range(25)])
    await store.clear_history(second.id)
    await store.add_messages(second.id, [message("after clearing")])
    await store.put_state(first.id, {"nested": {"list": [1, 2.5, None]}}, None)
    await store.patch_state(first.id, {"more": True}, None)
    await store.create_artifact(NewArtifact(name="report.pdf", session_id=first.id, size=10, metadata={"p": 3}))
    async with store.upload_content() as upload:
        await upload.write(b"artifact bytes")
        await store.create_artifact(NewArtifact(name="stored.txt", session_id=second.id), content=upload)
    await store.record_metrics([point(float(m), timestamp=at(m), session_id=first.id) for m in range(5)])
    await store.fold_metric_rollups()
    # Points recorded after the fold stay unfolded in every copy.
    await store.record_metrics([point(10.0, timestamp=at(1), labels={"model": "large"}), point(20.0, timestamp=at(90))])
    await store.cache_set("forever", CacheWrite(value={"v": [1, "x"]}))
    await store.cache_set("for-an-hour", CacheWrite(value="soon", ttl=3600))
    await store.cache_set("ünïcode key", CacheWrite(value=None))


async def answers(store: Store) -> dict[str, Any]:
    """What clients can read, from every read the store offers."""
    found: dict[str, Any] = {}
    sessions = (await store.list_sessions(SessionQuery(limit=1000))).items
    found["sessions"] = sessions
    for session in sessions:
        found[f"history {session.id}"] = await store.list_messages(HistoryQuery(session_id=session.id, limit=1000))
        found[f"window {session.id}"] = await store.list_message_bodies(HistoryQuery(session_id=session.id, limit=2))
        found[f"state {session.id}"] = await store.get_state(session.id)
    for q in ("plain", "emoji", "after clearing", "m1*"):
        # Each engine scores in its own way; what is found, and how it is shown, is the same.
        hits = [loads_stored(item.body) for item in (await store.search(SearchQuery(parse_query(q)))).items]
        found[f"search {q}"] = [{k: v for k, v in hit.items() if k != "score"} for hit in hits]
    found["artifacts"] = await store.list_artifacts(ArtifactQuery(limit=1000))
    found["metrics"] = await store.list_metrics(MetricQuery(limit=1000))
    for bucket in ("minute", "hour", "day"):
        found[f"rollups {bucket}"] = await store.list_rollups(RollupQuery(metric_name="latency_ms", bucket=bucket))
    for key in CACHE_KEYS:
        entry = await store.cache_get(key)
        # accessed_at is the time of this very read.
        found[f"cache {key}"] = (entry.key, entry.value, entry.ttl, entry.created_at, entry.expires_at)
    return found


async def settle(store: Store) -> dict[str, Any]:
    """Fold what is unfolded and replay the idempotent create; both must behave as on the original."""
    folded = await store.fold_metric_rollups()
    replay = await store.create_session(NewSession(agent_name="planner", metadata={"big": 2**70, "é": "ü"}), CLAIM)
    return {"folded now": folded, "replay": replay, **await answers(store)}


async def opened(store: Store) -> Store:
    await store.start()
    return store


def sqlite_store(path, tmp_path) -> SQLiteStore:
    return SQLiteStore(str(path), store_settings.SQLITE, blobs=FilesystemBlobStore(tmp_path / "artifacts"))


# Rule: vault copy moves a whole database: SQLite -> PostgreSQL -> SQLite, each answering as the original.
async def test_round_trip_gives_the_same_answers_everywhere(tmp_path, database_url):
    original = await opened(sqlite_store(tmp_path / "original.db", tmp_path))
    try:
        await fill(original)
    finally:
        await original.close()

    to_postgres = await copy_database(
        parse_database_url(f"sqlite:///{tmp_path}/original.db"), parse_database_url(database_url)
    )
    back = tmp_path / "back" / "copy.db"
    to_sqlite = await copy_database(parse_database_url(database_url), parse_database_url(str(back)))

    assert to_postgres.ok and to_sqlite.ok
    assert [c.source for c in to_postgres.counts] == [c.source for c in to_sqlite.counts]
    results = []
    for store in (
        sqlite_store(tmp_path / "original.db", tmp_path),
        new_store(database_url, tmp_path),
        sqlite_store(back, tmp_path),
    ):
        await store.start()
        try:
            before = await answers(store)
            results.append((before, await settle(store)))
        finally:
            await store.close()
    (sqlite_before, sqlite_after), (pg_before, pg_after), (back_before, back_after) = results
    assert pg_before == sqlite_before
    assert back_before == sqlite_before
    assert pg_after == sqlite_after
    assert back_after == sqlite_after
    assert sqlite_after["folded now"] == 2


async def test_copy_refuses_a_target_that_holds_data(tmp_path, database_url):
    source = await opened(sqlite_store(tmp_path / "a.db", tmp_path))
    try:
        await fill(source)
    finally:
        await source.close()
    url = parse_database_url(str(tmp_path / "a.db"))
    await copy_database(url, parse_database_url(database_url))

    with pytest.raises(StoreError, match="already holds"):
        await copy_database(url, parse_database_url(database_url))


# Rule: a failed copy leaves the target empty (one transaction), never half-filled.
async def test_a_value_postgresql_cannot_hold_stops_the_copy_and_leaves_nothing(tmp_path, database_url):
    source = await opened(sqlite_store(tmp_path / "a.db", tmp_path))
    try:
        await source.create_session(NewSession(agent_name="fine"))
        await source.create_session(NewSession(agent_name="has a NUL \x00 in it"))
    finally:
        await source.close()

    with pytest.raises(StoreError, match="sessions"):
        await copy_database(parse_database_url(str(tmp_path / "a.db")), parse_database_url(database_url))

    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 0
    finally:
        await conn.close()


async def test_vault_copy_command_shows_progress_and_verifies_counts(tmp_path, database_url, capsys):
    source = await opened(sqlite_store(tmp_path / "a.db", tmp_path))
    try:
        await fill(source)
    finally:
        await source.close()

    # The command runs its own event loop, as it does from a shell.
    assert await asyncio.to_thread(main, ["copy", "--from", f"sqlite:///{tmp_path}/a.db", "--to", database_url]) == 0

    out, err = capsys.readouterr()
    assert "every count matches" in out
    assert re.search(r"^messages +4 rows$", err, re.MULTILINE)
    assert await asyncio.to_thread(main, ["copy", "--from", f"sqlite:///{tmp_path}/a.db", "--to", database_url]) == 2
    assert "already holds" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "backend", "location"),
    [
        ("postgresql://u@h/db", "postgresql", "postgresql://u@h/db"),
        ("postgres://u@h/db", "postgresql", "postgres://u@h/db"),
        ("sqlite:////abs/vault.db", "sqlite", "/abs/vault.db"),
        ("sqlite:///relative/vault.db", "sqlite", "relative/vault.db"),
        ("plain/path.db", "sqlite", "plain/path.db"),
    ],
)
def test_database_urls(text, backend, location):
    url = parse_database_url(text)
    assert (url.backend, url.location) == (backend, location)


@pytest.mark.parametrize("text", ["mysql://h/db", "sqlite://host/db", "sqlite:///", ""])
def test_database_urls_that_name_nothing_usable_are_refused(text):
    with pytest.raises(ValueError):
        parse_database_url(text)


# Rule: SQLite cursors stay on the worker thread that used them (one freed on another thread broke big copies).
async def test_a_copy_of_many_batches_into_sqlite_completes(tmp_path, database_url):
    store = new_store(database_url, tmp_path)
    await store.start()
    try:
        session = await store.create_session(NewSession(agent_name="long"))
    finally:
        await store.close()
    # 100,000 messages written straight into the table: through the store this would take minutes.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO messages (session_id, seq, id, role, body)"
            " SELECT $1, n, 'msg_' || lpad(n::text, 24, '0'), 'user', json_build_object('content', repeat('x', 300))"
            " FROM generate_series(1, 100000) AS n",
            session.id,
        )
    finally:
        await conn.close()

    report = await copy_database(parse_database_url(database_url), parse_database_url(str(tmp_path / "copy.db")))

    assert report.ok
    assert {count.table: count.target for count in report.counts}["messages"] == 100_000
