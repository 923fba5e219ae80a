"""The API's own description: /openapi.json, and /docs, a page that renders it.

Both come from the package itself, with nothing fetched from elsewhere: the
service often runs where there is no internet. The document is assembled above
the handlers (vault.openapi.spec, from every handler module's descriptions), so
the app factory hands it over under OPENAPI_JSON.
"""

from __future__ import annotations

import functools
from importlib import resources

from aiohttp import web

from vault.appkeys import OPENAPI_JSON
from vault.openapi.operation import Operation, Reply, described

routes = web.RouteTableDef()


@functools.cache
def _docs_page() -> bytes:
    return resources.files("vault.openapi").joinpath("docs.html").read_bytes()


@routes.get("/openapi.json")
@described(
    Operation(
        "GET",
        "/openapi.json",
        "openapi",
        "This description",
        "service",
        Reply(200, "OpenAPI 3.1.", schema={"type": "object"}),
    ),
)
async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_JSON], content_type="application/json")


@routes.get("/docs")
@described(
    Operation(
        "GET",
        "/docs",
        "docs",
        "This page",
        "service",
        Reply(200, "An HTML page that renders /openapi.json.", media_type="text/html", schema={"type": "string"}),
    ),
)
async def docs(request: web.Request) -> web.Response:
    return web.Response(body=_docs_page(), content_type="text/html", charset="utf-8")
