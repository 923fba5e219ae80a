"""State and cache through both clients, against the real service."""

from __future__ import annotations

import pytest

from vault.client import NotFound, PreconditionFailed, ValidationError
from vault.models import CacheEntry, State


async def test_state_versions_and_merge_patch(vault, unique):
    session = await vault.create_session(unique)
    empty = await vault.get_state(session.id)
    assert (empty.data, empty.version) == ({}, 0)

    put = await vault.put_state(session.id, {"context": "research", "memory": ["fact1"], "step": 1})
    assert isinstance(put, State) and put.version == 1

    patched = await vault.patch_state(session.id, {"step": 2, "memory": None, "plan": {"next": "read"}}, if_match=1)
    assert patched.data == {"context": "research", "step": 2, "plan": {"next": "read"}}
    assert patched.version == 2
    assert await vault.get_state(session.id) == patched

    replaced = await vault.put_state(session.id, {"only": True}, if_match=2)
    assert (replaced.data, replaced.version) == ({"only": True}, 3)

    assert await vault.delete_state(session.id, if_match=3) is None
    assert (await vault.get_state(session.id)).data == {}


async def test_if_match_mismatch_carries_the_current_state(vault, unique):
    session = await vault.create_session(unique)
    current = await vault.put_state(session.id, {"owner": "first"})
    for write in (
        lambda: vault.put_state(session.id, {"owner": "second"}, if_match=0),
        lambda: vault.patch_state(session.id, {"owner": "second"}, if_match=7),
        lambda: vault.delete_state(session.id, if_match=0),
    ):
        with pytest.raises(PreconditionFailed) as caught:
            await write()
        assert caught.value.status == 412
        assert caught.value.code == "precondition_failed"
        assert caught.value.current == current
        assert str(current.version) in caught.value.detail
    assert await vault.get_state(session.id) == current


async def test_state_of_an_unknown_session(vault):
    with pytest.raises(NotFound):
        await vault.get_state("session_0000")


@pytest.mark.parametrize("key", ["plain", "with/slash", "with space", "q?and#hash", "100%", "ünïcode", "a//b"])
async def test_cache_round_trip(vault, unique, key):
    key = f"{unique}:{key}"
    entry = await vault.cache_set(key, {"result": "cached data"}, ttl=3600)
    assert isinstance(entry, CacheEntry)
    assert (entry.key, entry.value, entry.ttl) == (key, {"result": "cached data"}, 3600)
    assert entry.expires_at is not None

    got = await vault.cache_get(key)
    assert (got.key, got.value) == (key, {"result": "cached data"})

    forever = await vault.cache_set(key, [1, None, "x"])
    assert (forever.ttl, forever.expires_at, forever.value) == (None, None, [1, None, "x"])

    assert await vault.cache_delete(key) is None
    with pytest.raises(NotFound):
        await vault.cache_get(key)


async def test_cache_cleanup_and_bad_ttl(vault, unique):
    assert await vault.cache_cleanup() >= 0
    with pytest.raises(ValidationError) as caught:
        await vault.cache_set(unique, "v", ttl=0)
    assert caught.value.status == 422
    assert [error["loc"] for error in caught.value.errors] == [["body", "ttl"]]
