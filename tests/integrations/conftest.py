"""The framework adapters against `vault serve` as a real process.

The frameworks are the package's extras, installed for these tests only
(.ci/run installs them): without one, its tests skip as a missing service,
which VAULT_TEST_REQUIRE_SERVICES=1 turns into a failure (tests/services.py).
"""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from tests.process.conftest import VaultProcess
from tests.services import missing


def require(module: str, extra: str) -> None:
    """Skip, as for a missing service, when a framework is not installed."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(missing(f"{module} (pip install 'the-vault[{extra}]')"))


@pytest.fixture(scope="session")
def vault_service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vault")
    service = VaultProcess(str(folder / "vault.db"), folder / "vault.log")
    asyncio.run(service.start())
    yield service
    service.terminate()


@pytest.fixture
def vault_url(vault_service) -> str:
    return vault_service.url
