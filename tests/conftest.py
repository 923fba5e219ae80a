"""Shared fixtures: real SQLite files in a temporary folder, the real app."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from vault.store.sqlite import SQLiteStore

from tests import store_settings
from tests.openapi_check import SpecCheckedClient
from tests.s3temp import s3_env, shared_moto  # noqa: F401 (fixtures: moto's S3 server, for every test folder)
from tests.services import pytest_runtest_makereport  # noqa: F401 (a hook: a skip for a missing service fails in CI)
from vault.app import create_app
from vault.config import Config


@pytest.fixture
def aiohttp_client_cls() -> type[TestClient]:
    # Every test client checks each response it receives against /openapi.json.
    return SpecCheckedClient


@pytest.fixture
def still_clock(time_machine):
    """The wall clock, stopped where it is: a test moves it with `still_clock.shift(seconds)`
    instead of waiting for a TTL or an age to pass.

    It is the clock the service reads its time from (vault.clock, time.time), in
    this process and its threads. Asyncio's timers run on the monotonic clock,
    which stays real; so does PostgreSQL's now(), which only the job lock reads.
    """
    time_machine.move_to(datetime.now(UTC), tick=False)
    return time_machine


@pytest.fixture
def db_path(tmp_path) -> str:
    return str(tmp_path / "vault.db")


@pytest.fixture
def config(db_path) -> Config:
    return Config(db_path=db_path)


@pytest.fixture
async def client(aiohttp_client, config) -> TestClient:
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def store(db_path):
    store = SQLiteStore(db_path, store_settings.SQLITE)
    await store.start()
    yield store
    await store.close()


async def create_session(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"agent_name": "test_agent", **fields}
    response = await client.post("/storage/sessions", json=body)
    assert response.status == 201, await response.text()
    return await response.json()


async def add_message(client: TestClient, session_id: str, content: Any = "hello", **fields: Any) -> dict[str, Any]:
    body = {"session_id": session_id, "role": "user", "content": content, **fields}
    response = await client.post("/storage/history", json=body)
    assert response.status == 201, await response.text()
    return await response.json()
