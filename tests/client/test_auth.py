"""api_key is sent as `Authorization: Bearer <key>` to a service that requires one."""

from __future__ import annotations

import pytest

from tests.client.conftest import start_service
from vault.client import AsyncVaultClient, Unauthorized, VaultClient

KEY = "client-test-key"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    service = start_service(tmp_path_factory, VAULT_API_KEYS=f"other-key,{KEY}")
    yield service
    service.terminate()


async def test_the_key_opens_every_route(guarded):
    async with AsyncVaultClient(guarded.url, KEY) as vault:
        session = await vault.create_session("guarded")
        assert (await vault.get_session(session.id)).id == session.id
        assert await vault.ready() is True


async def test_without_a_key_only_health_answers(guarded):
    async with AsyncVaultClient(guarded.url) as vault:
        assert (await vault.health()).status == "healthy"
        with pytest.raises(Unauthorized) as caught:
            await vault.list_sessions()
        assert (caught.value.status, caught.value.code) == (401, "unauthorized")
        assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_key_is_refused_by_the_sync_client_too(guarded):
    with VaultClient(guarded.url, "wrong") as vault, pytest.raises(Unauthorized):
        vault.create_session("guarded")
