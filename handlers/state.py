"""State: /storage/state/{session_id}, versioned with ETag and If-Match."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import body_as, if_match, json_response, store_of

from vault.inputs import StateBody
from vault.models import State

routes = web.RouteTableDef()


def _state_response(state: State) -> web.Response:
    return json_response(state, headers={"ETag": f'"{state.version}"'})


@routes.get("/storage/state/{session_id}")
async def get_state(request: web.Request) -> web.Response:
    return _state_response(await store_of(request).get_state(request.match_info["session_id"]))


@routes.put("/storage/state/{session_id}")
async def put_state(request: web.Request) -> web.Response:
    body, _ = await body_as(request, StateBody)
    expected = if_match(request)
    return _state_response(await store_of(request).put_state(request.match_info["session_id"], body.data, expected))


@routes.patch("/storage/state/{session_id}")
async def patch_state(request: web.Request) -> web.Response:
    body, _ = await body_as(request, StateBody)
    expected = if_match(request)
    return _state_response(await store_of(request).patch_state(request.match_info["session_id"], body.data, expected))


@routes.delete("/storage/state/{session_id}")
async def delete_state(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    state = await store_of(request).delete_state(session_id, if_match(request))
    return json_response({"status": "deleted", "session_id": session_id}, headers={"ETag": f'"{state.version}"'})
