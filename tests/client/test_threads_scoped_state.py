"""Checkpoints of threads, scoped state and keyed sessions through both clients, against the real service."""

from __future__ import annotations

import pytest

from vault.client import AlreadyExists, NotFound, PreconditionFailed
from vault.client.thread_calls import unb64
from vault.models import ScopedState


async def test_checkpoints_round_trip_and_thread_operations(vault, unique):
    thread = f"{unique}-thread"
    await vault.put_checkpoint(
        thread,
        "c1",
        {"channel_versions": {"a": 1}},
        metadata={"run_id": f"{unique}-r1"},
        blobs=[("a", 1, "bytes", b"\x00one")],
    )
    await vault.put_checkpoint(
        thread, "c2", {"channel_versions": {"a": 1}}, parent_checkpoint_id="c1", metadata={"step": 1}
    )
    assert await vault.put_checkpoint_writes(thread, "c2", "task", [(0, "ch", "bytes", b"w")], task_path="~") == 1

    found = await vault.get_checkpoint(thread, "c2")
    assert unb64(found.channel_values["a"].data) == b"\x00one"
    assert [(w.task_id, unb64(w.data)) for w in found.pending_writes] == [("task", b"w")]
    assert [c.checkpoint_id for c in await vault.list_checkpoints(thread, checkpoint_ns="", metadata={"step": 1})] == [
        "c2"
    ]
    with pytest.raises(NotFound):
        await vault.get_checkpoint(thread, "c2", checkpoint_ns="elsewhere")

    assert await vault.copy_thread(thread, f"{thread}-copy") == 2
    assert await vault.delete_checkpoints_of_runs([f"{unique}-r1"]) == 2
    assert await vault.prune_threads([thread]) == 0
    assert await vault.delete_thread(f"{thread}-copy") == 1
    assert await vault.list_checkpoints(f"{thread}-copy") == []


async def test_scoped_state_and_its_stale_writes(vault, unique):
    written = await vault.put_scoped_state(unique, {"theme": "dark"}, "u1")
    assert isinstance(written, ScopedState) and (written.user_id, written.version) == ("u1", 1)
    assert (await vault.get_scoped_state(unique)).data == {}

    with pytest.raises(PreconditionFailed) as stale:
        await vault.patch_scoped_state(unique, {"theme": "light"}, "u1", if_match=0)
    assert stale.value.current.data == {"theme": "dark"}

    await vault.delete_scoped_state(unique, "u1", if_match=1)
    assert (await vault.get_scoped_state(unique, "u1")).version == 2


async def test_a_keyed_session_is_made_once_and_found_by_its_key(vault, unique):
    session = await vault.create_keyed_session(unique, "u1", "chat-1", metadata={"a": 1})
    assert (session.agent_name, session.user_id, session.metadata) == (unique, "u1", {"a": 1})
    assert await vault.get_keyed_session(unique, "u1", "chat-1") == session

    with pytest.raises(AlreadyExists):
        await vault.create_keyed_session(unique, "u1", "chat-1")
    with pytest.raises(NotFound):
        await vault.get_keyed_session(unique, "u2", "chat-1")

    other = await vault.create_keyed_session(unique, "u2", "chat/1 ü")
    listed = await vault.list_keyed_sessions(unique)
    assert [(found.key, found.session) for found in listed] == [("chat-1", session), ("chat/1 ü", other)]
    assert [found.key for found in await vault.list_keyed_sessions(unique, "u2")] == ["chat/1 ü"]
