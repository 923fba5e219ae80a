"""The calls the existing agent runtimes make, replayed as they make them (CONTRACT section 0).

Each test reads the answer only the way that client reads it: `raise_for_status()`,
a few keys, `datetime.fromisoformat`, `len()` of a plain list, `.get("data", {})`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

HEX_ID = {
    "session": re.compile(r"session_[0-9a-f]+"),
    "msg": re.compile(r"msg_[0-9a-f]+"),
    "artifact": re.compile(r"artifact_[0-9a-f]+"),
    "metric": re.compile(r"metric_[0-9a-f]+"),
}


class ClientError(Exception):
    """What `raise_for_status()` raises in the existing client."""


async def call(client, method: str, path: str, **kwargs: Any):
    response = await client.request(method, path, **kwargs)
    if not 200 <= response.status < 300:
        raise ClientError(f"{method} {path}: {response.status} {await response.text()}")
    return response


def parse_utc(text: str) -> datetime:
    """As the client parses it; The Vault must send a zone, and it must be UTC."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    assert moment.utcoffset() == timedelta(0), text
    return moment


async def start_session(client, agent_name: str = "research_orchestrator") -> dict[str, Any]:
    response = await call(
        client,
        "POST",
        "/storage/sessions",
        json={"agent_name": agent_name, "user_id": "user_123", "metadata": {"source": "cli"}},
    )
    return await response.json()


async def test_create_session_as_the_client_does(client):
    session = await start_session(client)
    assert HEX_ID["session"].fullmatch(session["id"])
    created_at = parse_utc(session["created_at"])
    updated_at = parse_utc(session["updated_at"])
    assert created_at <= updated_at


async def test_create_session_with_user_id_null(client):
    response = await call(
        client, "POST", "/storage/sessions", json={"agent_name": "a", "user_id": None, "metadata": {}}
    )
    assert (await response.json())["user_id"] is None


async def test_get_session_as_the_client_does(client):
    session = await start_session(client)
    got = await (await call(client, "GET", f"/storage/sessions/{session['id']}")).json()
    assert got["id"] == session["id"]
    assert got["agent_name"] == "research_orchestrator"
    assert got["user_id"] == "user_123"
    assert got["status"] == "active"
    assert parse_utc(got["created_at"]) == parse_utc(session["created_at"])
    parse_utc(got["updated_at"])


async def test_an_unknown_session_is_not_2xx(client):
    with pytest.raises(ClientError):
        await call(client, "GET", "/storage/sessions/session_00000000000000deadbeef00")


async def test_end_session_as_the_client_does(client):
    session = await start_session(client)
    await call(client, "PUT", f"/storage/sessions/{session['id']}", json={"status": "ended"})
    got = await (await call(client, "GET", f"/storage/sessions/{session['id']}")).json()
    assert got["status"] == "ended"
    assert parse_utc(got["updated_at"]) >= parse_utc(got["created_at"])


async def test_add_and_read_history_as_the_client_does(client):
    session = await start_session(client)
    said = [("user", "What is quantum computing?"), ("assistant", "A model of computation."), ("user", "Thanks")]
    for role, content in said:
        response = await call(
            client,
            "POST",
            "/storage/history",
            json={"session_id": session["id"], "role": role, "content": content, "metadata": {}},
        )
        assert HEX_ID["msg"].fullmatch((await response.json())["id"])
    response = await call(client, "GET", f"/storage/history?session_id={session['id']}&limit=50")
    history = await response.json()
    assert isinstance(history, list)
    assert len(history) == 3
    assert [(item["role"], item["content"]) for item in history] == said


# The original's `limit` gave the oldest messages; the client wants the latest context.
async def test_history_limit_50_is_the_latest_50_in_order(client):
    session = await start_session(client)
    messages = [{"role": "user", "content": f"message {n}"} for n in range(1, 61)]
    await call(client, "POST", "/storage/history/batch", json={"session_id": session["id"], "messages": messages})
    history = await (await call(client, "GET", f"/storage/history?session_id={session['id']}&limit=50")).json()
    assert len(history) == 50
    assert [item["content"] for item in history] == [f"message {n}" for n in range(11, 61)]


async def test_state_round_trip_as_the_client_does(client):
    session = await start_session(client)
    data = {
        "context": "quantum computing research",
        "variables": {"search_depth": 3},
        "memory": ["fact1", "fact2"],
    }
    await call(client, "PUT", f"/storage/state/{session['id']}", json={"data": data})
    response = await client.get(f"/storage/state/{session['id']}")
    assert response.status == 200
    assert (await response.json()).get("data", {}) == data


async def test_state_of_a_session_without_state_is_200_and_empty(client):
    session = await start_session(client)
    response = await client.get(f"/storage/state/{session['id']}")
    assert response.status == 200
    assert (await response.json()).get("data", {}) == {}


async def test_the_whole_agent_run(client):
    session = await start_session(client, "writer")
    session_id = session["id"]
    await call(client, "PUT", f"/storage/state/{session_id}", json={"data": {"step": 0}})
    for step in range(1, 4):
        await call(
            client,
            "POST",
            "/storage/history",
            json={"session_id": session_id, "role": "user", "content": f"step {step}", "metadata": {"n": step}},
        )
        await call(client, "PUT", f"/storage/state/{session_id}", json={"data": {"step": step}})
    await call(client, "PUT", f"/storage/sessions/{session_id}", json={"status": "ended"})
    history = await (await call(client, "GET", f"/storage/history?session_id={session_id}&limit=50")).json()
    state = await (await client.get(f"/storage/state/{session_id}")).json()
    got = await (await call(client, "GET", f"/storage/sessions/{session_id}")).json()
    assert [item["content"] for item in history] == ["step 1", "step 2", "step 3"]
    assert state.get("data", {}) == {"step": 3}
    assert got["status"] == "ended"


# -- the original's shapes


async def test_ids_are_a_type_prefix_plus_hex(client):
    session = await start_session(client)
    message = await (
        await call(client, "POST", "/storage/history", json={"session_id": session["id"], "role": "user"})
    ).json()
    artifact = await (
        await call(client, "POST", "/storage/artifacts", json={"session_id": session["id"], "name": "a.txt"})
    ).json()
    metric = await (
        await call(
            client, "POST", "/storage/metrics", json={"entity_name": "a", "metric_name": "latency_ms", "value": 1.5}
        )
    ).json()
    assert HEX_ID["session"].fullmatch(session["id"])
    assert HEX_ID["msg"].fullmatch(message["id"])
    assert HEX_ID["artifact"].fullmatch(artifact["id"])
    assert HEX_ID["metric"].fullmatch(metric["id"])


async def test_deletes_answer_status_deleted_with_the_id(client):
    session = await start_session(client)
    artifact = await (await call(client, "POST", "/storage/artifacts", json={"name": "a.txt"})).json()
    await call(client, "PUT", "/storage/cache/my_key", json={"key": "my_key", "value": {"r": 1}, "ttl": 3600})
    answers = [
        await (await call(client, "DELETE", f"/storage/artifacts/{artifact['id']}")).json(),
        await (await call(client, "DELETE", "/storage/cache/my_key")).json(),
        await (await call(client, "DELETE", f"/storage/sessions/{session['id']}")).json(),
    ]
    assert answers == [
        {"status": "deleted", "artifact_id": artifact["id"]},
        {"status": "deleted", "key": "my_key"},
        {"status": "deleted", "session_id": session["id"]},
    ]


async def test_lists_are_plain_arrays(client):
    session = await start_session(client)
    await call(client, "POST", "/storage/history", json={"session_id": session["id"], "role": "user", "content": "x"})
    await call(client, "POST", "/storage/artifacts", json={"session_id": session["id"], "name": "a"})
    await call(client, "POST", "/storage/metrics", json={"entity_name": "a", "metric_name": "m", "value": 1})
    for path in [
        "/storage/sessions",
        f"/storage/history?session_id={session['id']}",
        f"/storage/artifacts?session_id={session['id']}",
        "/storage/metrics?entity_name=a",
    ]:
        body = await (await call(client, "GET", path)).json()
        assert isinstance(body, list) and len(body) == 1, path


async def test_errors_carry_a_human_detail_string(client):
    responses = [
        await client.get("/storage/sessions/session_missing"),
        await client.post("/storage/sessions", json={}),
        await client.get("/storage/history"),
    ]
    for response in responses:
        body = await response.json()
        assert isinstance(body["detail"], str) and body["detail"]


# The original wrote naive timestamps; every one The Vault sends has a UTC offset.
async def test_every_timestamp_sent_is_utc_with_an_offset(client):
    session = await start_session(client)
    message = await (
        await call(client, "POST", "/storage/history", json={"session_id": session["id"], "role": "user"})
    ).json()
    state = await (await call(client, "PUT", f"/storage/state/{session['id']}", json={"data": {}})).json()
    artifact = await (await call(client, "POST", "/storage/artifacts", json={"name": "a"})).json()
    metric = await (
        await call(client, "POST", "/storage/metrics", json={"entity_name": "a", "metric_name": "m", "value": 1})
    ).json()
    entry = await (await call(client, "PUT", "/storage/cache/k", json={"value": 1, "ttl": 60})).json()
    for text in [
        session["created_at"],
        session["updated_at"],
        message["timestamp"],
        state["updated_at"],
        artifact["created_at"],
        metric["timestamp"],
        entry["created_at"],
        entry["accessed_at"],
        entry["expires_at"],
    ]:
        parse_utc(text)


async def test_a_naive_input_timestamp_is_taken_as_utc(client):
    response = await call(
        client,
        "POST",
        "/storage/metrics",
        json={"entity_name": "a", "metric_name": "m", "value": 1, "timestamp": "2026-01-02T03:04:05"},
    )
    assert parse_utc((await response.json())["timestamp"]) == datetime.fromisoformat("2026-01-02T03:04:05+00:00")


# The original accepted writes for sessions that did not exist.
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/storage/history", {"session_id": "session_missing", "role": "user", "content": "x"}),
        ("PUT", "/storage/state/session_missing", {"data": {"a": 1}}),
        ("POST", "/storage/artifacts", {"session_id": "session_missing", "name": "a"}),
        (
            "POST",
            "/storage/metrics",
            {"session_id": "session_missing", "entity_name": "a", "metric_name": "m", "value": 1},
        ),
    ],
)
async def test_writes_for_a_missing_session_are_404(client, method, path, body):
    response = await client.request(method, path, json=body)
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


# The original answered bad query values with a 500.
@pytest.mark.parametrize(
    "path",
    [
        "/storage/sessions?limit=abc",
        "/storage/sessions?offset=-3",
        "/storage/history?session_id={session_id}&limit=1e9",
        "/storage/history?session_id={session_id}&after=%C2%B2",
        "/storage/history?session_id={session_id}&before=99999999999999999999",
        "/storage/artifacts?limit=0",
        "/storage/metrics?start_time=yesterday",
        "/storage/metrics?limit=99999999999999999999999999",
    ],
)
async def test_bad_query_values_are_422_not_500(client, path):
    session = await start_session(client)
    response = await client.get(path.format(session_id=session["id"]))
    assert response.status == 422, await response.text()
