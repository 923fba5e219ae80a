"""Service routes: liveness."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import json_response, store_of
from vault.store.errors import StoreError

from vault import __version__
from vault.appkeys import TELEMETRY
from vault.errors import error_response

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return json_response(
        {
            "status": "healthy",
            "service": "storage_service",
            "version": __version__,
            "backend": store_of(request).backend,
        }
    )


@routes.get("/ready")
async def ready(request: web.Request) -> web.Response:
    """200 only when the database answers a read and the writer runs."""
    try:
        await store_of(request).ping()
    except StoreError as exc:
        return error_response(503, "not_ready", str(exc), headers={"Retry-After": "5"})
    return json_response({"status": "ready", "backend": store_of(request).backend})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = request.app[TELEMETRY].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
