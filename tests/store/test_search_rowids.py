"""SQLite's search index finds each message by its rowid, however SQLite numbers the rows."""

from __future__ import annotations

import sqlite3

from vault.store.sqlite import SQLiteStore

from tests import store_settings
from tests.store.conftest import add_texts, new_session
from vault.jsonutil import loads_stored
from vault.queries import SearchQuery
from vault.search import parse_query

LARGEST_ROWID = 2**63 - 1


async def contents(store: SQLiteStore, q: str) -> list[str]:
    page = await store.search(SearchQuery(parse_query(q)))
    return sorted(loads_stored(item.body)["message"]["content"] for item in page.items)


# Rule: once the largest rowid is taken, SQLite numbers new rows at random;
# each message's words are still filed under its own row.
async def test_messages_are_indexed_under_their_own_rows_when_rowids_are_not_consecutive(tmp_path):
    path = str(tmp_path / "vault.db")
    store = SQLiteStore(path, store_settings.SQLITE)
    await store.start()
    try:
        session = await new_session(store)
        await add_texts(store, session.id, "first apricot")
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE messages SET rowid = ? WHERE seq = 1", (LARGEST_ROWID,))
            conn.execute("UPDATE message_search SET rowid = ?", (LARGEST_ROWID,))
        await add_texts(store, session.id, "second apricot", "third damson", "fourth apricot damson")

        assert await contents(store, "apricot") == ["first apricot", "fourth apricot damson", "second apricot"]
        assert await contents(store, "damson") == ["fourth apricot damson", "third damson"]
        # One message alone takes the other path: its rowid is the connection's last insert.
        await add_texts(store, session.id, "fifth elderberry")
        await add_texts(store, session.id, "sixth elderberry damson")
        assert await contents(store, "elderberry") == ["fifth elderberry", "sixth elderberry damson"]
        assert await contents(store, "damson") == ["fourth apricot damson", "sixth elderberry damson", "third damson"]
    finally:
        await store.close()
