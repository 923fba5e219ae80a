"""Service routes: liveness."""

from __future__ import annotations

from aiohttp import web

from handlers.common import json_response, store_of
from vault import __version__

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
