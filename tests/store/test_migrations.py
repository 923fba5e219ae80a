"""Schema migrations: applied once, recorded, and a newer database refused."""

from __future__ import annotations

import sqlite3

import pytest
from vault.store.errors import SchemaTooNew
from vault.store.sqlite import SQLiteStore
from vault.store.sqlite.migrations import LATEST_VERSION, MIGRATIONS

from tests import store_settings


async def test_fresh_database_gets_every_migration(db_path):
    store = SQLiteStore(db_path, store_settings.SQLITE)
    await store.start()
    assert [m.version for m in store.applied_migrations] == [m.version for m in MIGRATIONS]
    await store.close()
    with sqlite3.connect(db_path) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions == [m.version for m in MIGRATIONS]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_second_start_applies_nothing(db_path):
    for expected in (len(MIGRATIONS), 0):
        store = SQLiteStore(db_path, store_settings.SQLITE)
        await store.start()
        assert len(store.applied_migrations) == expected
        await store.close()


async def test_newer_database_is_refused(db_path):
    store = SQLiteStore(db_path, store_settings.SQLITE)
    await store.start()
    await store.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', '')",
            (LATEST_VERSION + 1,),
        )
    with pytest.raises(SchemaTooNew, match="newer"):
        await SQLiteStore(db_path, store_settings.SQLITE).start()
