"""The console: /ui, a read-only page over what the agents stored.

The page, its scripts and its styles come from the package (vault/console/),
with nothing fetched from elsewhere. Every view has an address of its own
(/ui/sessions/{id}, ...): the page routes on the client side, so the server
answers the same page for any /ui/... address and the script draws the view.

The page and its assets are open even when API keys are set (vault.security):
a browser opening /ui cannot send a Bearer header with a navigation, and
nothing here holds stored data. The page asks for a key and sends it with
every call it makes to /storage/..., which needs one as always.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web
from attrs import frozen

from vault.errors import ApiError
from vault.openapi.operation import Operation, Reply, described
from vault.openapi.parameters import path_id

routes = web.RouteTableDef()

CONSOLE_PATH = "/ui"
ASSETS_PATH = "/ui/assets"
SHELL = "index.html"

# Only the console's own files run or load; stored data may be shown as images
# only through blob: URLs of authenticated fetches (or data: URLs); no page may
# frame the console (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated each time (a 304 when unchanged): an upgraded service never runs old scripts.
    "Cache-Control": "no-cache",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


class AssetNotFound(ApiError):
    status = 404
    code = "not_found"


@frozen
class Asset:
    body: bytes
    content_type: str
    etag: str


def _content_type(name: str) -> str:
    suffix = name[name.rfind(".") :]
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _walk(folder: Traversable, prefix: str = "") -> dict[str, Asset]:
    found = {}
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            found.update(_walk(entry, name + "/"))
        elif not entry.name.startswith("."):
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            found[name] = Asset(body, _content_type(name), etag)
    return found


@functools.cache
def console_assets() -> dict[str, Asset]:
    """Every file of vault/console/ by its path there; a request can name only these (no path is opened)."""
    return _walk(resources.files("vault").joinpath("console"))


def _answer(request: web.Request, asset: Asset) -> web.Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    if asset.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers={**headers, "Content-Type": asset.content_type})


SHELL_REPLY = Reply(
    200,
    "The console's page; the same for every view, which its script draws from the address.",
    media_type="text/html",
    schema={"type": "string"},
)
NOT_MODIFIED = Reply(304, "The copy the browser holds (If-None-Match) is current; no body.", media_type="*/*")


@routes.get(ASSETS_PATH + "/{asset:.+}")
@described(
    Operation(
        "GET",
        ASSETS_PATH + "/{asset}",
        "console_asset",
        "A script, style or image of the console",
        "console",
        Reply(200, "The file, from the package.", media_type="*/*", schema={"type": "string"}),
        params=(path_id("asset", "The file's path in the console's folder, e.g. `app.js`."),),
        errors=(404,),
        needs_key=False,
        extra_replies=(NOT_MODIFIED,),
    ),
)
async def console_asset(request: web.Request) -> web.Response:
    asset = console_assets().get(request.match_info["asset"])
    if asset is None:
        raise AssetNotFound("the console has no such file")
    return _answer(request, asset)


@routes.get(CONSOLE_PATH)
@described(
    Operation(
        "GET",
        CONSOLE_PATH,
        "console",
        "The console",
        "console",
        SHELL_REPLY,
        description="A read-only web console: sessions, conversations, state, artifacts, metrics and "
        "operations. The page holds no stored data, so it is open; the calls it makes need the key.",
        needs_key=False,
        extra_replies=(NOT_MODIFIED,),
    ),
)
async def console(request: web.Request) -> web.Response:
    return _answer(request, console_assets()[SHELL])


@routes.get(CONSOLE_PATH + "/{view:.*}")
@described(
    Operation(
        "GET",
        CONSOLE_PATH + "/{view}",
        "console_view",
        "A view of the console, opened directly",
        "console",
        SHELL_REPLY,
        description="Any address under /ui (`/ui/sessions/{id}`, `/ui/metrics`, ...) answers the console's "
        "page, whose script shows that view.",
        params=(path_id("view", "The view's address under /ui, e.g. `sessions/session_0661...`."),),
        needs_key=False,
        extra_replies=(NOT_MODIFIED,),
    ),
)
async def console_view(request: web.Request) -> web.Response:
    return _answer(request, console_assets()[SHELL])
