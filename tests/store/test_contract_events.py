"""Change feed contract: every committed write records its event, in commit order; on every backend alike."""

from __future__ import annotations

import asyncio
import json

import pytest
from vault.store.core.events import ANY, EventFilter
from vault.store.core.feed_cursor import START
from vault.store.errors import AlreadyExists, EventsPruned, NotFound, PreconditionFailed
from vault.store.interface import IdempotencyClaim, Store

from tests.store.conftest import add_texts, new_session
from vault import clock
from vault.converter import unstructure
from vault.inputs import NewArtifact, NewSession, SessionChanges


async def all_events(store: Store, only: EventFilter = ANY, after: str = START) -> list:
    return await store.read_events(after, 1000, only)


async def kinds(store: Store, only: EventFilter = ANY) -> list[tuple[str, str | None]]:
    return [(event.type, event.session_id) for event in await all_events(store, only)]


async def test_every_write_records_its_event_in_order_with_the_data_a_read_answers(backend_store):
    store = backend_store
    session = await new_session(store)
    sid = session.id
    await store.update_session(sid, SessionChanges(status="paused"))
    [first, second] = await add_texts(store, sid, "one", "two")
    # A message's data is the message as history serves it, while it is kept.
    created = await all_events(store, EventFilter(types=["message.created"]))
    assert [json.loads(e.json())["data"] for e in created] == [unstructure(first), unstructure(second)]
    await store.put_state(sid, {"step": 1}, None)
    await store.patch_state(sid, {"step": 2}, None)
    await store.delete_state(sid, None)
    artifact = await store.create_artifact(NewArtifact(name="notes", session_id=sid))
    await store.delete_artifact(artifact.id)
    await store.clear_history(sid)
    await store.delete_session(sid)

    events = await all_events(store)
    assert [(event.type, event.session_id) for event in events] == [
        ("session.created", sid),
        ("session.updated", sid),
        ("message.created", sid),
        ("message.created", sid),
        ("state.updated", sid),
        ("state.updated", sid),
        ("state.deleted", sid),
        ("artifact.created", sid),
        ("artifact.deleted", sid),
        ("history.cleared", sid),
        ("session.deleted", sid),
    ]
    ids = [event.id for event in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    as_json = [json.loads(event.json()) for event in events]
    assert as_json[0]["data"]["agent_name"] == "agent"
    assert as_json[1]["data"]["status"] == "paused"
    # The history was cleared since: the messages' events say no more than that they were.
    assert "data" not in as_json[2] and "data" not in as_json[3]
    assert as_json[5]["data"] == {"session_id": sid, "data": {"step": 2}, "version": 2, "updated_at": ANY_TIME}
    assert as_json[7]["data"]["id"] == artifact.id
    # Deletions carry no data.
    assert all("data" not in as_json[i] for i in (6, 8, 9, 10))


class _AnyTime:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and clock.normalize_time(other) == other


ANY_TIME = _AnyTime()


async def test_a_write_that_fails_records_no_event(backend_store):
    store = backend_store
    session = await new_session(store)
    await store.put_state(session.id, {"a": 1}, None)
    before = await all_events(store)

    with pytest.raises(NotFound):
        await add_texts(store, "no-such-session", "lost")
    with pytest.raises(PreconditionFailed):
        await store.put_state(session.id, {"a": 2}, if_match=7)
    # Deleting a state never written changes nothing, so it tells nothing.
    other = await new_session(store)
    await store.delete_state(other.id, None)

    assert [e.type for e in await all_events(store)] == [e.type for e in before] + ["session.created"]


async def test_filters_by_session_and_type_and_pages_by_cursor(backend_store):
    store = backend_store
    one, two = await new_session(store), await new_session(store)
    await add_texts(store, one.id, "a", "b", "c")
    await add_texts(store, two.id, "x")

    assert await kinds(store, EventFilter(session_id=two.id)) == [
        ("session.created", two.id),
        ("message.created", two.id),
    ]
    created = await all_events(store, EventFilter(types=["message.created"]))
    assert [json.loads(e.json())["data"]["content"] for e in created] == ["a", "b", "c", "x"]

    pages, cursor = [], START
    while page := await store.read_events(cursor, 2, ANY):
        pages.append([e.type for e in page])
        cursor = page[-1].id
    assert pages == [
        ["session.created", "session.created"],
        ["message.created", "message.created"],
        ["message.created", "message.created"],
    ]


async def test_resume_points_and_a_pruned_cursor(backend_store):
    store = backend_store
    session = await new_session(store)
    await add_texts(store, session.id, "old")
    old = await all_events(store)
    assert await store.resume_point(None) == START
    assert await store.resume_point("now") == old[-1].id
    assert await store.resume_point(old[0].id) == old[0].id
    assert all(store.valid_event_id(e.id) for e in old)
    assert not store.valid_event_id("12") and not store.valid_event_id("x" * len(old[0].id))

    # Everything so far is older than a cutoff taken now; what comes after is kept.
    cutoff = clock.now_text()
    await asyncio.sleep(0.01)
    await add_texts(store, session.id, "new")
    assert await store.prune_events(cutoff) == 2

    kept = await all_events(store)
    assert [e.type for e in kept] == ["message.created"]
    bounds = await store.event_bounds()
    assert bounds.oldest == kept[0].id and bounds.pruned_through == old[-1].id
    with pytest.raises(EventsPruned) as gone:
        await store.resume_point(old[0].id)
    assert gone.value.oldest == kept[0].id
    # The last pruned event was read already: nothing after it is lost.
    assert await store.resume_point(old[-1].id) == old[-1].id


async def test_ids_are_never_given_again_once_every_event_is_pruned(backend_store):
    store = backend_store
    await new_session(store)
    [first] = await all_events(store)
    await asyncio.sleep(0.01)
    assert await store.prune_events(clock.now_text()) == 1
    await new_session(store)
    [second] = await all_events(store)
    assert second.id > first.id


async def test_a_replayed_idempotent_write_records_nothing_new(backend_store):
    store = backend_store
    claim = IdempotencyClaim("key-1", "fingerprint")
    await store.create_session(NewSession(agent_name="a"), claim)
    await store.create_session(NewSession(agent_name="a"), claim)
    assert [e.type for e in await all_events(store)] == ["session.created"]


async def test_commands_in_one_batch_keep_their_own_events(backend_store):
    # Concurrent writes share the SQLite writer's transaction, each in its savepoint:
    # a failing one takes its event with it, the others keep theirs.
    store = backend_store
    outcomes = await asyncio.gather(
        *(store.create_session(NewSession(agent_name=f"a{i}")) for i in range(20)),
        *(store.update_session("missing", SessionChanges(status="ended")) for _ in range(5)),
        return_exceptions=True,
    )
    created = {o.id for o in outcomes if not isinstance(o, Exception)}
    assert len(created) == 20
    assert {e.session_id for e in await all_events(store)} == created


async def test_a_keyed_session_records_its_creation_and_a_refused_one_nothing(backend_store):
    store = backend_store
    made = await store.create_keyed_session("chat-1", NewSession(agent_name="app", user_id="u1"))
    with pytest.raises(AlreadyExists):
        await store.create_keyed_session("chat-1", NewSession(agent_name="app", user_id="u1"))

    assert await kinds(store) == [("session.created", made.id)]
