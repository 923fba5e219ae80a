"""PostgreSQL stopped under a running service: 503 with Retry-After everywhere, then recovery by itself."""

from __future__ import annotations

import asyncio
import base64

import pytest

from tests.conftest import add_message, create_session
from tests.http.test_bad_input import JSON_ENDPOINTS
from tests.postgres.private_cluster import PrivateCluster
from vault.app import create_app
from vault.config import Config

# Liveness bound only: how long the service may take to notice the database is back.
RECOVERS_WITHIN = 30


@pytest.fixture
def cluster():
    cluster = PrivateCluster()
    try:
        cluster.create()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def _reads_and_deletes(ids: dict[str, str]) -> list[tuple[str, str]]:
    session, message, metric, artifact = ids["session"], ids["message"], ids["metric"], ids["artifact"]
    return [
        ("GET", "/ready"),
        ("GET", "/storage/sessions"),
        ("GET", f"/storage/sessions/{session}"),
        ("GET", f"/storage/history?session_id={session}"),
        ("GET", f"/storage/history/{message}"),
        ("GET", f"/storage/state/{session}"),
        ("GET", "/storage/cache/some/key"),
        ("GET", "/storage/metrics"),
        ("GET", f"/storage/metrics/{metric}"),
        ("GET", "/storage/metrics/rollups?metric_name=m&bucket=hour"),
        ("GET", "/storage/artifacts"),
        ("GET", f"/storage/artifacts/{artifact}"),
        ("GET", f"/storage/artifacts/{artifact}/content"),
        ("POST", "/storage/cache/cleanup"),
        ("DELETE", "/storage/cache/some/key"),
        ("DELETE", f"/storage/state/{session}"),
        ("DELETE", f"/storage/history?session_id={session}"),
        ("DELETE", f"/storage/artifacts/{artifact}"),
        ("DELETE", f"/storage/sessions/{session}"),
    ]


async def _seed(client) -> dict[str, str]:
    session = (await create_session(client))["id"]
    message = (await add_message(client, session))["id"]
    metric = await client.post("/storage/metrics", json={"entity_name": "e", "metric_name": "m", "value": 1})
    content = base64.b64encode(b"bytes").decode()
    artifact = await client.post("/storage/artifacts", json={"name": "a.bin", "content_base64": content})
    assert (metric.status, artifact.status) == (201, 201)
    return {
        "session": session,
        "message": message,
        "metric": (await metric.json())["id"],
        "artifact": (await artifact.json())["id"],
    }


async def _answer(client, method: str, path: str, body=None) -> tuple[int, bool]:
    response = await client.request(method, path, json=body)
    await response.read()
    return response.status, "Retry-After" in response.headers


# Rule: while PostgreSQL is unreachable every route that needs it answers 503 with Retry-After, never 500.
async def test_every_route_answers_503_while_postgresql_is_down_and_recovers(aiohttp_client, tmp_path, cluster):
    config = Config(
        db_path=str(tmp_path / "unused.db"),
        database_url=cluster.dsn,
        artifact_dir=str(tmp_path / "artifacts"),
        database_pool_size=2,
    )
    client = await aiohttp_client(create_app(config))
    ids = await _seed(client)

    cluster.stop()
    answers = {}
    for method, path in _reads_and_deletes(ids):
        answers[f"{method} {path}"] = await _answer(client, method, path)
    for name, endpoint in sorted(JSON_ENDPOINTS.items()):
        bound = endpoint.bind(ids["session"])
        path = bound.path.replace("{session_id}", ids["session"])
        answers[name] = await _answer(client, bound.method, path, bound.body)
    assert answers == dict.fromkeys(answers, (503, True))

    cluster.start()
    async with asyncio.timeout(RECOVERS_WITHIN):
        while (await client.get(f"/storage/sessions/{ids['session']}")).status != 200:
            await asyncio.sleep(0.05)
    assert (await add_message(client, ids["session"], "after the outage"))["session_id"] == ids["session"]
