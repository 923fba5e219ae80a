"""The API's own description: /openapi.json, and /docs, a page that renders it.

Both come from the package itself, with nothing fetched from elsewhere: the
service often runs where there is no internet.
"""

from __future__ import annotations

import functools
from importlib import resources

from aiohttp import web

routes = web.RouteTableDef()


@functools.cache
def _docs_page() -> bytes:
    return resources.files("vault.openapi").joinpath("docs.html").read_bytes()


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    # Imported here: the route table in vault.openapi reads limits from the
    # handler modules, so importing it while `handlers` loads would be circular.
    from vault.openapi.spec import spec_json

    return web.Response(body=spec_json(), content_type="application/json")


@routes.get("/docs")
async def docs(request: web.Request) -> web.Response:
    return web.Response(body=_docs_page(), content_type="text/html", charset="utf-8")
