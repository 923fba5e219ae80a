"""The ceiling: a bare aiohttp app that parses what The Vault parses and stores nothing.

POST/PUT/PATCH parse the JSON body and answer with a small JSON object
(201 for POST); GET /list answers a fixed list of 50 messages, GET /small a
small object the size of a cache entry, both serialized once at start-up. Run: python bench/ceiling.py PORT
"""

from __future__ import annotations

import json
import sys

from aiohttp import web

MESSAGE = {
    "id": "msg_0661000000000000000000",
    "session_id": "session_0661000000000000000000",
    "seq": 1,
    "role": "user",
    "content": "x" * 300,
    "name": None,
    "tool_calls": None,
    "tool_call_id": None,
    "metadata": {},
    "timestamp": "2026-11-26T08:47:53.123456+00:00",
}
FIFTY = [dict(MESSAGE, seq=seq) for seq in range(1, 51)]
SMALL = {
    "key": "k1",
    "value": {"result": "cached data"},
    "ttl": 3600,
    "created_at": MESSAGE["timestamp"],
    "accessed_at": MESSAGE["timestamp"],
    "expires_at": MESSAGE["timestamp"],
}


async def write(request: web.Request) -> web.Response:
    body = await request.json()
    status = 201 if request.method == "POST" else 200
    return web.json_response({"id": "msg_0661000000000000000000", "seq": 1, "received": len(body)}, status=status)


# Serialized once: the list is fixed, so the ceiling does no per-request encoding.
FIFTY_BODY = json.dumps(FIFTY).encode()
SMALL_BODY = json.dumps(SMALL).encode()


async def fifty(request: web.Request) -> web.Response:
    return web.Response(body=FIFTY_BODY, content_type="application/json")


async def small(request: web.Request) -> web.Response:
    return web.Response(body=SMALL_BODY, content_type="application/json")


def main() -> None:
    app = web.Application(client_max_size=16 * 2**20)
    app.router.add_get("/list", fifty)
    app.router.add_get("/small", small)
    app.router.add_get("/health", small)
    app.router.add_route("*", "/{tail:.*}", write)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
