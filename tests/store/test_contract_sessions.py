"""Store contract: lifecycle, sessions, and what deleting a session takes with it."""

from __future__ import annotations

import pytest
from vault.store.errors import NotFound, StoreClosed, StoreError

from tests.store.conftest import add_texts, ids_of, new_session, point, record
from vault.inputs import UNSET, NewArtifact, SessionChanges
from vault.queries import ArtifactQuery, HistoryQuery, MetricQuery, SessionQuery

# -- lifecycle


async def test_ping_answers_while_open(backend_store):
    assert await backend_store.ping() is None


async def test_close_is_safe_twice_and_later_writes_raise_store_closed(backend_store):
    await backend_store.close()
    await backend_store.close()

    with pytest.raises(StoreClosed):
        await new_session(backend_store)


async def test_ping_raises_after_close(backend_store):
    await backend_store.close()

    with pytest.raises(StoreError):
        await backend_store.ping()


# -- create and get


async def test_create_session_fills_defaults(backend_store):
    session = await new_session(backend_store, "planner")

    assert session.id.startswith("session_")
    assert (session.agent_name, session.user_id, session.status) == ("planner", None, "active")
    assert session.metadata == {}
    assert session.message_count == 0
    assert session.created_at == session.updated_at


async def test_get_session_returns_what_create_returned(backend_store):
    created = await new_session(
        backend_store, "planner", user_id="u1", status="paused", metadata={"k": [1, {"a": None}]}
    )

    assert await backend_store.get_session(created.id) == created


async def test_session_ids_are_unique(backend_store):
    sessions = [await new_session(backend_store) for _ in range(20)]

    assert len(set(ids_of(sessions))) == 20


async def test_get_unknown_session_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await backend_store.get_session("session_missing")


# -- update


async def test_update_changes_only_the_given_fields(backend_store):
    created = await new_session(backend_store, user_id="u1", metadata={"a": 1})

    updated = await backend_store.update_session(created.id, SessionChanges(status="ended"))

    assert (updated.status, updated.user_id, updated.metadata) == ("ended", "u1", {"a": 1})
    assert updated.created_at == created.created_at
    assert updated.updated_at >= created.updated_at
    assert await backend_store.get_session(created.id) == updated


async def test_update_can_clear_user_id_with_null(backend_store):
    created = await new_session(backend_store, user_id="u1")

    updated = await backend_store.update_session(created.id, SessionChanges(user_id=None))

    assert updated.user_id is None
    assert (await backend_store.get_session(created.id)).user_id is None


async def test_update_merges_metadata_key_by_key_and_null_removes(backend_store):
    created = await new_session(backend_store, metadata={"keep": 1, "replace": {"deep": 1}, "drop": True})

    updated = await backend_store.update_session(
        created.id, SessionChanges(metadata={"replace": {"other": 2}, "drop": None, "add": "x", "absent": None})
    )

    # One level only: "replace" is replaced whole, not merged into.
    expected = {"keep": 1, "replace": {"other": 2}, "add": "x"}
    assert updated.metadata == expected
    assert (await backend_store.get_session(created.id)).metadata == expected


async def test_update_with_nothing_set_keeps_the_session(backend_store):
    created = await new_session(backend_store, user_id="u1", metadata={"a": 1})

    updated = await backend_store.update_session(created.id, SessionChanges(UNSET, UNSET, UNSET))

    assert (updated.status, updated.user_id, updated.metadata) == (created.status, "u1", {"a": 1})


async def test_update_keeps_message_count(backend_store):
    created = await new_session(backend_store)
    await add_texts(backend_store, created.id, "one", "two")

    updated = await backend_store.update_session(created.id, SessionChanges(status="paused"))

    assert updated.message_count == 2


async def test_update_unknown_session_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await backend_store.update_session("session_missing", SessionChanges(status="ended"))


# -- list


async def test_list_sessions_is_newest_first(backend_store):
    created = [await new_session(backend_store) for _ in range(5)]

    page = await backend_store.list_sessions(SessionQuery())

    assert ids_of(page.items) == ids_of(created[::-1])
    assert page.has_more is False


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (SessionQuery(agent_name="a"), ["a-u1-active", "a-u2-ended", "a-u1-ended"]),
        (SessionQuery(user_id="u1"), ["b-u1-active", "a-u1-active", "a-u1-ended"]),
        (SessionQuery(status="ended"), ["a-u2-ended", "a-u1-ended"]),
        (SessionQuery(agent_name="a", user_id="u1", status="ended"), ["a-u1-ended"]),
        (SessionQuery(agent_name="nobody"), []),
    ],
)
async def test_list_sessions_applies_every_given_filter(backend_store, query, expected):
    # Created oldest to newest; each tag is agent-user-status.
    for tag in ["a-u1-ended", "a-u2-ended", "a-u1-active", "b-u1-active"]:
        agent, user, status = tag.split("-")
        await new_session(backend_store, agent, user_id=user, status=status, metadata={"tag": tag})

    page = await backend_store.list_sessions(query)

    assert [s.metadata["tag"] for s in page.items] == expected


@pytest.mark.parametrize(
    ("limit", "offset", "expected", "has_more"),
    [
        (2, 0, [4, 3], True),
        (2, 2, [2, 1], True),
        (2, 4, [0], False),
        (5, 0, [4, 3, 2, 1, 0], False),
        (2, 5, [], False),
    ],
)
async def test_list_sessions_pages_with_limit_and_offset(backend_store, limit, offset, expected, has_more):
    created = [await new_session(backend_store) for _ in range(5)]

    page = await backend_store.list_sessions(SessionQuery(limit=limit, offset=offset))

    assert ids_of(page.items) == [created[i].id for i in expected]
    assert page.has_more is has_more


# -- delete


async def test_delete_session_removes_it(backend_store):
    created = await new_session(backend_store)

    await backend_store.delete_session(created.id)

    with pytest.raises(NotFound):
        await backend_store.get_session(created.id)
    assert (await backend_store.list_sessions(SessionQuery())).items == []


async def test_delete_unknown_session_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await backend_store.delete_session("session_missing")


async def _fill(store, session_id: str) -> dict:
    """Give a session one of everything that belongs to it."""
    [message] = await add_texts(store, session_id, "hello")
    await store.put_state(session_id, {"k": "v"}, None)
    artifact = await store.create_artifact(NewArtifact(name="a.txt", session_id=session_id))
    [metric] = await record(store, point(session_id=session_id))
    return {"message": message, "artifact": artifact, "metric": metric}


# Regression: deleting a session cascades (the original's foreign keys were never on).
async def test_delete_session_cascades_to_everything_it_owns(backend_store):
    doomed = await new_session(backend_store)
    owned = await _fill(backend_store, doomed.id)

    await backend_store.delete_session(doomed.id)

    with pytest.raises(NotFound):
        await backend_store.get_message(owned["message"].id)
    with pytest.raises(NotFound):
        await backend_store.get_artifact(owned["artifact"].id)
    with pytest.raises(NotFound):
        await backend_store.get_metric(owned["metric"].id)
    with pytest.raises(NotFound):
        await backend_store.get_state(doomed.id)
    assert (await backend_store.list_artifacts(ArtifactQuery(session_id=doomed.id))).items == []
    assert (await backend_store.list_metrics(MetricQuery(session_id=doomed.id))).items == []


async def test_delete_session_leaves_other_sessions_and_unowned_records_alone(backend_store):
    doomed, kept = await new_session(backend_store), await new_session(backend_store)
    await _fill(backend_store, doomed.id)
    owned = await _fill(backend_store, kept.id)
    loose_artifact = await backend_store.create_artifact(NewArtifact(name="loose.bin"))
    [loose_metric] = await record(backend_store, point())

    await backend_store.delete_session(doomed.id)

    assert (await backend_store.get_session(kept.id)).message_count == 1
    assert await backend_store.get_message(owned["message"].id) == owned["message"]
    assert await backend_store.get_artifact(owned["artifact"].id) == owned["artifact"]
    assert await backend_store.get_metric(owned["metric"].id) == owned["metric"]
    assert (await backend_store.get_state(kept.id)).data == {"k": "v"}
    history = await backend_store.list_messages(HistoryQuery(session_id=kept.id))
    assert ids_of(history.items) == [owned["message"].id]
    assert await backend_store.get_artifact(loose_artifact.id) == loose_artifact
    assert await backend_store.get_metric(loose_metric.id) == loose_metric
