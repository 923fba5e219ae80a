"""The app factory: create_app(config) -> aiohttp Application."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

import handlers
from store.interface import Store
from store.sqlite import SQLiteStore
from vault.appkeys import CONFIG, STORE
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


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=config.max_body_bytes)
    app[CONFIG] = config
    # Order matters: the store starts first and closes last.
    app.cleanup_ctx.append(_store_context)
    for table in handlers.ROUTE_TABLES:
        app.router.add_routes(table)
    return app
