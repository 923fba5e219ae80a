"""A database with a corrupt page is found at start, not at the first write that meets it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vault.store.sqlite import SQLiteStore

from tests import store_settings
from tests.conftest import create_session
from vault.app import create_app
from vault.config import Config
from vault.inputs import NewSession


def corrupt_an_index(db_path: Path, index: str) -> None:
    """Overwrite the header of the index's root page, which no start-up read touches."""
    with sqlite3.connect(db_path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with db_path.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * 16)


async def test_a_corrupt_page_is_not_ready_and_refuses_writes_from_the_start(aiohttp_client, db_path):
    # quick_check runs at start: /ready answers 503 and writes are refused, reads still answer.
    store = SQLiteStore(db_path, store_settings.SQLITE)
    await store.start()
    session = await store.create_session(NewSession(agent_name="before"))
    await store.close()
    corrupt_an_index(Path(db_path), "metrics_by_time")

    client = await aiohttp_client(create_app(Config(db_path=db_path)))
    ready = await client.get("/ready")
    assert ready.status == 503
    body = await ready.json()
    assert body["error"] == "not_ready" and "quick_check" in body["detail"]
    refused = await client.post("/storage/sessions", json={"agent_name": "refused"})
    assert (refused.status, (await refused.json())["error"]) == (503, "unavailable")
    assert (await client.get(f"/storage/sessions/{session.id}")).status == 200


async def test_a_sound_database_is_ready(client):
    # The start-up check passes a sound database: ready, and writes are taken.
    assert (await client.get("/ready")).status == 200
    await create_session(client)
