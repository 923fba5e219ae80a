"""State port contract: get, put, patch, delete and If-Match on every state adapter (and the store's session checks)."""

from __future__ import annotations

import asyncio

import pytest
from vault.store.errors import DocumentTooLarge, NotFound, PreconditionFailed
from vault.store.interface import Store
from vault.store.state_port import StateStore

from tests.store.conftest import new_session


async def session_with_state(store: Store, state: StateStore, data: dict) -> str:
    session = await new_session(store)
    await state.put(session.id, data, None)
    return session.id


async def test_state_of_a_new_session_is_empty_at_version_zero(backend_store, state_store):
    session = await new_session(backend_store)

    state = await state_store.get(session.id)

    assert (state.session_id, state.data, state.version) == (session.id, {}, 0)


async def test_put_replaces_the_data_and_counts_versions(backend_store, state_store):
    session = await new_session(backend_store)

    first = await state_store.put(session.id, {"a": 1, "b": {"c": [1, 2]}}, None)
    second = await state_store.put(session.id, {"z": None}, None)

    assert (first.data, first.version) == ({"a": 1, "b": {"c": [1, 2]}}, 1)
    assert (second.data, second.version) == ({"z": None}, 2)
    assert second.updated_at is not None
    assert await state_store.get(session.id) == second


async def test_patch_merges_and_counts_versions(backend_store, state_store):
    session_id = await session_with_state(backend_store, state_store, {"a": 1, "b": 2})

    patched = await state_store.patch(session_id, {"b": None, "c": 3}, None)

    assert (patched.data, patched.version) == ({"a": 1, "c": 3}, 2)
    assert await state_store.get(session_id) == patched


async def test_patch_of_a_session_without_state_starts_from_empty(backend_store, state_store):
    session = await new_session(backend_store)

    patched = await state_store.patch(session.id, {"a": {"b": 1}}, None)

    assert (patched.data, patched.version) == ({"a": {"b": 1}}, 1)


# The examples of RFC 7396 appendix A whose target and patch are both objects.
@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({"a": {"b": 1}}, {}, {"a": {"b": 1}}),
    ],
)
async def test_patch_follows_rfc_7396(backend_store, state_store, target, patch, result):
    session_id = await session_with_state(backend_store, state_store, target)

    assert (await state_store.patch(session_id, patch, None)).data == result


async def test_delete_empties_the_data_and_moves_the_version_on(backend_store, state_store):
    session_id = await session_with_state(backend_store, state_store, {"a": 1})

    deleted = await state_store.delete(session_id, None)

    assert (deleted.data, deleted.version) == ({}, 2)
    assert await state_store.get(session_id) == deleted


async def test_delete_of_a_session_without_state_keeps_it_empty(backend_store, state_store):
    session = await new_session(backend_store)

    deleted = await state_store.delete(session.id, None)

    assert deleted.data == {}
    assert (await state_store.get(session.id)).data == {}


async def test_matching_if_match_is_accepted_by_every_write(backend_store, state_store):
    session = await new_session(backend_store)

    put = await state_store.put(session.id, {"a": 1}, 0)
    patched = await state_store.patch(session.id, {"b": 2}, put.version)
    deleted = await state_store.delete(session.id, patched.version)

    assert [put.version, patched.version, deleted.version] == [1, 2, 3]


@pytest.mark.parametrize(
    "write",
    [
        lambda state, sid, v: state.put(sid, {"lost": True}, v),
        lambda state, sid, v: state.patch(sid, {"lost": True}, v),
        lambda state, sid, v: state.delete(sid, v),
    ],
    ids=["put", "patch", "delete"],
)
@pytest.mark.parametrize("stale", [0, 1, 3])
async def test_stale_if_match_fails_with_the_current_state_and_writes_nothing(backend_store, state_store, write, stale):
    session_id = await session_with_state(backend_store, state_store, {"a": 1})
    current = await state_store.patch(session_id, {"b": 2}, None)

    with pytest.raises(PreconditionFailed) as failure:
        await write(state_store, session_id, stale)

    assert failure.value.current == current
    assert await state_store.get(session_id) == current


async def test_concurrent_patches_on_different_keys_all_survive(backend_store, state_store):
    session = await new_session(backend_store)

    results = await asyncio.gather(*(state_store.patch(session.id, {f"key{n}": n}, None) for n in range(50)))

    state = await state_store.get(session.id)
    assert state.data == {f"key{n}": n for n in range(50)}
    assert state.version == 50
    assert sorted(r.version for r in results) == list(range(1, 51))


async def test_concurrent_writes_with_the_same_if_match_let_exactly_one_win(backend_store, state_store):
    session = await new_session(backend_store)

    results = await asyncio.gather(
        *(state_store.put(session.id, {"writer": n}, 0) for n in range(10)), return_exceptions=True
    )

    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, PreconditionFailed) for r in results if r is not winners[0])
    assert await state_store.get(session.id) == winners[0]


@pytest.mark.parametrize(
    "call",
    [
        lambda state: state.get("session_missing"),
        lambda state: state.put("session_missing", {}, None),
        lambda state: state.patch("session_missing", {}, None),
        lambda state: state.delete("session_missing", None),
    ],
    ids=["get", "put", "patch", "delete"],
)
async def test_every_state_adapter_answers_not_found_for_an_unknown_session(state_store, call):
    with pytest.raises(NotFound):
        await call(state_store)


async def test_a_patch_over_the_document_limit_writes_nothing(backend_store, state_store):
    session_id = await session_with_state(backend_store, state_store, {"a": 1})
    limit = backend_store._max_document_bytes

    with pytest.raises(DocumentTooLarge):
        await state_store.patch(session_id, {"big": "x" * limit}, None)

    assert (await state_store.get(session_id)).data == {"a": 1}
