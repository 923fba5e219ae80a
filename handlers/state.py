"""State: /storage/state/{session_id}, versioned with ETag and If-Match."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import body_as, if_match, json_response, store_of

from vault.inputs import StateBody
from vault.models import State
from vault.openapi.operation import READ_ERRORS, WRITE_ERRORS, Operation, Reply, deleted_reply, described, ok_reply
from vault.openapi.parameters import IF_MATCH, SESSION_ID

routes = web.RouteTableDef()

STATE_PATH = "/storage/state/{session_id}"

STATE_REPLY = ok_reply(State, "The state; `ETag` is its version.", "ETag")


def _state_response(state: State) -> web.Response:
    return json_response(state, headers={"ETag": f'"{state.version}"'})


@routes.get("/storage/state/{session_id}")
@described(
    Operation(
        "GET",
        STATE_PATH,
        "get_state",
        "Read a session's state",
        "state",
        STATE_REPLY,
        description="A session with no state yet has `data: {}` and `version: 0`.",
        params=(SESSION_ID,),
        errors=(404, *READ_ERRORS),
    ),
)
async def get_state(request: web.Request) -> web.Response:
    return _state_response(await store_of(request).get_state(request.match_info["session_id"]))


@routes.put("/storage/state/{session_id}")
@described(
    Operation(
        "PUT",
        STATE_PATH,
        "put_state",
        "Replace a session's state",
        "state",
        STATE_REPLY,
        description="`version` goes up by one.",
        params=(SESSION_ID, IF_MATCH),
        body=StateBody,
        body_example={"data": {"context": "quantum computing research", "memory": ["fact1"]}},
        errors=(404, 412, *WRITE_ERRORS),
    ),
)
async def put_state(request: web.Request) -> web.Response:
    body, _ = await body_as(request, StateBody)
    expected = if_match(request)
    return _state_response(await store_of(request).put_state(request.match_info["session_id"], body.data, expected))


@routes.patch("/storage/state/{session_id}")
@described(
    Operation(
        "PATCH",
        STATE_PATH,
        "patch_state",
        "Merge into a session's state",
        "state",
        STATE_REPLY,
        description="`data` is a JSON merge patch (RFC 7396) applied atomically: concurrent partial updates "
        "never lose each other. A key set to null is removed. Data that would be over VAULT_MAX_DOCUMENT_BYTES "
        "once patched is a 413 (`document_too_large`) and nothing changes.",
        params=(SESSION_ID, IF_MATCH),
        body=StateBody,
        body_example={"data": {"memory": ["fact1", "fact2"], "context": None}},
        errors=(404, 412, *WRITE_ERRORS),
    ),
)
async def patch_state(request: web.Request) -> web.Response:
    body, _ = await body_as(request, StateBody)
    expected = if_match(request)
    return _state_response(await store_of(request).patch_state(request.match_info["session_id"], body.data, expected))


@routes.delete("/storage/state/{session_id}")
@described(
    Operation(
        "DELETE",
        STATE_PATH,
        "delete_state",
        "Empty a session's state",
        "state",
        Reply(200, "Emptied; the version still moves on.", deleted_reply("StateDeleted", "session_id").body, ("ETag",)),
        params=(SESSION_ID, IF_MATCH),
        errors=(404, 412, *WRITE_ERRORS),
    ),
)
async def delete_state(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    state = await store_of(request).delete_state(session_id, if_match(request))
    return json_response({"status": "deleted", "session_id": session_id}, headers={"ETag": f'"{state.version}"'})
