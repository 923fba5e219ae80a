"""What the PostgreSQL store does beyond the shared contract: limits, text it cannot hold, backups, folds."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from attrs import evolve
from vault.store import errors
from vault.store.blobfs import FilesystemBlobStore
from vault.store.postgres.connection import translate
from vault.store.postgres.store import PostgresStore
from vault.store.sqlite import SQLiteStore
from yarl import URL

from tests import store_settings
from tests.postgres.conftest import new_store
from tests.store.conftest import add_texts, at, new_session, point
from vault.app import create_app
from vault.inputs import CacheWrite, NewArtifact, NewSession
from vault.queries import RollupQuery, SessionQuery


@pytest.fixture
async def store(database_url, tmp_path):
    store = new_store(database_url, tmp_path)
    await store.start()
    yield store
    await store.close()


async def session_row_locked(database_url: str, session_id: str):
    """An outside transaction holding the session's row, as a long writer on another instance would."""
    conn = await asyncpg.connect(database_url)
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute("SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", session_id)
    return conn, transaction


async def wait_for_lock_waiters(database_url: str, count: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(10):
            while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") < count:
                await asyncio.sleep(0.02)
    finally:
        await conn.close()


# -- text PostgreSQL cannot hold


@pytest.mark.parametrize("key", ["\x00", "session_\x00", "\ud800"])
async def test_keys_postgresql_cannot_hold_are_not_found(store, key):
    for lookup in (store.get_session, store.get_message, store.get_artifact, store.get_metric, store.cache_get):
        with pytest.raises(errors.NotFound):
            await lookup(key)
    assert (await store.list_sessions(SessionQuery(agent_name=key))).items == []


# Rule: text with a NUL is refused with a 422, never a 500 (PostgreSQL text cannot hold it).
async def test_writing_a_nul_is_refused_as_bad_input(store):
    with pytest.raises(errors.InvalidReference):
        await store.create_session(NewSession(agent_name="a\x00b"))
    with pytest.raises(errors.InvalidReference):
        await store.cache_set("key\x00", CacheWrite(value=1))


async def test_odd_ids_are_404_and_a_nul_in_a_body_is_422_over_http(aiohttp_client, pg_config):
    client = await aiohttp_client(create_app(pg_config))
    for path in ("/storage/sessions/%00", "/storage/state/%00", "/storage/cache/a%00b", "/storage/history/%00"):
        response = await client.get(URL(path, encoded=True))
        assert response.status == 404, path
    response = await client.post("/storage/sessions", json={"agent_name": "nul \u0000 inside"})
    assert response.status == 422, await response.text()
    assert (await response.json())["error"] == "validation_error"


# -- bounded waiting


# Rule: an overloaded store answers busy at once instead of queueing without bound.
async def test_callers_past_the_pool_and_queue_bound_are_refused_busy(database_url, tmp_path):
    store = new_store(database_url, tmp_path, pool_size=1, queue_max=1)
    await store.start()
    try:
        session = await new_session(store)
        conn, transaction = await session_row_locked(database_url, session.id)
        try:
            holding = asyncio.ensure_future(add_texts(store, session.id, "holds the one connection"))
            await wait_for_lock_waiters(database_url, 1)
            waiting = asyncio.ensure_future(store.get_session(session.id))
            async with asyncio.timeout(10):
                while store._pool.waiting < 1:
                    await asyncio.sleep(0.01)

            with pytest.raises(errors.StoreBusy):
                await store.get_session(session.id)
        finally:
            await transaction.rollback()
            await conn.close()
        assert [m.seq for m in await holding] == [1]
        assert (await waiting).id == session.id
    finally:
        await store.close()


async def test_a_caller_that_gets_no_connection_in_time_is_refused_busy(database_url, tmp_path):
    store = new_store(database_url, tmp_path, pool_size=1, pool_timeout=0.2)
    await store.start()
    try:
        session = await new_session(store)
        conn, transaction = await session_row_locked(database_url, session.id)
        try:
            holding = asyncio.ensure_future(add_texts(store, session.id, "holds the one connection"))
            await wait_for_lock_waiters(database_url, 1)

            with pytest.raises(errors.StoreBusy):
                await store.get_session(session.id)
        finally:
            await transaction.rollback()
            await conn.close()
        await holding
    finally:
        await store.close()


# Rule: close lets writes already under way commit and answer, then refuses new ones.
async def test_close_finishes_writes_under_way(database_url, tmp_path):
    store = new_store(database_url, tmp_path)
    await store.start()
    session = await new_session(store)
    conn, transaction = await session_row_locked(database_url, session.id)
    try:
        writing = asyncio.ensure_future(add_texts(store, session.id, "in flight"))
        await wait_for_lock_waiters(database_url, 1)
        closing = asyncio.ensure_future(store.close())
        await asyncio.sleep(0)  # let close begin: it stops taking work before it waits for any
        with pytest.raises(errors.StoreClosed):
            await new_session(store)
    finally:
        await transaction.rollback()
        await conn.close()
    await closing
    assert [m.seq for m in await writing] == [1]


# -- errors and schema


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (asyncpg.DiskFullError("could not extend file"), errors.DiskFull),
        (asyncpg.TooManyConnectionsError("too many"), errors.StoreBusy),
        (asyncpg.DeadlockDetectedError("deadlock"), errors.StoreBusy),
        (asyncpg.QueryCanceledError("statement timeout"), errors.StoreBusy),
        (asyncpg.ReadOnlySQLTransactionError("read-only"), errors.StoreReadOnly),
        (asyncpg.CharacterNotInRepertoireError("0x00"), errors.InvalidReference),
        (asyncpg.UndefinedTableError("no table"), errors.StoreUnavailable),
        (ConnectionResetError("reset"), errors.StoreUnavailable),
        (TimeoutError(), errors.StoreBusy),
    ],
)
def test_database_failures_become_store_errors(error, expected):
    assert type(translate(error)) is expected


async def test_a_database_from_a_newer_vault_is_refused(database_url, tmp_path):
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text, applied_at text)")
        await conn.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', '')")
    finally:
        await conn.close()

    with pytest.raises(errors.SchemaTooNew):
        await new_store(database_url, tmp_path).start()


async def test_an_unreachable_database_fails_at_start(tmp_path):
    store = PostgresStore(
        "postgresql://nobody@127.0.0.1:1/none",
        evolve(store_settings.POSTGRES, pool_timeout=2),
        blobs=FilesystemBlobStore(tmp_path / "artifacts"),
    )
    with pytest.raises(errors.StoreUnavailable, match="cannot open database"):
        await store.start()


# -- sweeps, folds and backups


async def test_cache_cleanup_sweeps_more_than_one_chunk_and_nothing_live(store, database_url):
    await store.cache_set("live", CacheWrite(value="v", ttl=3600))
    conn = await asyncpg.connect(database_url)
    try:
        past = at(0)
        rows = [(f"old{n}", '"x"', 1, past, past, past) for n in range(2500)]
        await conn.copy_records_to_table(
            "cache", records=rows, columns=["key", "value", "ttl", "created_at", "accessed_at", "expires_at"]
        )
    finally:
        await conn.close()

    assert await store.cache_cleanup() == 2500
    assert await store.cache_cleanup() == 0
    assert (await store.cache_get("live")).value == "v"


# Rule: folds running on two instances at once count every point exactly once.
async def test_concurrent_folds_on_two_instances_count_each_point_once(two_stores):
    first, second = two_stores
    for start in range(0, 12_000, 1000):
        await first.record_metrics([point(1.0, timestamp=at(m % 60)) for m in range(start, start + 1000)])

    folded = await asyncio.gather(first.fold_metric_rollups(), second.fold_metric_rollups())

    assert sum(folded) == 12_000
    day = await second.list_rollups(RollupQuery(metric_name="latency_ms", bucket="day"))
    assert [(r.count, r.sum) for r in day.items] == [(12_000, 12_000.0)]
    assert await first.fold_metric_rollups() == 0


async def test_backup_is_a_sqlite_vault_holding_the_snapshot(store, tmp_path):
    session = await new_session(store, "backed-up")
    await add_texts(store, session.id, "one", "two")
    async with store.upload_content() as upload:
        await upload.write(b"bytes to keep")
        artifact = await store.create_artifact(NewArtifact(name="kept.txt", session_id=session.id), content=upload)

    info = await store.backup(str(tmp_path / "backups" / "vault.db"))

    assert (info.integrity_check, info.artifacts) == ("ok", 1)
    copy = SQLiteStore(info.file, store_settings.SQLITE, blobs=FilesystemBlobStore(tmp_path / "restored" / "artifacts"))
    await copy.start()
    try:
        assert (await copy.get_session(session.id)).message_count == 2
        assert await copy.get_artifact(artifact.id) == artifact
    finally:
        await copy.close()
    assert (tmp_path / "backups" / "vault.db.artifacts").is_dir()
