"""Service routes and middlewares: readiness, Prometheus, auth, request logs, CORS."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import add_message, create_session
from vault.app import create_app
from vault.config import Config
from vault.logs import JsonFormatter, escape


async def test_ready_when_store_answers(client):
    response = await client.get("/ready")
    assert response.status == 200
    assert (await response.json())["status"] == "ready"


async def test_not_ready_once_the_store_is_closed(client):
    from vault.appkeys import STORE

    await client.app[STORE].close()
    response = await client.get("/ready")
    assert response.status == 503
    body = await response.json()
    assert body["error"] == "not_ready" and body["detail"]


async def test_metrics_parse_and_count_requests(client):
    session = await create_session(client)
    await add_message(client, session["id"])
    await client.get("/storage/sessions/session_missing")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    families = {family.name: family for family in text_string_to_metric_families(await response.text())}
    expected = {
        "vault_http_requests",
        "vault_http_request_duration_seconds",
        "vault_write_queue_depth",
        "vault_write_batch_size",
        "vault_write_commit_duration_seconds",
        "vault_database_file_bytes",
        "vault_job_runs",
    }
    assert expected <= set(families)
    requests = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in families["vault_http_requests"].samples
        if s.name.endswith("_total")
    }
    assert requests[("POST", "/storage/history", "201")] == 1
    # Route templates, never ids, label the series.
    assert requests[("GET", "/storage/sessions/{session_id}", "404")] == 1
    batches = [s for s in families["vault_write_batch_size"].samples if s.name.endswith("_count")]
    assert batches[0].value >= 2


@pytest.fixture
async def keyed_client(aiohttp_client, db_path):
    return await aiohttp_client(create_app(Config(db_path=db_path, api_keys=("first-key", "second-key"))))


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", "Basic Zmlyc3Qta2V5", "first-key", "Bearer first-key-and-more"],
)
async def test_auth_rejects_missing_or_wrong_keys(keyed_client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await keyed_client.get("/storage/sessions", headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["error"] == "unauthorized"


@pytest.mark.parametrize("key", ["first-key", "second-key"])
async def test_auth_accepts_each_key(keyed_client, key):
    response = await keyed_client.get("/storage/sessions", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200


async def test_health_needs_no_key(keyed_client):
    assert (await keyed_client.get("/health")).status == 200
    assert (await keyed_client.get("/ready")).status == 401


async def test_request_id_is_echoed_or_made(client):
    response = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    made = (await client.get("/health")).headers["X-Request-ID"]
    assert len(made) == 32


async def test_one_log_line_per_request_without_bodies(client, caplog):
    caplog.set_level(logging.INFO, logger="vault.access")
    await client.post(
        "/storage/sessions",
        json={"agent_name": "secret-agent-name"},
        headers={"X-Request-ID": "req-42", "Authorization": "Bearer hunter2"},
    )
    [record] = [r for r in caplog.records if r.name == "vault.access"]
    line = record.getMessage()
    assert "POST /storage/sessions 201" in line and "id=req-42" in line
    assert "secret-agent-name" not in line and "hunter2" not in line
    as_json = json.loads(JsonFormatter().format(record))
    assert (as_json["method"], as_json["route"], as_json["status"]) == ("POST", "/storage/sessions", 201)


async def raw_request(client, head: bytes) -> bytes:
    """Send bytes no well-behaved client library would (control characters in a header)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head)
    await writer.drain()
    answer = await reader.read(65536)
    writer.close()
    await writer.wait_closed()
    return answer


async def test_request_id_with_control_characters_is_replaced(client, caplog):
    # Rule: a client cannot put terminal codes or forged lines into the logs.
    caplog.set_level(logging.INFO, logger="vault.access")
    answer = await raw_request(
        # U+009B is the one-character form of ESC [ (a C1 control); the HTTP parser lets it through.
        client,
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-ID: evil\xc2\x9b31mred\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"\xc2\x9b" not in answer
    [record] = [r for r in caplog.records if r.name == "vault.access"]
    assert "\x9b" not in record.getMessage() and "evil" not in record.getMessage()


def test_escape_neutralises_line_breaks_and_terminal_codes():
    assert escape("a\nb\r\x1b[2J\u2028c") == "a\\x0ab\\x0d\\x1b[2J\\x2028c"


@pytest.fixture
async def cors_client(aiohttp_client, db_path):
    return await aiohttp_client(create_app(Config(db_path=db_path, cors_origins=("https://app.example",))))


async def test_cors_off_by_default(client):
    response = await client.get("/health", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_for_listed_origins_only(cors_client):
    allowed = await cors_client.get("/health", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    other = await cors_client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_cors_preflight(cors_client):
    response = await cors_client.options(
        "/storage/sessions",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status == 204
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]
