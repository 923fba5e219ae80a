"""Sessions bound to a key of their client's choosing on every backend: one session per key within
an app and a user, creates racing for a key, the key freed when its session is deleted."""

from __future__ import annotations

import asyncio

import pytest
from vault.store.errors import AlreadyExists, NotFound

from vault.inputs import NewSession
from vault.queries import KeyedSessionQuery, SessionQuery


def new(app: str = "app", user: str = "u1", **fields) -> NewSession:
    return NewSession(agent_name=app, user_id=user, **fields)


async def test_a_keyed_session_is_a_session_found_by_its_key(backend_store):
    made = await backend_store.create_keyed_session("chat-1", new(metadata={"a": 1}, status="paused"))

    assert (made.agent_name, made.user_id, made.metadata, made.status) == ("app", "u1", {"a": 1}, "paused")
    assert made.id != "chat-1"
    assert await backend_store.get_keyed_session("app", "u1", "chat-1") == made
    assert await backend_store.get_session(made.id) == made


async def test_a_taken_key_is_refused_and_makes_no_session(backend_store):
    await backend_store.create_keyed_session("chat-1", new())

    with pytest.raises(AlreadyExists):
        await backend_store.create_keyed_session("chat-1", new(metadata={"second": True}))

    sessions = (await backend_store.list_sessions(SessionQuery(agent_name="app"))).items
    assert len(sessions) == 1 and sessions[0].metadata == {}


async def test_a_key_is_scoped_to_its_app_and_user(backend_store):
    mine = await backend_store.create_keyed_session("chat-1", new())
    theirs = await backend_store.create_keyed_session("chat-1", new(user="u2"))
    other_app = await backend_store.create_keyed_session("chat-1", new(app="other"))

    assert len({mine.id, theirs.id, other_app.id}) == 3
    assert (await backend_store.get_keyed_session("app", "u2", "chat-1")).id == theirs.id
    assert (await backend_store.get_keyed_session("other", "u1", "chat-1")).id == other_app.id


async def test_of_creates_racing_for_one_key_one_wins(backend_store):
    outcomes = await asyncio.gather(
        *(backend_store.create_keyed_session("contested", new(metadata={"n": n})) for n in range(8)),
        return_exceptions=True,
    )

    winners = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(outcome, AlreadyExists) for outcome in outcomes if outcome is not winners[0])
    assert await backend_store.get_keyed_session("app", "u1", "contested") == winners[0]
    assert len((await backend_store.list_sessions(SessionQuery(agent_name="app"))).items) == 1


async def test_deleting_the_session_frees_its_key(backend_store):
    first = await backend_store.create_keyed_session("chat-1", new())
    await backend_store.delete_session(first.id)

    with pytest.raises(NotFound):
        await backend_store.get_keyed_session("app", "u1", "chat-1")
    again = await backend_store.create_keyed_session("chat-1", new())
    assert again.id != first.id


async def test_an_unknown_key_is_not_found(backend_store):
    await backend_store.create_keyed_session("chat-1", new())

    for app, user, key in (("app", "u1", "chat-2"), ("app", "u2", "chat-1"), ("other", "u1", "chat-1")):
        with pytest.raises(NotFound):
            await backend_store.get_keyed_session(app, user, key)


async def test_keyed_sessions_are_listed_by_user_and_key(backend_store):
    made = {}
    for user, key in (("u2", "a"), ("u1", "b"), ("u1", "a")):
        made[user, key] = await backend_store.create_keyed_session(key, new(user=user))
    await backend_store.create_keyed_session("a", new(app="other"))
    await backend_store.create_session(new())  # not keyed: never listed here

    every = (await backend_store.list_keyed_sessions(KeyedSessionQuery("app"))).items
    assert [(found.session.user_id, found.key) for found in every] == [("u1", "a"), ("u1", "b"), ("u2", "a")]
    assert [found.session for found in every] == [made["u1", "a"], made["u1", "b"], made["u2", "a"]]

    first = await backend_store.list_keyed_sessions(KeyedSessionQuery("app", "u1", limit=1))
    rest = await backend_store.list_keyed_sessions(KeyedSessionQuery("app", "u1", limit=1, offset=1))
    assert ([found.key for found in first.items], first.has_more) == (["a"], True)
    assert ([found.key for found in rest.items], rest.has_more) == (["b"], False)
    assert (await backend_store.list_keyed_sessions(KeyedSessionQuery("nobody"))).items == []
