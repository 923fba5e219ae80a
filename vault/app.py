"""The app factory: create_app(config) -> aiohttp Application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit
from urllib.request import url2pathname

from aiohttp import web

from vault import handlers
from vault.appkeys import CONFIG, JOBS, OPENAPI_JSON, STOP_DEADLINE, STOPPING, STORE, TELEMETRY
from vault.config import Config
from vault.jobs.wiring import build_jobs
from vault.middleware import service_middleware
from vault.openapi.spec import spec_json
from vault.stop_deadline import StopDeadline
from vault.store.backup_files import remove_leftovers
from vault.store.blobfs import FilesystemBlobStore
from vault.store.blobs import BlobStore
from vault.store.blobs3 import S3BlobStore
from vault.store.interface import Store
from vault.store.postgres.store import PostgresSettings, PostgresStore
from vault.store.redis_cache import RedisCache
from vault.store.redis_state import RedisState
from vault.store.sqlite import SQLiteSettings, SQLiteStore
from vault.telemetry import FeedCollector, JobCollector, Telemetry


def sqlite_settings(config: Config) -> SQLiteSettings:
    return SQLiteSettings(
        synchronous=config.sqlite_synchronous,
        queue_max=config.queue_max,
        batch_max=config.write_batch_max,
        read_connections=config.read_connections,
        ack_before_commit=config.unsafe_ack_before_commit,
        max_document_bytes=config.max_document_bytes,
        compression=config.compression == "zstd",
        body_cache_bytes=config.body_cache_mb * 1024 * 1024,
    )


def postgres_settings(config: Config) -> PostgresSettings:
    return PostgresSettings(
        pool_size=config.database_pool_size,
        pool_timeout=config.database_pool_timeout,
        queue_max=config.queue_max,
        max_document_bytes=config.max_document_bytes,
        compression=config.compression == "zstd",
        body_cache_bytes=config.body_cache_mb * 1024 * 1024,
        replica_dsns=config.database_replica_urls,
        replica_wait_seconds=config.replica_wait_ms / 1000,
    )


def build_cache(config: Config) -> RedisCache | None:
    """The cache adapter the settings name; None: the cache stays in the main database."""
    if config.cache_url is None:
        return None
    # Connects at its first command, so a Redis that is down does not stop the start.
    return RedisCache(config.cache_url, config.redis_prefix, config.max_document_bytes)


def build_state(config: Config) -> RedisState | None:
    """The state adapter the settings name; None: state stays in the main database."""
    if config.state_url is None:
        return None
    return RedisState(config.state_url, config.redis_prefix, config.max_document_bytes)


def build_blobs(location: str, packing: bool = True) -> BlobStore:
    """The blob store a URL names: s3://bucket/prefix, or file:///path (a folder); `packing`: uploads kept packed."""
    if location.startswith("s3://"):
        # Connects at its first call, so an S3 that is down does not stop the start.
        return S3BlobStore(location, packing=packing)
    return FilesystemBlobStore(url2pathname(urlsplit(location).path), packing=packing)


def build_store(config: Config) -> Store:
    blobs = build_blobs(config.artifact_location, config.compression == "zstd")
    ports = {"cache": build_cache(config), "state": build_state(config)}
    if config.database_url is not None:
        return PostgresStore(config.database_url, postgres_settings(config), blobs=blobs, **ports)
    return SQLiteStore(config.db_path, sqlite_settings(config), blobs=blobs, **ports)


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    store = build_store(app[CONFIG])
    await store.start()
    store.observe(app[TELEMETRY])
    app[TELEMETRY].watch(FeedCollector(lambda: store.feed.subscribers, lambda: store.feed.stats))
    app[STORE] = store
    yield
    app[STOP_DEADLINE].enter("the store's drain and close (writes not yet answered)")
    await store.close()


async def _jobs_context(app: web.Application) -> AsyncIterator[None]:
    # A backup killed mid-copy left its partial file; no backup runs before the jobs start.
    await remove_leftovers(app[CONFIG].backup_dir)
    runner = build_jobs(app[CONFIG], app[STORE])
    app[JOBS] = runner
    app[TELEMETRY].watch(JobCollector(runner.statuses))
    runner.start()
    yield
    app[STOP_DEADLINE].enter("a running job")
    await runner.stop(timeout=app[CONFIG].shutdown_timeout)


async def _mark_stopping(app: web.Application) -> None:
    app[STOPPING].set()


async def _end_feed_streams(app: web.Application) -> None:
    # Streams never end by themselves: ended here, each sends what it holds and
    # closes, so the server stops within its grace period and clients resume.
    if STORE in app:
        await app[STORE].feed.close()


# Room for the longest request line the API's own limits allow: a 1024-character
# cache key, or four 256-character filters, at up to 12 bytes a character once
# percent-encoded. aiohttp's default (8190) answered those with a bare 400.
MAX_REQUEST_LINE = 16 * 1024

# The connection's parser would inflate gzip bodies itself, as fast as they
# arrive; vault.request_decoding does it instead, only as far as a handler reads.
HANDLER_ARGS = {"max_line_size": MAX_REQUEST_LINE, "auto_decompress": False}


def create_app(config: Config) -> web.Application:
    telemetry = Telemetry()
    app = web.Application(
        middlewares=[service_middleware(config, telemetry)],
        client_max_size=config.max_body_bytes,
        handler_args=HANDLER_ARGS,
    )
    app[CONFIG] = config
    app[TELEMETRY] = telemetry
    app[OPENAPI_JSON] = spec_json()
    app[STOPPING] = asyncio.Event()
    app[STOP_DEADLINE] = StopDeadline()
    app.on_shutdown.append(_mark_stopping)
    app.on_shutdown.append(_end_feed_streams)
    # Order matters: the store starts first and closes last, so jobs stop
    # (and finish a running job) before the store drains and closes.
    app.cleanup_ctx.append(_store_context)
    app.cleanup_ctx.append(_jobs_context)
    for table in handlers.ROUTE_TABLES:
        app.router.add_routes(table)
    return app
