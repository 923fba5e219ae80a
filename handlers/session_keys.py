"""Sessions found by a key their client chose: /storage/apps/{app_name}/users/{user_id}/sessions/{key}.

For frameworks that name sessions themselves, unique within an app and a user
(ADK's session ids are; vault.integrations.adk uses these routes). The session
is an ordinary one with a server-made id (`agent_name` the app, `user_id` the
user); the key only finds it. Deleting the session frees the key.
"""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import QueryReader, body_as, created, json_response, offset_next, page_response, store_of

from vault.converter import FieldRule, structure_name
from vault.errors import invalid
from vault.inputs import KeyedSessionFields, NewSession
from vault.models import KeyedSession, Session
from vault.openapi.operation import READ_ERRORS, WRITE_ERRORS, Operation, created_reply, described, ok_reply, page_reply
from vault.openapi.parameters import LIMIT, OFFSET, path_name
from vault.queries import KeyedSessionQuery

routes = web.RouteTableDef()

APP_SESSIONS = "/storage/apps/{app_name}/sessions"
USER_SESSIONS = "/storage/apps/{app_name}/users/{user_id}/sessions"
KEYED_SESSION = USER_SESSIONS + "/{key}"
APP_NAME = path_name("app_name", "An app's name: its sessions' `agent_name`.")
USER_ID = path_name("user_id", "A user id: its sessions' `user_id`.")
KEY = path_name("key", "The key the client chose, unique within the app and the user.")


def _path_names(request: web.Request) -> list[str]:
    """The path's names, each checked as a name (not only blanks, at most 256 characters)."""
    names = []
    for name, value in request.match_info.items():
        try:
            names.append(structure_name(value))
        except FieldRule as exc:
            raise invalid(["path", name], str(exc)) from None
    return names


@routes.put(KEYED_SESSION)
@described(
    Operation(
        "PUT",
        KEYED_SESSION,
        "create_keyed_session",
        "Create a session bound to a key",
        "sessions",
        created_reply(Session, "The new session, with an id the server made."),
        description="The session (`agent_name` the app, `user_id` the user) and its key are stored in one "
        "transaction. A key already bound is a 409 (`already_exists`) and no session is made: of two creates "
        "racing for one key, one gets the 201.",
        params=(APP_NAME, USER_ID, KEY),
        body=KeyedSessionFields,
        body_example={"metadata": {"source": "adk"}},
        errors=(409, *WRITE_ERRORS),
    ),
)
async def create_keyed_session(request: web.Request) -> web.Response:
    app_name, user_id, key = _path_names(request)
    fields, _ = await body_as(request, KeyedSessionFields)
    new = NewSession(agent_name=app_name, user_id=user_id, status=fields.status, metadata=fields.metadata)
    session = await store_of(request).create_keyed_session(key, new)
    return created(session, f"/storage/sessions/{session.id}")


@routes.get(KEYED_SESSION)
@described(
    Operation(
        "GET",
        KEYED_SESSION,
        "get_keyed_session",
        "Read the session bound to a key",
        "sessions",
        ok_reply(Session, "The session; its own routes (/storage/sessions/{id}) read and change it."),
        params=(APP_NAME, USER_ID, KEY),
        errors=(404, *READ_ERRORS),
    ),
)
async def get_keyed_session(request: web.Request) -> web.Response:
    app_name, user_id, key = _path_names(request)
    return json_response(await store_of(request).get_keyed_session(app_name, user_id, key))


def _list_operation(path: str, scope: str, params: tuple) -> Operation:
    return Operation(
        "GET",
        path,
        f"list_keyed_sessions_of_{scope}",
        f"List the keyed sessions of {'an app' if scope == 'app' else 'a user'}",
        "sessions",
        page_reply(KeyedSession, "Each key with its session, by user id then key."),
        params=(*params, LIMIT, OFFSET),
        errors=READ_ERRORS,
    )


@routes.get(APP_SESSIONS)
@routes.get(USER_SESSIONS)
@described(
    _list_operation(APP_SESSIONS, "app", (APP_NAME,)), _list_operation(USER_SESSIONS, "user", (APP_NAME, USER_ID))
)
async def list_keyed_sessions(request: web.Request) -> web.Response:
    names = _path_names(request)
    reader = QueryReader(request)
    query = KeyedSessionQuery(
        app_name=names[0], user_id=names[1] if len(names) > 1 else None, limit=reader.limit(), offset=reader.offset()
    )
    reader.done()
    page = await store_of(request).list_keyed_sessions(query)
    return await page_response(request, page, offset_next(page, query.limit, query.offset))
