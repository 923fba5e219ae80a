"""The app factory: create_app(config) -> aiohttp Application."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

import handlers
from jobs.wiring import build_jobs
from store.interface import Store
from store.sqlite import SQLiteStore
from vault.appkeys import CONFIG, JOBS, STORE
from vault.config import Config
from vault.middleware import errors_middleware


def build_store(config: Config) -> Store:
    return SQLiteStore(
        config.db_path,
        synchronous=config.sqlite_synchronous,
        queue_max=config.queue_max,
        batch_max=config.write_batch_max,
        read_connections=config.read_connections,
    )


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    store = build_store(app[CONFIG])
    await store.start()
    app[STORE] = store
    yield
    await store.close()


async def _jobs_context(app: web.Application) -> AsyncIterator[None]:
    runner = build_jobs(app[CONFIG], app[STORE])
    app[JOBS] = runner
    runner.start()
    yield
    await runner.stop()


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=config.max_body_bytes)
    app[CONFIG] = config
    # Order matters: the store starts first and closes last, so jobs stop
    # (and finish a running job) before the store drains and closes.
    app.cleanup_ctx.append(_store_context)
    app.cleanup_ctx.append(_jobs_context)
    for table in handlers.ROUTE_TABLES:
        app.router.add_routes(table)
    return app
