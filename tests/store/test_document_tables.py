"""Tables that hold documents are rowid tables, so one large document slows no other row."""

from __future__ import annotations

import sqlite3

from attrs import evolve
from vault.store.sqlite import SQLiteStore
from vault.store.sqlite.migrations import MIGRATIONS

from tests import store_settings
from tests.store.conftest import add_texts, new_session
from vault.inputs import CacheWrite, NewArtifact
from vault.queries import HistoryQuery

DOCUMENT_TABLES = ("sessions", "messages", "state", "artifacts", "cache", "idempotency_keys")


def _table_sql(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))


def _index_names(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def _back_to_version_3(path: str) -> None:
    """Rebuild the document tables as the WITHOUT ROWID tables that versions 1 to 3 made."""
    creates = {
        statement.split()[2]: statement
        for migration in MIGRATIONS[:3]
        for statement in migration.statements
        if statement.startswith("CREATE TABLE")
    }
    indexes = [statement for migration in MIGRATIONS[:3] for statement in migration.statements if "INDEX" in statement]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("BEGIN")
        for table in DOCUMENT_TABLES:
            conn.execute(creates[table].replace(f"CREATE TABLE {table} (", f"CREATE TABLE {table}_v3 (", 1))
            columns = ", ".join(row[1] for row in conn.execute(f"PRAGMA table_info({table}_v3)"))
            conn.execute(f"INSERT INTO {table}_v3 SELECT {columns} FROM {table}")
            conn.execute(f"DROP TABLE {table}")
            conn.execute(f"ALTER TABLE {table}_v3 RENAME TO {table}")
        for statement in indexes:
            conn.execute(statement.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
        conn.execute("DROP TABLE compression_dictionaries")
        conn.execute("DROP TRIGGER IF EXISTS message_search_forget")  # gone with the rebuilt messages table
        conn.execute("DROP TABLE message_search")
        conn.execute("DELETE FROM schema_migrations WHERE version > 3")
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_no_document_table_is_without_rowid(db_path):
    # Rule: a WITHOUT ROWID table keys its b-tree by the whole row, so a 16 MiB
    # metadata made every append's foreign-key check read 16 MiB (issue: one large
    # document slowed every write ~100x).
    store = SQLiteStore(db_path, store_settings.SQLITE)
    await store.start()
    await store.close()
    with sqlite3.connect(db_path) as conn:
        tables = _table_sql(conn)
    for table in DOCUMENT_TABLES:
        assert "WITHOUT ROWID" not in tables[table].upper(), table


async def test_the_rebuild_keeps_every_row_index_and_cascade(db_path):
    # Rule: a migration keeps every acknowledged row; the rebuilt tables behave as before.
    # Rows as versions before 5 wrote them: plain text.
    store = SQLiteStore(db_path, evolve(store_settings.SQLITE, compression=False))
    await store.start()
    session = await new_session(store, metadata={"big": "x" * 100_000})
    other = await new_session(store)
    messages = await add_texts(store, session.id, "one", "two", "three")
    await store.put_state(session.id, {"memory": ["fact"]}, None)
    artifact = await store.create_artifact(NewArtifact(session_id=session.id, name="a.txt", path="/x", size=1))
    await store.cache_set("key", CacheWrite(value={"v": 1}, ttl=None))
    with sqlite3.connect(db_path) as conn:
        indexes_before = _index_names(conn)
    await store.close()

    _back_to_version_3(db_path)
    with sqlite3.connect(db_path) as conn:
        assert "WITHOUT ROWID" in _table_sql(conn)["sessions"].upper()

    store = SQLiteStore(db_path, store_settings.SQLITE)
    await store.start()
    try:
        assert [m.version for m in store.applied_migrations] == [m.version for m in MIGRATIONS[3:]]
        with sqlite3.connect(db_path) as conn:
            assert _index_names(conn) == indexes_before
            assert all("WITHOUT ROWID" not in _table_sql(conn)[t].upper() for t in DOCUMENT_TABLES)
        assert (await store.get_session(session.id)).metadata == {"big": "x" * 100_000}
        page = await store.list_messages(HistoryQuery(session_id=session.id))
        assert [m.id for m in page.items] == [m.id for m in messages]
        assert (await store.get_state(session.id)).data == {"memory": ["fact"]}
        assert (await store.get_artifact(artifact.id)).name == "a.txt"
        assert (await store.cache_get("key")).value == {"v": 1}

        # Foreign keys still point at the rebuilt sessions table: a new append checks its
        # session, and a delete cascades to everything the session owns.
        await add_texts(store, other.id, "still appends")
        await store.delete_session(session.id)
        with sqlite3.connect(db_path) as conn:
            for table in ("messages", "state", "artifacts"):
                count = conn.execute(f"SELECT count(*) FROM {table} WHERE session_id = ?", (session.id,)).fetchone()
                assert count == (0,), table
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        await store.close()
