"""Store contract: writes that carry an IdempotencyClaim."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from attrs import frozen
from vault.store.errors import IdempotencyMismatch, NotFound
from vault.store.interface import IdempotencyClaim, Store

from tests.store.conftest import is_missing, message, new_session, point
from vault.inputs import CacheWrite, NewArtifact, NewSession
from vault.queries import ArtifactQuery, HistoryQuery, MetricQuery, SessionQuery


@frozen
class ClaimedWrite:
    """A write that takes a claim, and a count of the records it makes."""

    name: str
    # (store, session_id, body, claim) -> result; `body` varies the request.
    run: Callable[[Store, str, str, IdempotencyClaim | None], Awaitable[Any]]
    count: Callable[[Store, str], Awaitable[int]]


async def _count_sessions(store: Store, _: str) -> int:
    return len((await store.list_sessions(SessionQuery(limit=1000))).items)


async def _count_messages(store: Store, session_id: str) -> int:
    return len((await store.list_messages(HistoryQuery(session_id=session_id, limit=1000))).items)


async def _count_artifacts(store: Store, _: str) -> int:
    return len((await store.list_artifacts(ArtifactQuery(limit=1000))).items)


async def _count_metrics(store: Store, _: str) -> int:
    return len((await store.list_metrics(MetricQuery(limit=1000))).items)


CLAIMED_WRITES = [
    ClaimedWrite(
        "create_session",
        lambda store, _, body, claim: store.create_session(NewSession(agent_name=body), claim),
        _count_sessions,
    ),
    ClaimedWrite(
        "add_messages",
        lambda store, sid, body, claim: store.add_messages(sid, [message(body), message(body + "!")], claim),
        _count_messages,
    ),
    ClaimedWrite(
        "create_artifact",
        lambda store, sid, body, claim: store.create_artifact(NewArtifact(name=body, session_id=sid), claim),
        _count_artifacts,
    ),
    ClaimedWrite(
        "record_metrics",
        lambda store, sid, body, claim: store.record_metrics([point(session_id=sid, labels={"body": body})], claim),
        _count_metrics,
    ),
]

claimed_writes = pytest.mark.parametrize("write", CLAIMED_WRITES, ids=[w.name for w in CLAIMED_WRITES])
CLAIM = IdempotencyClaim("key-1", "fingerprint-a")


def _records_made(result: Any) -> int:
    return len(result) if isinstance(result, list) else 1


@pytest.fixture
async def session_id(backend_store) -> str:
    return (await new_session(backend_store)).id


@claimed_writes
async def test_same_key_and_fingerprint_replays_the_first_result_and_writes_once(backend_store, session_id, write):
    before = await write.count(backend_store, session_id)

    first = await write.run(backend_store, session_id, "body", CLAIM)
    again = await write.run(backend_store, session_id, "body", CLAIM)

    assert again == first
    assert await write.count(backend_store, session_id) - before == _records_made(first)


@claimed_writes
async def test_same_key_with_another_fingerprint_is_a_mismatch_and_writes_nothing(backend_store, session_id, write):
    first = await write.run(backend_store, session_id, "body", CLAIM)
    after_first = await write.count(backend_store, session_id)

    with pytest.raises(IdempotencyMismatch):
        await write.run(backend_store, session_id, "other", IdempotencyClaim(CLAIM.key, "fingerprint-b"))

    assert await write.count(backend_store, session_id) == after_first
    assert await write.run(backend_store, session_id, "body", CLAIM) == first


@claimed_writes
async def test_concurrent_writes_with_one_key_write_once(backend_store, session_id, write):
    before = await write.count(backend_store, session_id)

    results = await asyncio.gather(*(write.run(backend_store, session_id, "body", CLAIM) for _ in range(20)))

    assert all(result == results[0] for result in results)
    assert await write.count(backend_store, session_id) - before == _records_made(results[0])


@claimed_writes
async def test_different_keys_write_separately(backend_store, session_id, write):
    before = await write.count(backend_store, session_id)

    first = await write.run(backend_store, session_id, "body", IdempotencyClaim("key-1", "fingerprint-a"))
    second = await write.run(backend_store, session_id, "body", IdempotencyClaim("key-2", "fingerprint-a"))

    assert first != second
    assert await write.count(backend_store, session_id) - before == 2 * _records_made(first)


# Creating a session cannot fail on request, so it is left out here.
@pytest.mark.parametrize("write", CLAIMED_WRITES[1:], ids=[w.name for w in CLAIMED_WRITES[1:]])
async def test_a_failed_write_records_nothing_under_its_key(backend_store, session_id, write):
    with pytest.raises(NotFound):
        await write.run(backend_store, "session_missing", "body", CLAIM)

    # The key is still free: another request may use it.
    result = await write.run(backend_store, session_id, "other", IdempotencyClaim(CLAIM.key, "fingerprint-b"))
    assert await write.count(backend_store, session_id) == _records_made(result)


async def test_cleanup_replay_answers_the_first_total_and_sweeps_nothing(backend_store, still_clock):
    assert await backend_store.cache_cleanup(CLAIM) == 0
    await backend_store.cache_set("short", CacheWrite(value="v", ttl=1))
    still_clock.shift(2)  # past the entry's expiry
    assert await is_missing(backend_store.cache_get("short"))

    assert await backend_store.cache_cleanup(CLAIM) == 0
    with pytest.raises(IdempotencyMismatch):
        await backend_store.cache_cleanup(IdempotencyClaim(CLAIM.key, "fingerprint-b"))

    # Neither the replay nor the mismatch swept: the expired entry is still there to clean.
    assert await backend_store.cache_cleanup() == 1
