"""Cache: /storage/cache/{key}, entries with a TTL."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import body_as, deleted, idempotency_claim, json_response, read_json, store_of

from vault.errors import invalid
from vault.inputs import CacheWrite
from vault.models import CacheEntry
from vault.openapi.operation import READ_ERRORS, WRITE_ERRORS, Named, Operation, deleted_reply, described, ok_reply
from vault.openapi.parameters import IDEMPOTENCY_KEY, path_id

routes = web.RouteTableDef()

MAX_KEY_LENGTH = 1024

CACHE_KEY = path_id("key", "The key; it may contain `/`.", minLength=1, maxLength=MAX_KEY_LENGTH)


def _key(request: web.Request) -> str:
    key = request.match_info["key"]
    if len(key) > MAX_KEY_LENGTH:
        raise invalid(["path", "key"], f"must be at most {MAX_KEY_LENGTH} characters")
    return key


# Registered before /{key}, so "cleanup" as a POST is this route.
@routes.post("/storage/cache/cleanup")
@described(
    Operation(
        "POST",
        "/storage/cache/cleanup",
        "cache_cleanup",
        "Delete expired entries now",
        "cache",
        ok_reply(
            Named(
                "CacheCleanup",
                {
                    "type": "object",
                    "properties": {"status": {"const": "completed"}, "deleted": {"type": "integer"}},
                    "required": ["status", "deleted"],
                },
            ),
            "How many entries were deleted.",
        ),
        description="A scheduled job does this too. No body is needed.",
        params=(IDEMPOTENCY_KEY,),
        errors=(400, 413, 415, *WRITE_ERRORS),
    ),
)
async def cleanup(request: web.Request) -> web.Response:
    raw = b""
    if request.can_read_body:
        _, raw = await read_json(request)
    count = await store_of(request).cache_cleanup(idempotency_claim(request, raw))
    return json_response({"status": "completed", "deleted": count})


@routes.get("/storage/cache/{key:.+}")
@described(
    Operation(
        "GET",
        "/storage/cache/{key}",
        "cache_get",
        "Read a cache entry",
        "cache",
        ok_reply(CacheEntry, "The entry."),
        description="An entry past its expiry is 404 at once, whether or not the cleanup job has run.",
        params=(CACHE_KEY,),
        errors=(404, 422, *READ_ERRORS),
    ),
)
async def get_entry(request: web.Request) -> web.Response:
    return json_response(await store_of(request).cache_get(_key(request)))


@routes.put("/storage/cache/{key:.+}")
@described(
    Operation(
        "PUT",
        "/storage/cache/{key}",
        "cache_set",
        "Set a cache entry",
        "cache",
        ok_reply(CacheEntry, "The entry."),
        description="`ttl` in seconds; absent or null for no expiry. Setting restarts the TTL. "
        "`key` in the body is optional and, when given, must equal the path's.",
        params=(CACHE_KEY,),
        body=CacheWrite,
        body_example={"value": {"result": "cached data"}, "ttl": 3600},
        errors=WRITE_ERRORS,
    ),
)
async def set_entry(request: web.Request) -> web.Response:
    key = _key(request)
    write, _ = await body_as(request, CacheWrite)
    if write.key is not None and write.key != key:
        raise invalid(["body", "key"], "must equal the key in the path")
    return json_response(await store_of(request).cache_set(key, write))


@routes.delete("/storage/cache/{key:.+}")
@described(
    Operation(
        "DELETE",
        "/storage/cache/{key}",
        "cache_delete",
        "Delete a cache entry",
        "cache",
        deleted_reply("CacheEntryDeleted", "key"),
        params=(CACHE_KEY,),
        errors=(404, 422, *WRITE_ERRORS),
    ),
)
async def delete_entry(request: web.Request) -> web.Response:
    key = _key(request)
    await store_of(request).cache_delete(key)
    return deleted(key=key)
