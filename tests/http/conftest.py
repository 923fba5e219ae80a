"""The app as `vault serve` runs it, for what aiohttp's test server does differently."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.process.conftest import free_port
from tests.redistemp import PrivateRedis, private_redis
from tests.s3temp import MotoServer, s3_wanted
from vault.app import create_app
from vault.server import VaultRunner


@pytest.fixture
async def served(config):
    """The port of the app behind VaultRunner (aiohttp's test server answers parser errors itself,
    and cancels a handler whose client goes away, which `vault serve` does not)."""
    runner = VaultRunner(create_app(config), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield port
    await runner.cleanup()


@pytest.fixture
async def redis_server() -> AsyncIterator[PrivateRedis]:
    """A redis-server of the test's own, not yet started, that the test starts and stops."""
    async with private_redis() as server:
        yield server


@pytest.fixture
async def s3_server(monkeypatch) -> AsyncIterator[MotoServer]:
    """A moto server of the test's own, not yet started, named by the AWS settings; stopped after."""
    s3_wanted()
    server = MotoServer()
    for name, value in server.environment.items():
        monkeypatch.setenv(name, value)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
