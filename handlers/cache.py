"""Cache: /storage/cache/{key}, entries with a TTL."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import body_as, deleted, idempotency_claim, json_response, read_json, store_of

from vault.errors import invalid
from vault.inputs import CacheWrite

routes = web.RouteTableDef()

MAX_KEY_LENGTH = 1024


def _key(request: web.Request) -> str:
    key = request.match_info["key"]
    if len(key) > MAX_KEY_LENGTH:
        raise invalid(["path", "key"], f"must be at most {MAX_KEY_LENGTH} characters")
    return key


# Registered before /{key}, so "cleanup" as a POST is this route.
@routes.post("/storage/cache/cleanup")
async def cleanup(request: web.Request) -> web.Response:
    raw = b""
    if request.can_read_body:
        _, raw = await read_json(request)
    count = await store_of(request).cache_cleanup(idempotency_claim(request, raw))
    return json_response({"status": "completed", "deleted": count})


@routes.get("/storage/cache/{key:.+}")
async def get_entry(request: web.Request) -> web.Response:
    return json_response(await store_of(request).cache_get(_key(request)))


@routes.put("/storage/cache/{key:.+}")
async def set_entry(request: web.Request) -> web.Response:
    key = _key(request)
    write, _ = await body_as(request, CacheWrite)
    if write.key is not None and write.key != key:
        raise invalid(["body", "key"], "must equal the key in the path")
    return json_response(await store_of(request).cache_set(key, write))


@routes.delete("/storage/cache/{key:.+}")
async def delete_entry(request: web.Request) -> web.Response:
    key = _key(request)
    await store_of(request).cache_delete(key)
    return deleted(key=key)
