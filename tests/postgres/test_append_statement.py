"""An append without an idempotency key is one statement on PostgreSQL (vault.store.postgres.appends).

It must write what the transactional path writes: the same message rows byte
for byte, their words and their events, all or nothing, and bodies bounded
the same way.
"""

from __future__ import annotations

import asyncpg
import pytest
from vault.store.core import bodies, records
from vault.store.core.commands import AddMessages
from vault.store.core.packing import Codec
from vault.store.errors import DocumentTooLarge, NotFound
from vault.store.postgres import appends

from tests.postgres.conftest import new_store
from vault import clock
from vault.inputs import NewMessage, NewSession

CONTENTS = [
    "short",
    "a longer message about the deadline next week, which compresses " * 4,
    "déjà vu: naïve café, 東京 and emoji 🎉 " * 3,
    "",
]


def new_messages(session_id: str) -> list[NewMessage]:
    return [NewMessage(session_id=session_id, role="user", content=content) for content in CONTENTS] + [
        NewMessage(
            session_id=session_id,
            role="assistant",
            content=None,
            tool_calls=[{"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}],
        )
    ]


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "plain"])
async def test_the_rows_are_those_the_transactional_path_writes(database_url, tmp_path, packed):
    store = new_store(database_url, tmp_path)
    await store.start()
    conn = await asyncpg.connect(database_url)
    try:
        session = await store.create_session(NewSession(agent_name="a"))
        await store.add_messages(session.id, new_messages(session.id)[:1])
        prepared = records.prepared_messages(Codec(enabled=packed), new_messages(session.id), clock.now_text())
        assert all((m.tail.frame is not None) == packed for m in prepared)

        command = AddMessages(session.id, prepared, clock.now_text())
        added = (await appends.add_messages(conn, command, appends.heads_within_limit(command))).messages()

        seqs = list(range(2, 2 + len(prepared)))
        assert [m.seq for m in added] == seqs
        expected = records.message_rows(session.id, prepared, 2)
        stored = await conn.fetch(
            "SELECT session_id, seq, id, role, body, body_packed, body_size FROM messages"
            " WHERE session_id = $1 AND seq >= 2 ORDER BY seq",
            session.id,
        )
        assert [tuple(row) for row in stored] == expected
        words = await conn.fetch(
            "SELECT message_id FROM message_search WHERE message_id = ANY($1::text[])", [m.id for m in prepared]
        )
        assert {row[0] for row in words} == {m.id for m in prepared if m.words}
        events = await conn.fetch(
            "SELECT type, message_seq FROM events WHERE session_id = $1 AND type = 'message.created' ORDER BY id",
            session.id,
        )
        assert [tuple(row) for row in events] == [("message.created", seq) for seq in [1, *seqs]]
        # What a read answers for them is what the append answered.
        assert [await store.get_message(m.id) for m in added] == added
    finally:
        await conn.close()
        await store.close()


async def test_an_append_to_a_session_that_is_gone_writes_nothing(database_url, tmp_path):
    store = new_store(database_url, tmp_path)
    await store.start()
    conn = await asyncpg.connect(database_url)
    try:
        session = await store.create_session(NewSession(agent_name="a"))
        await store.delete_session(session.id)
        with pytest.raises(NotFound):
            await store.add_messages(session.id, new_messages(session.id))
        prepared = records.prepared_messages(Codec(), new_messages(session.id), clock.now_text())
        with pytest.raises(NotFound):
            command = AddMessages(session.id, prepared, clock.now_text())
            await appends.add_messages(conn, command, appends.heads_within_limit(command))
        for table in ("messages", "message_search", "events WHERE type = 'message.created'"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
    finally:
        await conn.close()
        await store.close()


async def test_bodies_near_the_limit_are_bounded_as_on_the_transactional_path(database_url, tmp_path):
    limit = 400
    store = new_store(database_url, tmp_path, max_document_bytes=limit, compression=False)
    await store.start()
    try:
        session = await store.create_session(NewSession(agent_name="a"))
        plain = Codec(enabled=False)

        def sized(length: int) -> tuple[NewMessage, AddMessages, int]:
            """A message of `length` characters, its command, and its body's size as the first message."""
            message = NewMessage(session_id=session.id, role="user", content="x" * length)
            [prepared] = records.prepared_messages(plain, [message], clock.now_text())
            size = len(bodies.head(prepared.id, session.id, 1).encode()) + prepared.tail.size
            return message, AddMessages(session.id, [prepared], clock.now_text(), limit), size

        # Within the limit with its real seq, but not with the largest one: the transactional path decides.
        length = next(n for n in range(limit) if sized(n)[2] == limit)
        message, command, _ = sized(length)
        assert appends.heads_within_limit(command) is None
        assert appends.heads_within_limit(sized(length - appends.MAX_SEQ_DIGITS)[1]) is not None

        [kept] = await store.add_messages(session.id, [message])
        assert kept.seq == 1 and kept.content == "x" * length
        with pytest.raises(DocumentTooLarge):
            await store.add_messages(session.id, [sized(length + 1)[0]])
    finally:
        await store.close()
