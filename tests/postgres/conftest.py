"""Several Vault instances on one PostgreSQL database: each test gets a fresh database.

An "instance" is what a process would be: its own store with its own pool
(or a whole app built by create_app), sharing nothing with the other but the
database and the artifact folder.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from attrs import evolve
from vault.store.blobfs import FilesystemBlobStore
from vault.store.postgres.store import PostgresStore

from tests import store_settings
from tests.pgtemp import fresh_database
from vault.app import create_app
from vault.config import Config


@pytest.fixture
async def database_url():
    async with fresh_database() as url:
        yield url


@pytest.fixture
def pg_config(tmp_path, database_url) -> Config:
    return Config(
        db_path=str(tmp_path / "unused.db"),
        database_url=database_url,
        artifact_dir=str(tmp_path / "artifacts"),
        database_pool_size=4,
    )


def new_store(database_url: str, tmp_path, **options) -> PostgresStore:
    options.setdefault("pool_size", 4)
    settings = evolve(store_settings.POSTGRES, **options)
    return PostgresStore(database_url, settings, blobs=FilesystemBlobStore(tmp_path / "artifacts"))


@pytest.fixture
async def two_stores(database_url, tmp_path):
    stores = [new_store(database_url, tmp_path), new_store(database_url, tmp_path)]
    await asyncio.gather(*(store.start() for store in stores))
    yield stores
    for store in stores:
        await store.close()


@pytest.fixture
async def two_clients(aiohttp_client, pg_config) -> tuple[TestClient, TestClient]:
    return await aiohttp_client(create_app(pg_config)), await aiohttp_client(create_app(pg_config))
