"""`Idempotency-Key` on POSTs (CONTRACT section 1): a retry returns the first answer and writes nothing twice."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any

import pytest
from attrs import frozen

from tests.conftest import create_session
from vault.app import create_app


@frozen
class Creator:
    """A POST that creates things, a body for it, another body, and how to count what it made."""

    path: str
    body: Callable[[str], dict[str, Any]]
    other_body: Callable[[str], dict[str, Any]]
    count_path: Callable[[str], str]
    writes: int = 1


CREATORS = {
    "sessions": Creator(
        "/storage/sessions",
        lambda sid: {"agent_name": "idem", "metadata": {"n": 1}},
        lambda sid: {"agent_name": "idem", "metadata": {"n": 2}},
        lambda sid: "/storage/sessions?agent_name=idem",
    ),
    "history": Creator(
        "/storage/history",
        lambda sid: {"session_id": sid, "role": "user", "content": "once"},
        lambda sid: {"session_id": sid, "role": "user", "content": "twice"},
        lambda sid: f"/storage/history?session_id={sid}",
    ),
    "history-batch": Creator(
        "/storage/history/batch",
        lambda sid: {"session_id": sid, "messages": [{"role": "user", "content": "a"}, {"role": "assistant"}]},
        lambda sid: {"session_id": sid, "messages": [{"role": "user", "content": "b"}]},
        lambda sid: f"/storage/history?session_id={sid}",
        writes=2,
    ),
    "metrics": Creator(
        "/storage/metrics",
        lambda sid: {"session_id": sid, "entity_name": "idem", "metric_name": "tokens", "value": 5},
        lambda sid: {"session_id": sid, "entity_name": "idem", "metric_name": "tokens", "value": 6},
        lambda sid: "/storage/metrics?entity_name=idem",
    ),
    "metrics-batch": Creator(
        "/storage/metrics/batch",
        lambda sid: {"metrics": [{"entity_name": "idem", "metric_name": m, "value": 1} for m in ("a", "b", "c")]},
        lambda sid: {"metrics": [{"entity_name": "idem", "metric_name": "a", "value": 2}]},
        lambda sid: "/storage/metrics?entity_name=idem",
        writes=3,
    ),
    "artifacts": Creator(
        "/storage/artifacts",
        lambda sid: {"session_id": sid, "name": "report.md", "path": "/data/report.md", "size": 10},
        lambda sid: {"session_id": sid, "name": "report.md", "path": "/data/report.md", "size": 11},
        lambda sid: f"/storage/artifacts?session_id={sid}",
    ),
}

creators = pytest.mark.parametrize("creator", list(CREATORS.values()), ids=list(CREATORS))


async def post(client, path: str, body: Any, key: str | None):
    headers = {} if key is None else {"Idempotency-Key": key}
    return await client.post(path, json=body, headers=headers)


async def count(client, creator: Creator, session_id: str) -> int:
    response = await client.get(creator.count_path(session_id))
    assert response.status == 200, await response.text()
    return len(await response.json())


async def answer(response) -> tuple[int, str | None, Any]:
    """What a client sees of an answer: status, Location and body."""
    return response.status, response.headers.get("Location"), await response.json()


async def expect_key_reused(response) -> None:
    assert response.status == 422, await response.text()
    body = await response.json()
    assert body["error"] == "idempotency_key_reused"
    assert isinstance(body["detail"], str) and body["detail"]


def expired_cache_entries(db_path: str, keys: list[str]) -> None:
    """Put entries that expired an hour ago straight into the database file."""
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.executemany(
            "INSERT INTO cache (key, value, ttl, created_at, accessed_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    key,
                    "1",
                    60,
                    "2000-01-01T00:00:00.000000+00:00",
                    "2000-01-01T00:00:00.000000+00:00",
                    "2000-01-01T00:01:00.000000+00:00",
                )
                for key in keys
            ],
        )


def cache_keys(db_path: str) -> list[str]:
    with closing(sqlite3.connect(db_path)) as conn:
        return [row[0] for row in conn.execute("SELECT key FROM cache ORDER BY key")]


@pytest.fixture
async def session_id(client) -> str:
    return (await create_session(client, agent_name="owner"))["id"]


# -- one retry


@creators
async def test_a_retry_returns_the_first_answer_and_writes_once(client, session_id, creator):
    body = creator.body(session_id)
    first = await answer(await post(client, creator.path, body, "key-1"))
    retry = await answer(await post(client, creator.path, body, "key-1"))
    assert first[0] == 201
    assert retry == first
    assert await count(client, creator, session_id) == creator.writes


@creators
async def test_without_a_key_every_post_writes(client, session_id, creator):
    body = creator.body(session_id)
    first = await answer(await post(client, creator.path, body, None))
    second = await answer(await post(client, creator.path, body, None))
    assert first[0] == second[0] == 201
    assert first[2] != second[2]
    assert await count(client, creator, session_id) == 2 * creator.writes


@creators
async def test_different_keys_are_different_requests(client, session_id, creator):
    body = creator.body(session_id)
    first = await answer(await post(client, creator.path, body, "key-a"))
    second = await answer(await post(client, creator.path, body, "key-b"))
    assert first[2] != second[2]
    assert await count(client, creator, session_id) == 2 * creator.writes


@creators
async def test_the_same_key_with_another_body_is_422_and_writes_nothing(client, session_id, creator):
    first = await answer(await post(client, creator.path, creator.body(session_id), "key-1"))
    await expect_key_reused(await post(client, creator.path, creator.other_body(session_id), "key-1"))
    assert await count(client, creator, session_id) == creator.writes
    # The key still answers its own request.
    assert await answer(await post(client, creator.path, creator.body(session_id), "key-1")) == first


async def test_the_same_key_on_another_route_is_422(client, session_id):
    created = await post(client, "/storage/sessions", {"agent_name": "idem"}, "shared")
    assert created.status == 201
    response = await post(
        client, "/storage/history", {"session_id": session_id, "role": "user", "content": "x"}, "shared"
    )
    await expect_key_reused(response)
    assert await count(client, CREATORS["history"], session_id) == 0


async def test_a_replay_is_the_first_answer_even_after_the_session_changed(client):
    body = {"agent_name": "idem"}
    first = await (await post(client, "/storage/sessions", body, "k")).json()
    await client.put(f"/storage/sessions/{first['id']}", json={"status": "ended", "metadata": {"x": 1}})
    retry = await post(client, "/storage/sessions", body, "k")
    assert retry.status == 201
    assert await retry.json() == first
    assert (await (await client.get(f"/storage/sessions/{first['id']}")).json())["status"] == "ended"


async def test_a_history_replay_after_the_session_was_deleted_writes_nothing(client, db_path, session_id):
    body = {"session_id": session_id, "role": "user", "content": "x"}
    first = await answer(await post(client, "/storage/history", body, "k"))
    await client.delete(f"/storage/sessions/{session_id}")
    assert await answer(await post(client, "/storage/history", body, "k")) == first
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0


async def test_a_failed_request_is_answered_the_same_on_retry(client):
    body = {"session_id": "session_missing", "role": "user", "content": "x"}
    for _ in range(2):
        response = await post(client, "/storage/history", body, "k")
        assert response.status == 404
        assert (await response.json())["error"] == "not_found"


async def test_a_retry_after_a_restart_still_returns_the_first_answer(aiohttp_client, client, config, session_id):
    body = {"session_id": session_id, "role": "user", "content": "durable"}
    first = await answer(await post(client, "/storage/history", body, "k"))
    restarted = await aiohttp_client(create_app(config))
    assert await answer(await post(restarted, "/storage/history", body, "k")) == first
    assert await count(restarted, CREATORS["history"], session_id) == 1


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256],
    ids=["empty", "too-long"],
)
async def test_a_malformed_key_is_422_and_writes_nothing(client, key):
    response = await post(client, "/storage/sessions", {"agent_name": "idem"}, key)
    assert response.status == 422
    assert (await response.json())["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await count(client, CREATORS["sessions"], "") == 0


async def test_the_longest_key_is_accepted(client):
    key = "k" * 255
    first = await answer(await post(client, "/storage/sessions", {"agent_name": "idem"}, key))
    assert first[0] == 201
    assert await answer(await post(client, "/storage/sessions", {"agent_name": "idem"}, key)) == first


# -- concurrent retries


@creators
async def test_concurrent_requests_with_one_key_write_once(client, session_id, creator):
    body = creator.body(session_id)
    responses = await asyncio.gather(*(post(client, creator.path, body, "racing") for _ in range(10)))
    answers = [await answer(response) for response in responses]
    assert answers[0][0] == 201
    assert all(a == answers[0] for a in answers)
    assert await count(client, creator, session_id) == creator.writes


async def test_concurrent_requests_with_one_key_and_other_bodies_write_one_of_them(client, session_id):
    bodies = [{"session_id": session_id, "role": "user", "content": f"body {n}"} for n in range(6)]
    responses = await asyncio.gather(*(post(client, "/storage/history", body, "racing") for body in bodies))
    statuses = sorted(response.status for response in responses)
    assert statuses == [201, 422, 422, 422, 422, 422]
    [winner] = [await response.json() for response in responses if response.status == 201]
    history = await (await client.get(f"/storage/history?session_id={session_id}")).json()
    assert history == [winner]


# -- cache cleanup


async def cleanup(client, key: str | None, body: Any = None):
    headers = {} if key is None else {"Idempotency-Key": key}
    if body is None:
        return await client.post("/storage/cache/cleanup", headers=headers)
    return await client.post("/storage/cache/cleanup", json=body, headers=headers)


async def test_cache_cleanup_retry_returns_the_first_answer(client, db_path):
    await client.put("/storage/cache/live", json={"value": 1})
    expired_cache_entries(db_path, ["old-1", "old-2"])
    first = await cleanup(client, "sweep")
    assert first.status == 200
    assert await first.json() == {"status": "completed", "deleted": 2}
    retry = await cleanup(client, "sweep")
    assert retry.status == 200
    assert await retry.json() == {"status": "completed", "deleted": 2}
    assert (await client.get("/storage/cache/live")).status == 200
    again = await cleanup(client, None)
    assert await again.json() == {"status": "completed", "deleted": 0}


async def test_concurrent_cache_cleanups_with_one_key_answer_alike(client, db_path):
    expired_cache_entries(db_path, ["old-1", "old-2", "old-3"])
    responses = await asyncio.gather(*(cleanup(client, "sweep") for _ in range(5)))
    bodies = [await response.json() for response in responses]
    assert bodies == [{"status": "completed", "deleted": 3}] * 5


async def test_a_cache_cleanup_retry_sweeps_nothing(client, db_path):
    expired_cache_entries(db_path, ["old-1"])
    first = await (await cleanup(client, "sweep")).json()
    expired_cache_entries(db_path, ["old-2"])
    retry = await (await cleanup(client, "sweep")).json()
    assert retry == first == {"status": "completed", "deleted": 1}
    assert cache_keys(db_path) == ["old-2"]


async def test_cache_cleanup_with_the_same_key_and_another_body_is_422_and_sweeps_nothing(client, db_path):
    assert (await cleanup(client, "sweep")).status == 200
    expired_cache_entries(db_path, ["old"])
    await expect_key_reused(await cleanup(client, "sweep", {"reason": "manual"}))
    assert cache_keys(db_path) == ["old"]


async def test_idempotency_key_that_is_not_ascii_is_422(client):
    # Rule: a header a client sends never becomes a 5xx.
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    body = b'{"agent_name": "a"}'
    writer.write(
        b"POST /storage/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Idempotency-Key: \xff\xfe\r\nConnection: close\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    await writer.drain()
    answer = await reader.read(65536)
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 422"), answer[:200]
