"""The real service as a process, and both clients pointed at it."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.client.harness import Threaded
from tests.client.proxy import FlakyProxy
from tests.process.conftest import VaultProcess
from vault.client import AsyncVaultClient, VaultClient

# Short waits between retries: the tests prove what is retried, not how long it waits.
FAST_RETRIES = {"backoff": 0.01}


def start_service(tmp_path_factory, **env: str) -> VaultProcess:
    folder = tmp_path_factory.mktemp("vault")
    service = VaultProcess(str(folder / "vault.db"), folder / "vault.log", **env)
    asyncio.run(service.start())
    return service


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    # Rollups every second, so a test can wait for its points to be folded;
    # a small artifact cap, so a test can pass it cheaply.
    service = start_service(tmp_path_factory, VAULT_ROLLUP_SECONDS="1", VAULT_MAX_ARTIFACT_BYTES=str(1024 * 1024))
    yield service
    service.terminate()


@pytest.fixture(params=["async", "sync"])
async def vault(request, service):
    """The async client, or the blocking one run from a worker thread."""
    if request.param == "async":
        async with AsyncVaultClient(service.url, **FAST_RETRIES) as client:
            yield client
    else:
        client = VaultClient(service.url, **FAST_RETRIES)
        yield Threaded(client)
        await asyncio.to_thread(client.close)


@pytest.fixture
async def direct(service):
    """An async client for checking what the service holds, outside the test's path."""
    async with AsyncVaultClient(service.url) as client:
        yield client


@pytest.fixture
async def proxy(service):
    proxy = FlakyProxy(service.port)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture
def unique() -> str:
    """A name no other test uses, for filtering lists on the shared service."""
    return f"client-test-{uuid.uuid4().hex[:12]}"
