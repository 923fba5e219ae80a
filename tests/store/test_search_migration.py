"""The migration that adds search indexes the messages already stored, on both backends."""

from __future__ import annotations

import sqlite3

import asyncpg
from attrs import evolve
from vault.store.blobfs import FilesystemBlobStore
from vault.store.postgres import migrations as postgres_migrations
from vault.store.postgres.store import PostgresStore
from vault.store.sqlite import migrations as sqlite_migrations
from vault.store.sqlite.store import SQLiteStore

from tests import store_settings
from tests.pgtemp import fresh_database
from tests.store.conftest import add_texts, new_session
from vault.queries import SearchQuery
from vault.search import parse_query

SQLITE_SEARCH_VERSION = 6
POSTGRES_SEARCH_VERSION = 5
# What the migrations after search added (the change feed's tables, checkpoints, scoped state,
# session keys, the artifacts' stored size), undone with it: the schema then is the one before
# search, and migrating applies search and each one after it again.
UNDO_LATER = (
    "DROP TABLE events",
    "DROP TABLE event_horizon",
    "ALTER TABLE artifacts DROP COLUMN stored_size",
    *(
        f"DROP TABLE {table}"
        for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "scoped_state", "session_keys")
    ),
    "DROP INDEX artifacts_by_type_name",
)
# (The feed's notify trigger and its function, added later too, are gone again by the latest migration.)
UNDO_LATER_POSTGRES = UNDO_LATER


def versions_from(migrations, first: int) -> list[int]:
    return [migration.version for migration in migrations if migration.version >= first]


async def found(store, q: str) -> int:
    return len((await store.search(SearchQuery(parse_query(q)))).items)


async def fill(store, sessions: int = 3, messages: int = 40) -> None:
    for _ in range(sessions):
        session = await new_session(store)
        await add_texts(store, session.id, *(f"older note {n} about parsnips" for n in range(messages)))


async def test_sqlite_indexes_what_was_stored_before_search(tmp_path):
    path = str(tmp_path / "vault.db")
    store = SQLiteStore(path, store_settings.SQLITE, blobs=FilesystemBlobStore(tmp_path / "artifacts"))
    await store.start()
    await fill(store)
    await store.close()
    # Back to the schema before search, messages and all.
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER message_search_forget")
        conn.execute("DROP TABLE message_search")
        for statement in UNDO_LATER:
            conn.execute(statement)
        conn.execute("DELETE FROM schema_migrations WHERE version >= ?", (SQLITE_SEARCH_VERSION,))

    heard = []
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        applied = sqlite_migrations.migrate(conn, lambda migration, done, total: heard.append((done, total)))
    finally:
        conn.close()

    assert [m.version for m in applied] == versions_from(sqlite_migrations.MIGRATIONS, SQLITE_SEARCH_VERSION)
    assert heard[-1] == (120, 120)
    store = SQLiteStore(path, store_settings.SQLITE, blobs=FilesystemBlobStore(tmp_path / "artifacts"))
    await store.start()
    try:
        assert await found(store, "parsnips") == 100  # the first page
        assert await found(store, '"note 39"') == 3
    finally:
        await store.close()


async def test_postgresql_indexes_what_was_stored_before_search(tmp_path):
    async with fresh_database() as dsn:
        settings = evolve(store_settings.POSTGRES, pool_size=2)
        store = PostgresStore(dsn, settings, blobs=FilesystemBlobStore(tmp_path / "artifacts"))
        await store.start()
        await fill(store)
        await store.close()
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("DROP TABLE message_search")
            for statement in UNDO_LATER_POSTGRES:
                await conn.execute(statement)
            await conn.execute("DELETE FROM schema_migrations WHERE version >= $1", POSTGRES_SEARCH_VERSION)
            heard = []
            applied = await postgres_migrations.migrate(conn, lambda migration, done, total: heard.append(done))
        finally:
            await conn.close()

        expected = versions_from(postgres_migrations.MIGRATIONS, POSTGRES_SEARCH_VERSION)
        assert [m.version for m in applied] == expected
        assert heard[-1] == 120
        store = PostgresStore(dsn, settings, blobs=FilesystemBlobStore(tmp_path / "artifacts"))
        await store.start()
        try:
            assert await found(store, "parsnips") == 100
            assert await found(store, '"note 39"') == 3
        finally:
            await store.close()
