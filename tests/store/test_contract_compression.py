"""Compression at rest: every answer byte for byte, old rows readable, dictionaries, storage figures."""

from __future__ import annotations

import sqlite3

import pytest
from attrs import asdict
from vault.store.blobfs import FilesystemBlobStore
from vault.store.core import bodies
from vault.store.core.dictionaries import MIN_SAMPLES
from vault.store.core.packing import Dictionaries
from vault.store.errors import CorruptDocument
from vault.store.sqlite import SQLiteStore

from tests import store_settings
from tests.store.conftest import message, new_session
from vault.inputs import CacheWrite
from vault.jsonutil import dumps_text
from vault.queries import HistoryQuery


def _agent_turn(n: int) -> list:
    return [
        message(f"Please look up the weather in city number {n} and summarise it.", metadata={"turn": n}),
        message(
            None,
            role="assistant",
            tool_calls=[{"id": f"call_{n}", "type": "function", "function": {"name": "weather", "arguments": "{}"}}],
        ),
        message(
            [{"type": "text", "text": f"Sunny, {n % 35} degrees, wind {n % 7} m/s from the north-west."}],
            role="tool",
            tool_call_id=f"call_{n}",
        ),
    ]


async def _window(store, session_id: str, limit: int = 1000) -> list[str]:
    page = await store.list_message_bodies(HistoryQuery(session_id=session_id, limit=limit))
    return [item.body for item in page.items]


async def test_bodies_are_served_byte_for_byte_as_they_were_built(backend_store):
    # Rule: packing never changes an answer: the window is the JSON of each message as added.
    session = await new_session(backend_store)
    added = [m for n in range(5) for m in await backend_store.add_messages(session.id, _agent_turn(n))]

    assert await _window(backend_store, session.id) == [dumps_text(asdict(m)) for m in added]
    assert [await backend_store.get_message(m.id) for m in added] == added
    report = await backend_store.storage_report(fresh=True)
    assert report.messages.count == len(added)
    assert report.messages.stored_bytes < report.messages.raw_bytes


async def test_state_and_cache_round_trip_and_patch_packed_documents(backend_store):
    session = await new_session(backend_store)
    data = {"memory": ["the user prefers metric units"] * 20, "plan": {"step": 1}}
    await backend_store.put_state(session.id, data, None)
    patched = await backend_store.patch_state(session.id, {"plan": {"step": 2}}, None)
    await backend_store.cache_set("page", CacheWrite(value={"html": "<p>hello</p>" * 50}))

    assert patched.data == {**data, "plan": {"step": 2}}
    assert (await backend_store.get_state(session.id)).data == patched.data
    assert (await backend_store.cache_get("page")).value == {"html": "<p>hello</p>" * 50}
    report = await backend_store.storage_report(fresh=True)
    assert report.state.stored_bytes < report.state.raw_bytes
    assert report.cache.stored_bytes < report.cache.raw_bytes


async def test_storage_figures_follow_every_write(backend_store):
    # Rule: count, raw_bytes and stored_bytes are exact after appends, deletes, clears and expiry.
    kept = await new_session(backend_store)
    gone = await new_session(backend_store)
    cleared = await new_session(backend_store)
    for session in (kept, gone, cleared):
        await backend_store.add_messages(session.id, _agent_turn(1))
    await backend_store.delete_session(gone.id)
    await backend_store.clear_history(cleared.id)
    await backend_store.put_state(kept.id, {"a": "x" * 500}, None)
    await backend_store.patch_state(kept.id, {"b": 1}, None)
    await backend_store.cache_set("stays", CacheWrite(value="v" * 300))
    await backend_store.cache_set("expires", CacheWrite(value="w" * 300, ttl=1))
    await _expire(backend_store, "expires")

    report = await backend_store.storage_report(fresh=True)
    bodies_kept = await _window(backend_store, kept.id)
    assert report.messages.count == 3
    assert report.messages.raw_bytes == sum(len(b.encode()) for b in bodies_kept)
    state = dumps_text((await backend_store.get_state(kept.id)).data)
    assert (report.state.count, report.state.raw_bytes) == (1, len(state.encode()))
    assert (report.cache.count, report.cache.raw_bytes) == (1, len(dumps_text("v" * 300)))
    codec = backend_store._codec
    expected_messages = sum(_stored(codec.pack("messages", bodies.tail_of(b)), b) for b in bodies_kept)
    assert report.messages.stored_bytes == expected_messages
    assert report.state.stored_bytes == _stored(codec.pack("state", state), state)


def _stored(packed, whole: str) -> int:
    return len(whole.encode()) if packed.frame is None else len(packed.frame)


async def _expire(store, key: str) -> None:
    """Move the entry's expiry into the past, then let the sweep delete it."""
    from vault.store.postgres.store import PostgresStore

    past = "2000-01-01T00:00:00.000000Z"
    if isinstance(store, PostgresStore):
        async with store._pool.connection() as conn:
            await conn.execute("UPDATE cache SET expires_at = $1 WHERE key = $2", past, key)
    else:
        with sqlite3.connect(store.path) as conn:
            conn.execute("UPDATE cache SET expires_at = ? WHERE key = ?", (past, key))
    assert await store.cache_cleanup() == 1


async def test_dictionaries_are_trained_used_and_older_frames_stay_readable(backend_store):
    session = await new_session(backend_store)
    for start in range(0, MIN_SAMPLES // 3 + 1, 50):
        await backend_store.add_messages(
            session.id, [m for n in range(start, start + 50) for m in _agent_turn(n)][:150]
        )
    before = await _window(backend_store, session.id)

    [first] = [t for t in await backend_store.train_dictionaries(force=True) if t.kind == "messages"]
    [with_first] = await backend_store.add_messages(session.id, _agent_turn(9999)[:1])
    [second] = [t for t in await backend_store.train_dictionaries(force=True) if t.kind == "messages"]
    [with_second] = await backend_store.add_messages(session.id, _agent_turn(10000)[:1])

    assert second.dict_id > first.dict_id
    assert backend_store._codec.dictionaries.newest("messages") == second.dict_id
    # The newest 1,000: frames with no dictionary, then one made with each.
    after = await _window(backend_store, session.id)
    assert after == [*before[2:], dumps_text(asdict(with_first)), dumps_text(asdict(with_second))]
    # An instance that does not hold the dictionaries yet (another one trained them) fetches them by id.
    backend_store._codec.dictionaries = Dictionaries()
    assert await backend_store.get_message(with_first.id) == with_first
    assert (await _window(backend_store, session.id))[-1] == dumps_text(asdict(with_second))
    # So does a single read of one frame, where no body is kept either (a read that unpacks it on the spot).
    backend_store._codec.dictionaries = Dictionaries()
    backend_store._codec.bodies = None
    assert await backend_store.get_message(with_second.id) == with_second


async def test_rows_written_plain_stay_readable_and_are_rewritten_compressed(backend_store):
    # Rule: data written before compression reads the same, and `vault compress` rewrites it once.
    session = await new_session(backend_store)
    backend_store._codec.enabled = False
    added = await backend_store.add_messages(session.id, [m for n in range(10) for m in _agent_turn(n)])
    await backend_store.put_state(session.id, {"notes": ["a long note to remember"] * 10}, None)
    await backend_store.cache_set("k", CacheWrite(value=["cached"] * 40))
    plain = await backend_store.storage_report(fresh=True)
    assert plain.messages.stored_bytes == plain.messages.raw_bytes
    backend_store._codec.enabled = True
    window = await _window(backend_store, session.id)

    rewritten = await backend_store.compress_existing()

    assert rewritten == {"messages": len(added), "state": 1, "cache": 1, "artifacts": 0}
    assert await _window(backend_store, session.id) == window
    assert (await backend_store.get_state(session.id)).data == {"notes": ["a long note to remember"] * 10}
    assert (await backend_store.cache_get("k")).value == ["cached"] * 40
    packed = await backend_store.storage_report(fresh=True)
    assert packed.messages.raw_bytes == plain.messages.raw_bytes
    assert packed.messages.stored_bytes < plain.messages.stored_bytes
    assert await backend_store.compress_existing() == {"messages": 0, "state": 0, "cache": 0, "artifacts": 0}


@pytest.mark.sqlite_only
async def test_a_damaged_frame_is_a_clear_error(backend_store, tmp_path):
    session = await new_session(backend_store)
    [added] = await backend_store.add_messages(session.id, _agent_turn(1)[:1])
    with sqlite3.connect(backend_store.path) as conn:
        frame = conn.execute("SELECT body_packed FROM messages WHERE id = ?", (added.id,)).fetchone()[0]
        damaged = frame[:-6] + bytes(b ^ 0xFF for b in frame[-6:])
        conn.execute("UPDATE messages SET body_packed = ? WHERE id = ?", (damaged, added.id))

    # The store that wrote the message still holds its body unpacked (the body cache): the right answer.
    assert await backend_store.get_message(added.id) == added
    # Read from the file, as after a restart, the damage is a clear error, never a wrong answer.
    reopened = SQLiteStore(backend_store.path, store_settings.SQLITE, blobs=FilesystemBlobStore(str(tmp_path / "b")))
    await reopened.start()
    try:
        with pytest.raises(CorruptDocument):
            await reopened.get_message(added.id)
        with pytest.raises(CorruptDocument):
            await _window(reopened, session.id)
    finally:
        await reopened.close()
