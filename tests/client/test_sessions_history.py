"""Sessions and history through both clients, against the real service."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.client.harness import collect
from vault.client import UNSET, NotFound, ValidationError
from vault.models import Message, Session


async def test_session_lifecycle(vault, unique):
    created = await vault.create_session(unique, user_id="user_123", metadata={"source": "cli", "n": 1})
    assert isinstance(created, Session)
    assert (created.agent_name, created.user_id, created.status) == (unique, "user_123", "active")
    assert datetime.fromisoformat(created.created_at).utcoffset() is not None

    assert await vault.get_session(created.id) == created

    changed = await vault.update_session(created.id, status="paused", metadata={"n": None, "tag": "x"})
    assert changed.status == "paused"
    assert changed.user_id == "user_123"  # not given, so unchanged
    assert changed.metadata == {"source": "cli", "tag": "x"}

    cleared = await vault.update_session(created.id, user_id=None)
    assert cleared.user_id is None and cleared.status == "paused"

    assert await vault.delete_session(created.id) is None
    with pytest.raises(NotFound):
        await vault.get_session(created.id)


async def test_update_session_sends_only_given_fields(vault, unique):
    created = await vault.create_session(unique, user_id="u", status="paused")
    same = await vault.update_session(created.id, status=UNSET)
    assert (same.user_id, same.status) == ("u", "paused")


async def test_list_sessions_filters_and_pages(vault, unique):
    made = [await vault.create_session(unique, user_id=f"user_{i % 2}") for i in range(5)]
    newest_first = [session.id for session in reversed(made)]

    assert [s.id for s in await vault.list_sessions(agent_name=unique)] == newest_first
    assert [s.id for s in await vault.list_sessions(agent_name=unique, limit=2, offset=2)] == newest_first[2:4]
    assert {s.id for s in await vault.list_sessions(agent_name=unique, user_id="user_0")} == {
        made[0].id,
        made[2].id,
        made[4].id,
    }
    # Page by page through Link: rel="next", two at a time.
    assert [s.id for s in await collect(vault.iter_sessions(agent_name=unique, page_size=2))] == newest_first
    assert await vault.list_sessions(agent_name=unique, status="ended") == []


async def test_messages_and_history(vault, unique):
    session = await vault.create_session(unique)
    first = await vault.add_message(session.id, "user", "What is quantum computing?", metadata={"lang": "en"})
    assert isinstance(first, Message)
    assert (first.seq, first.role, first.content, first.metadata) == (
        1,
        "user",
        "What is quantum computing?",
        {"lang": "en"},
    )

    calls = [{"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{}"}}]
    batch = await vault.add_messages(
        session.id,
        [
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "content": "results", "tool_call_id": "call_1", "name": "search"},
            {"role": "assistant", "content": [{"type": "text", "text": "An answer"}]},
        ],
    )
    assert [m.seq for m in batch] == [2, 3, 4]
    assert batch[0].tool_calls == calls and batch[1].tool_call_id == "call_1"

    assert await vault.get_message(batch[1].id) == batch[1]
    assert [m.seq for m in await vault.get_history(session.id)] == [1, 2, 3, 4]
    assert [m.seq for m in await vault.get_history(session.id, limit=2)] == [3, 4]  # the newest, oldest first
    assert [m.seq for m in await vault.get_history(session.id, after=1, limit=2)] == [2, 3]
    assert [m.seq for m in await vault.get_history(session.id, after=first.id)] == [2, 3, 4]
    assert [m.seq for m in await vault.get_history(session.id, before=4, limit=2)] == [2, 3]
    assert [m.seq for m in await vault.get_history(session.id, offset=1, limit=2)] == [2, 3]
    assert [m.seq for m in await vault.get_history(session.id, role="assistant")] == [2, 4]
    assert [m.seq for m in await collect(vault.iter_history(session.id, page_size=3))] == [1, 2, 3, 4]
    assert [m.seq for m in await collect(vault.iter_history(session.id, after=2, page_size=1))] == [3, 4]

    assert (await vault.get_session(session.id)).message_count == 4
    assert await vault.clear_history(session.id) == 4
    assert await vault.get_history(session.id) == []


async def test_history_of_an_unknown_session(vault):
    with pytest.raises(NotFound):
        await vault.add_message("session_0000", "user", "hi")
    with pytest.raises(NotFound):
        await vault.get_history("session_0000")
    with pytest.raises(NotFound):
        await vault.get_message("msg_0000")


async def test_history_cursor_rules_come_back_as_validation_errors(vault, unique):
    session = await vault.create_session(unique)
    with pytest.raises(ValidationError) as caught:
        await vault.get_history(session.id, after=1, before=3)
    assert caught.value.errors == [{"loc": ["query", "before"], "msg": "cannot be combined with after"}]
