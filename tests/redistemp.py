"""Redis for tests: the shared server under a prefix of each test's own, and private servers to stop.

VAULT_TEST_REDIS_URL names the Redis to test against, e.g.
redis://127.0.0.1:6379/0 (what .ci/run sets). Tests that need it are skipped,
saying so, when it is not set (and fail instead where VAULT_TEST_REQUIRE_SERVICES=1:
see tests/services.py). A private `redis-server` on a free port is for tests
that stop Redis mid-run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis

from tests.services import missing

URL_VARIABLE = "VAULT_TEST_REDIS_URL"
# How long a started or stopped redis-server may take to answer (or stop answering).
SETTLE_SECONDS = 10.0


def redis_url() -> str:
    url = os.environ.get(URL_VARIABLE, "").strip()
    if not url:
        pytest.skip(missing(f"redis: {URL_VARIABLE} is not set, so no Redis to test against (.ci/run sets it)"))
    return url


@asynccontextmanager
async def private_prefix() -> AsyncIterator[tuple[str, str]]:
    """(url, prefix) for one test on the shared Redis; every key under the prefix is removed after."""
    url = redis_url()
    prefix = f"vault-test-{uuid.uuid4().hex}:"
    try:
        yield url, prefix
    finally:
        client = aioredis.Redis.from_url(url)
        try:
            async for key in client.scan_iter(match=f"{prefix}*"):
                await client.delete(key)
        finally:
            await client.aclose()


async def wait_until(condition, what: str, timeout: float = SETTLE_SECONDS) -> None:
    """Poll an async condition until it holds; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test starts and stops."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    async def _answers(self) -> bool:
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(await client.ping())
        except (OSError, aioredis.RedisError):
            return False
        finally:
            await client.aclose()

    async def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await wait_until(self._answers, f"redis-server on port {self.port} to answer")

    async def stop(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        process.terminate()
        await asyncio.to_thread(process.wait, SETTLE_SECONDS)


@asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    """A PrivateRedis, not yet started; stopped after the test whatever happens."""
    if shutil.which("redis-server") is None:
        pytest.skip(missing("redis: redis-server is not installed, so no private Redis to stop"))
    server = PrivateRedis()
    try:
        yield server
    finally:
        await server.stop()
