"""What the client retries, and that a retried write is written once.

The service is real; FlakyProxy (tests/client/proxy.py) stands in for the
network between client and service: it cuts a connection after the service
has committed and begun to answer (a lost answer), or answers 503 itself
(an overloaded service). Nothing inside the client is replaced.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.client.conftest import FAST_RETRIES
from tests.process.conftest import free_port
from vault.client import AsyncVaultClient, Busy, ConnectionFailed, VaultClient


@pytest.fixture
async def flaky(proxy):
    async with AsyncVaultClient(proxy.url, **FAST_RETRIES) as client:
        yield client


def idempotency_keys(proxy) -> list[str]:
    return [request.headers.get("idempotency-key") for request in proxy.seen]


async def test_a_post_whose_answer_was_lost_is_written_once(flaky, proxy, direct, unique):
    # Rule: a POST retried after a lost answer never writes twice (Idempotency-Key).
    session = await direct.create_session(unique)
    proxy.drop_answers(1)
    message = await flaky.add_message(session.id, "user", "exactly once")

    assert len(proxy.forwarded()) == 2, "the first answer was lost and the call sent again"
    first_key, second_key = idempotency_keys(proxy)
    assert first_key and first_key == second_key
    assert await direct.get_history(session.id) == [message]


async def test_a_batch_whose_answer_was_lost_is_written_once(flaky, proxy, direct, unique):
    session = await direct.create_session(unique)
    proxy.drop_answers(1)
    added = await flaky.add_messages(session.id, [{"role": "user", "content": str(i)} for i in range(3)])
    assert await direct.get_history(session.id) == added
    assert (await direct.get_session(session.id)).message_count == 3


async def test_an_upload_whose_answer_was_lost_is_stored_once(flaky, proxy, direct, unique):
    # Each attempt is a fresh multipart body (a new boundary); the key still matches.
    session = await direct.create_session(unique)
    proxy.drop_answers(1)
    artifact = await flaky.upload_artifact("once.bin", b"\x00\x01" * 1000, session_id=session.id)
    assert len(proxy.forwarded()) == 2
    assert await direct.list_artifacts(session_id=session.id) == [artifact]


async def test_without_retries_the_lost_answer_says_the_write_may_have_happened(proxy, direct, unique):
    # This is what the retry above saves the caller from: the first attempt did commit.
    session = await direct.create_session(unique)
    proxy.drop_answers(1)
    async with AsyncVaultClient(proxy.url, retries=0) as client:
        with pytest.raises(ConnectionFailed) as caught:
            await client.add_message(session.id, "user", "committed, answer lost")
        assert caught.value.maybe_applied is True
        [stored] = await direct.get_history(session.id)
        # The key in the error lets the caller send the call again safely.
        again = await client.add_message(
            session.id, "user", "committed, answer lost", idempotency_key=caught.value.idempotency_key
        )
    assert again == stored
    assert len(await direct.get_history(session.id)) == 1


async def test_503_is_retried_after_retry_after(flaky, proxy, direct, unique):
    proxy.busy(times=2, retry_after="0")
    session = await flaky.create_session(unique)
    assert [request.forwarded for request in proxy.seen] == [False, False, True]
    assert len(set(idempotency_keys(proxy))) == 1
    assert await direct.list_sessions(agent_name=unique) == [session]


async def test_a_long_retry_after_is_not_waited_for(flaky, proxy, unique):
    proxy.busy(times=1, retry_after="3600")
    with pytest.raises(Busy) as caught:
        await flaky.create_session(unique)
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (503, "busy", 3600.0)
    assert len(proxy.seen) == 1


async def test_retries_are_bounded(proxy, unique):
    proxy.busy(times=10, retry_after="0")
    async with AsyncVaultClient(proxy.url, retries=2, **FAST_RETRIES) as client:
        with pytest.raises(Busy):
            await client.create_session(unique)
    assert len(proxy.seen) == 3


async def test_a_503_after_a_lost_answer_still_says_the_write_may_have_happened(proxy, direct, unique):
    # Rule: giving up never hides that an earlier attempt may have been applied.
    session = await direct.create_session(unique)
    proxy.drop_answers(1)
    proxy.busy(times=1, retry_after="3600")
    async with AsyncVaultClient(proxy.url, **FAST_RETRIES) as client:
        with pytest.raises(ConnectionFailed) as caught:
            await client.add_message(session.id, "user", "hi")
    assert caught.value.maybe_applied is True
    assert isinstance(caught.value.__cause__, Busy)
    assert len(await direct.get_history(session.id)) == 1


async def test_reads_are_retried_after_a_lost_answer(flaky, proxy, direct, unique):
    session = await direct.create_session(unique)
    proxy.drop_answers(1)
    assert await flaky.get_session(session.id) == session
    assert len(proxy.forwarded()) == 2


async def test_a_delete_whose_answer_was_lost_counts_as_done(flaky, proxy, direct, unique):
    # Rule: a DELETE whose answer was lost ends as done, not as NotFound from its own repeat.
    session = await direct.create_session(unique)
    proxy.drop_answers(1)
    assert await flaky.delete_session(session.id) is None
    assert len(proxy.forwarded()) == 2
    assert await direct.list_sessions(agent_name=unique) == []


async def test_put_and_merge_patch_are_repeated_after_a_lost_answer(flaky, proxy, direct, unique):
    session = await direct.create_session(unique)
    proxy.drop_answers(1)
    put = await flaky.put_state(session.id, {"a": 1, "b": {"c": 2}})
    proxy.drop_answers(1)
    patched = await flaky.patch_state(session.id, {"b": {"c": None, "d": 3}, "e": 4})
    # Applied twice each (the versions show it), with the data of applying once.
    assert put.data == {"a": 1, "b": {"c": 2}} and put.version == 2
    assert patched.data == {"a": 1, "b": {"d": 3}, "e": 4} and patched.version == 4
    assert await direct.get_state(session.id) == patched


async def test_a_conditional_write_is_not_repeated_after_a_lost_answer(flaky, proxy, direct, unique):
    # Rule: an If-Match write that may have been applied is not repeated (its repeat would 412 on its own write).
    session = await direct.create_session(unique)
    current = await direct.put_state(session.id, {"count": 1})
    proxy.drop_answers(1)
    with pytest.raises(ConnectionFailed) as caught:
        await flaky.patch_state(session.id, {"count": 2}, if_match=current.version)
    assert caught.value.maybe_applied is True
    assert len(proxy.seen) == 1
    assert (await direct.get_state(session.id)).data == {"count": 2}


async def test_a_conditional_put_is_not_repeated_by_aiohttp_either(flaky, proxy, direct, unique):
    # Rule: no hidden repeat below the client: aiohttp resends a dropped PUT on its own unless told not to.
    session = await direct.create_session(unique)
    current = await direct.put_state(session.id, {"count": 1})
    proxy.drop_answers(1)
    with pytest.raises(ConnectionFailed):
        await flaky.put_state(session.id, {"count": 2}, if_match=current.version)
    assert len(proxy.seen) == 1


async def test_a_conditional_write_is_retried_when_it_was_not_applied(flaky, proxy, direct, unique):
    session = await direct.create_session(unique)
    current = await direct.put_state(session.id, {"count": 1})
    proxy.busy(times=1)
    updated = await flaky.put_state(session.id, {"count": 2}, if_match=current.version)
    assert updated.version == current.version + 1
    assert len(proxy.seen) == 2


async def test_a_backup_is_not_repeated_after_a_lost_answer(flaky, proxy):
    # Rule: a POST the service does not deduplicate is not repeated when it may have been applied.
    proxy.drop_answers(1)
    with pytest.raises(ConnectionFailed) as caught:
        await flaky.backup()
    assert caught.value.maybe_applied is True
    assert len(proxy.seen) == 1


async def test_no_connection_means_not_applied():
    async with AsyncVaultClient(f"http://127.0.0.1:{free_port()}", **FAST_RETRIES) as client:
        with pytest.raises(ConnectionFailed) as caught:
            await client.create_session("nobody_listens")
    assert caught.value.maybe_applied is False
    assert caught.value.status is None
    assert caught.value.idempotency_key


async def test_ready_reports_now_without_retrying(proxy):
    proxy.busy(times=1)
    async with AsyncVaultClient(proxy.url, **FAST_RETRIES) as client:
        assert await client.ready() is False
        assert await client.ready() is True
    assert len(proxy.seen) == 2


async def test_the_sync_client_retries_the_same_way(proxy, direct, unique):
    session = await direct.create_session(unique)
    proxy.drop_answers(1)
    proxy.busy(times=1)

    def add_once():
        # Blocking calls, in a thread of their own, while the proxy runs on this test's loop.
        with VaultClient(proxy.url, **FAST_RETRIES) as client:
            return client.add_message(session.id, "user", "once")

    message = await asyncio.to_thread(add_once)
    assert await direct.get_history(session.id) == [message]
    assert len(proxy.seen) == 3
    assert len(set(idempotency_keys(proxy))) == 1
