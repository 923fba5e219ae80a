"""An S3 that holds artifact bytes and stops: content routes and /ready answer 503, the rest works, it recovers."""

from __future__ import annotations

import asyncio
import base64

import pytest

from tests.conftest import create_session
from tests.s3temp import bucket_url, start_with_its_bucket
from vault.config import Config

DATA = b"bytes kept in S3" * 1000


@pytest.fixture
def config(db_path, s3_server) -> Config:
    return Config(db_path=db_path, artifact_url=bucket_url())


async def upload(client, data: bytes = DATA):
    body = {"name": "kept.bin", "content_base64": base64.b64encode(data).decode()}
    return await client.post("/storage/artifacts", json=body)


async def assert_s3_is_down(client, artifact_id: str | None) -> None:
    created = await upload(client)
    assert created.status == 503 and created.headers["Retry-After"], await created.text()
    assert (await created.json())["error"] == "unavailable"
    if artifact_id is not None:
        download = await client.get(f"/storage/artifacts/{artifact_id}/content")
        assert download.status == 503 and download.headers["Retry-After"]

    ready = await client.get("/ready")
    assert ready.status == 503 and ready.headers["Retry-After"]
    assert "s3" in (await ready.json())["detail"].lower()

    # Everything that does not need the bytes works, artifact records included.
    health = await client.get("/health")
    assert health.status == 200
    assert (await health.json())["backends"]["artifacts"] == "s3"
    session = await create_session(client)
    assert (await client.get(f"/storage/sessions/{session['id']}")).status == 200
    reference = await client.post("/storage/artifacts", json={"name": "elsewhere.txt", "path": "/data/x"})
    assert reference.status == 201
    if artifact_id is not None:
        assert (await client.get(f"/storage/artifacts/{artifact_id}")).status == 200


async def assert_s3_is_back(client) -> str:
    assert (await client.get("/ready")).status == 200
    created = await upload(client)
    assert created.status == 201, await created.text()
    artifact_id = (await created.json())["id"]
    download = await client.get(f"/storage/artifacts/{artifact_id}/content")
    assert download.status == 200 and await download.read() == DATA
    return artifact_id


# Regression: an S3 that is down at start, or stops later, never stops the service nor answers 500.
async def metrics(client) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    return await response.text()


async def test_s3_down_at_start_then_stopped_mid_run_and_back(client, s3_server, config):
    await assert_s3_is_down(client, None)
    # S3 calls are timed and their failures counted by operation, like Redis's.
    assert 'vault_s3_errors_total{operation="ping"}' in await metrics(client)

    await start_with_its_bucket(s3_server, config)
    artifact_id = await assert_s3_is_back(client)
    assert 'vault_s3_call_duration_seconds_count{operation="put"}' in await metrics(client)

    await asyncio.to_thread(s3_server.stop)
    await assert_s3_is_down(client, artifact_id)

    await start_with_its_bucket(s3_server, config)
    await assert_s3_is_back(client)
