"""The store contract suite's fixture and the small helpers its tests share.

Contract tests talk to a store only through vault.store.interface.Store, so the same
tests hold every backend to the same promises.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from attrs import evolve
from vault.store.blobs import BlobStore
from vault.store.cache_port import CacheStore, DatabaseCache
from vault.store.errors import NotFound
from vault.store.interface import Store
from vault.store.postgres.store import PostgresStore
from vault.store.redis_cache import RedisCache
from vault.store.redis_state import RedisState
from vault.store.sqlite import SQLiteStore
from vault.store.state_port import DatabaseState, SessionScopedState, StateStore

from tests import store_settings
from tests.pgtemp import fresh_database
from tests.redistemp import private_prefix
from tests.s3temp import bucket_url
from vault import clock
from vault.app import build_blobs
from vault.inputs import NewMessage, NewMetric, NewSession
from vault.models import Message, Metric, Session


@asynccontextmanager
async def _sqlite_store(tmp_path: Path, blobs: BlobStore) -> AsyncIterator[Store]:
    yield SQLiteStore(str(tmp_path / "contract.db"), store_settings.SQLITE, blobs=blobs)


@asynccontextmanager
async def _postgres_store(tmp_path: Path, blobs: BlobStore) -> AsyncIterator[Store]:
    # A database of its own, created for the test and dropped after it.
    async with fresh_database() as dsn:
        yield PostgresStore(dsn, evolve(store_settings.POSTGRES, pool_size=4), blobs=blobs)


# Backends the contract suite runs against. A new backend joins here: add a
# builder that yields it, unstarted, on a fresh empty database, keeping its
# artifact bytes in the blob store it is given; every contract test then runs
# against it too. A test marked `sqlite_only` reaches past the interface into
# the SQLite file and runs on SQLite alone.
BACKENDS: dict[str, Callable[[Path, BlobStore], AbstractAsyncContextManager[Store]]] = {
    "sqlite": _sqlite_store,
    "postgresql": _postgres_store,
}


def _s3_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    request.getfixturevalue("s3_env")  # moto's server, named by the AWS settings
    return bucket_url()


# Where a backend keeps artifact bytes: a blob store adapter, by the URL that names it.
BLOB_LOCATIONS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "filesystem": lambda request, tmp_path: (tmp_path / "artifacts").as_uri(),
    "s3": _s3_location,
}


@pytest.fixture
def blob_kind() -> str:
    """The blob store under the backends; the artifact test modules run every kind (`every_blob_kind`)."""
    return "filesystem"


def every_blob_kind():
    """A module's `blob_kind` fixture that runs its tests against every blob store adapter."""
    return pytest.fixture(params=list(BLOB_LOCATIONS), name="blob_kind")(lambda request: request.param)


@pytest.fixture
def blob_location(request, tmp_path, blob_kind) -> str:
    return BLOB_LOCATIONS[blob_kind](request, tmp_path)


@pytest.fixture(params=list(BACKENDS))
async def backend_store(request, tmp_path, blob_location):
    if request.param != "sqlite" and request.node.get_closest_marker("sqlite_only"):
        pytest.skip("reaches into the SQLite file")
    async with BACKENDS[request.param](tmp_path, build_blobs(blob_location)) as store:
        await store.start()
        yield store
        await store.close()


# Cache and state adapters their port contracts run against, each built on a
# started backend store (the database it lives in, or the sessions it serves).
# A new adapter (Redis, ...) joins here and runs beside every backend.
@asynccontextmanager
async def _database_cache(store: Store) -> AsyncIterator[CacheStore]:
    yield DatabaseCache(store)


@asynccontextmanager
async def _redis_cache(store: Store) -> AsyncIterator[CacheStore]:
    # The real Redis, under a prefix of this test's own, its keys removed after.
    async with private_prefix() as (url, prefix):
        cache = RedisCache(url, prefix)
        yield cache
        await cache.close()


CACHE_ADAPTERS: dict[str, Callable[[Store], AbstractAsyncContextManager[CacheStore]]] = {
    "database": _database_cache,
    "redis": _redis_cache,
}


@asynccontextmanager
async def _database_state(store: Store) -> AsyncIterator[StateStore]:
    yield DatabaseState(store)


@asynccontextmanager
async def _redis_state(store: Store) -> AsyncIterator[StateStore]:
    # As the store uses it: sessions checked in the store's database, state in Redis under this test's prefix.
    async with private_prefix() as (url, prefix):
        state = RedisState(url, prefix, store._max_document_bytes)
        yield SessionScopedState(state, store.get_session)
        await state.close()


STATE_ADAPTERS: dict[str, Callable[[Store], AbstractAsyncContextManager[StateStore]]] = {
    "database": _database_state,
    "redis": _redis_state,
}


@pytest.fixture(params=list(CACHE_ADAPTERS))
async def cache_store(request, backend_store) -> AsyncIterator[CacheStore]:
    async with CACHE_ADAPTERS[request.param](backend_store) as cache:
        yield cache


@pytest.fixture(params=list(STATE_ADAPTERS))
async def state_store(request, backend_store) -> AsyncIterator[StateStore]:
    async with STATE_ADAPTERS[request.param](backend_store) as state:
        yield state


@pytest.fixture
async def backend_blobs(blob_location) -> AsyncIterator[BlobStore]:
    """The blob store the backends above keep their blobs in, seen from outside the store."""
    blobs = build_blobs(blob_location)
    blobs.open()
    yield blobs
    await blobs.close()


# -- helpers


async def new_session(store: Store, agent_name: str = "agent", **fields: Any) -> Session:
    return await store.create_session(NewSession(agent_name=agent_name, **fields))


def message(content: Any = "hello", role: str = "user", **fields: Any) -> NewMessage:
    # The session comes from add_messages' own argument; this one is only carried along.
    return NewMessage(session_id="unused", role=role, content=content, **fields)


async def add_texts(store: Store, session_id: str, *texts: str, role: str = "user") -> list[Message]:
    return await store.add_messages(session_id, [message(text, role) for text in texts])


def at(minutes: int) -> str:
    """A fixed timestamp `minutes` after a base moment, in the stored text form."""
    return clock.format_time(datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes))


def point(value: float = 1.0, **fields: Any) -> NewMetric:
    fields.setdefault("entity_name", "agent")
    fields.setdefault("metric_name", "latency_ms")
    return NewMetric(value=value, **fields)


async def record(store: Store, *points: NewMetric) -> list[Metric]:
    return await store.record_metrics(list(points))


def ids_of(items: list[Any]) -> list[str]:
    return [item.id for item in items]


async def is_missing(lookup: Awaitable[Any]) -> bool:
    try:
        await lookup
    except NotFound:
        return True
    return False
