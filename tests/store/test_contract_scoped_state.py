"""State of an app and of its users on every backend: versions, If-Match, merge patches, scopes kept apart."""

from __future__ import annotations

import asyncio

import pytest
from vault.store.errors import PreconditionFailed


async def test_a_scope_never_written_is_empty_at_version_zero(backend_store):
    app = await backend_store.get_scoped_state("app", None)
    user = await backend_store.get_scoped_state("app", "u1")

    assert (app.app_name, app.user_id, app.data, app.version) == ("app", None, {}, 0)
    assert (user.app_name, user.user_id, user.data, user.version) == ("app", "u1", {}, 0)


async def test_app_and_user_scopes_are_kept_apart(backend_store):
    await backend_store.put_scoped_state("app", None, {"who": "app"}, None)
    await backend_store.put_scoped_state("app", "u1", {"who": "u1"}, None)
    await backend_store.put_scoped_state("other", "u1", {"who": "other u1"}, None)

    assert (await backend_store.get_scoped_state("app", None)).data == {"who": "app"}
    assert (await backend_store.get_scoped_state("app", "u1")).data == {"who": "u1"}
    assert (await backend_store.get_scoped_state("other", "u1")).data == {"who": "other u1"}
    assert (await backend_store.get_scoped_state("other", None)).data == {}


async def test_patches_merge_and_versions_count(backend_store):
    first = await backend_store.put_scoped_state("app", "u1", {"a": 1, "b": {"c": 1}}, None)
    second = await backend_store.patch_scoped_state("app", "u1", {"b": {"d": 2}, "a": None}, first.version)

    assert (second.data, second.version) == ({"b": {"c": 1, "d": 2}}, 2)
    assert await backend_store.get_scoped_state("app", "u1") == second


async def test_a_stale_if_match_fails_with_the_current_scoped_state(backend_store):
    await backend_store.put_scoped_state("app", None, {"a": 1}, None)

    with pytest.raises(PreconditionFailed) as failed:
        await backend_store.patch_scoped_state("app", None, {"a": 2}, 0)

    assert (failed.value.current.app_name, failed.value.current.data, failed.value.current.version) == (
        "app",
        {"a": 1},
        1,
    )


async def test_concurrent_patches_never_lose_each_other(backend_store):
    await asyncio.gather(*(backend_store.patch_scoped_state("app", "u", {f"k{i}": i}, None) for i in range(20)))

    state = await backend_store.get_scoped_state("app", "u")
    assert state.data == {f"k{i}": i for i in range(20)}
    assert state.version == 20


async def test_delete_empties_and_moves_the_version_on(backend_store):
    await backend_store.put_scoped_state("app", "u1", {"a": 1}, None)

    deleted = await backend_store.delete_scoped_state("app", "u1", 1)

    assert (deleted.data, deleted.version) == ({}, 2)
    untouched = await backend_store.delete_scoped_state("app", "never", None)
    assert untouched.version == 0
