"""State beside a session's: an app's (/storage/state/apps/{app_name}) and a user's within it
(/storage/state/apps/{app_name}/users/{user_id}), versioned as a session's state is."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import body_as, if_match, json_response, store_of

from vault.inputs import StateBody
from vault.models import ScopedState
from vault.openapi.operation import READ_ERRORS, WRITE_ERRORS, Operation, described, ok_reply
from vault.openapi.parameters import IF_MATCH, path_id

routes = web.RouteTableDef()

APP_PATH = "/storage/state/apps/{app_name}"
USER_PATH = APP_PATH + "/users/{user_id}"
APP_NAME = path_id("app_name", "An app's name, as its sessions' `agent_name`.")
USER_ID = path_id("user_id", "A user id, as its sessions' `user_id`.")
REPLY = ok_reply(ScopedState, "The state; `ETag` is its version.", "ETag")

# Each method's summary and what it adds to its description; the same for both scopes.
METHODS = {
    "GET": ("Read", "get", "A scope never written has `data: {}` and `version: 0`.", False),
    "PUT": ("Replace", "put", "`version` goes up by one.", True),
    "PATCH": (
        "Merge into",
        "patch",
        "`data` is a JSON merge patch (RFC 7396) applied atomically; a key set to null is removed.",
        True,
    ),
    "DELETE": ("Empty", "delete", "The data becomes `{}`; the version still moves on.", False),
}


def _operations(path: str, scope: str, params: tuple) -> tuple[Operation, ...]:
    described_ops = []
    for method, (verb, name, text, has_body) in METHODS.items():
        reads = method == "GET"
        described_ops.append(
            Operation(
                method,
                path,
                f"{name}_{scope}_state",
                f"{verb} {'an app' if scope == 'app' else 'a user'}'s state",
                "state",
                REPLY,
                description=f"{text} Kept in the main database, whatever VAULT_STATE_URL says.",
                params=params if reads else (*params, IF_MATCH),
                body=StateBody if has_body else None,
                body_example={"data": {"theme": "dark"}} if has_body else None,
                errors=READ_ERRORS if reads else (412, *WRITE_ERRORS),
            )
        )
    return tuple(described_ops)


def _scope(request: web.Request) -> tuple[str, str | None]:
    return request.match_info["app_name"], request.match_info.get("user_id")


def _response(state: ScopedState) -> web.Response:
    return json_response(state, headers={"ETag": f'"{state.version}"'})


@routes.get(APP_PATH)
@routes.get(USER_PATH)
@routes.put(APP_PATH)
@routes.put(USER_PATH)
@routes.patch(APP_PATH)
@routes.patch(USER_PATH)
@routes.delete(APP_PATH)
@routes.delete(USER_PATH)
@described(*_operations(APP_PATH, "app", (APP_NAME,)), *_operations(USER_PATH, "user", (APP_NAME, USER_ID)))
async def scoped_state(request: web.Request) -> web.Response:
    store = store_of(request)
    app_name, user_id = _scope(request)
    if request.method == "GET":
        return _response(await store.get_scoped_state(app_name, user_id))
    if request.method == "DELETE":
        return _response(await store.delete_scoped_state(app_name, user_id, if_match(request)))
    body, _ = await body_as(request, StateBody)
    expected = if_match(request)
    if request.method == "PUT":
        return _response(await store.put_scoped_state(app_name, user_id, body.data, expected))
    return _response(await store.patch_scoped_state(app_name, user_id, body.data, expected))
