"""Sessions: /storage/sessions."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import (
    QueryReader,
    body_as,
    created,
    deleted,
    idempotency_claim,
    json_response,
    offset_next,
    page_response,
    store_of,
)

from vault.inputs import NewSession, SessionChanges
from vault.models import SESSION_STATUSES
from vault.queries import SessionQuery

routes = web.RouteTableDef()


@routes.post("/storage/sessions")
async def create_session(request: web.Request) -> web.Response:
    new, raw = await body_as(request, NewSession)
    session = await store_of(request).create_session(new, idempotency_claim(request, raw))
    return created(session, f"/storage/sessions/{session.id}")


@routes.get("/storage/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    query = SessionQuery(
        agent_name=reader.text("agent_name"),
        user_id=reader.text("user_id"),
        status=reader.choice("status", SESSION_STATUSES),
        limit=reader.limit(),
        offset=reader.offset(),
    )
    reader.done()
    page = await store_of(request).list_sessions(query)
    return page_response(request, page, offset_next(page, query.limit, query.offset))


@routes.get("/storage/sessions/{session_id}")
async def get_session(request: web.Request) -> web.Response:
    return json_response(await store_of(request).get_session(request.match_info["session_id"]))


@routes.put("/storage/sessions/{session_id}")
@routes.patch("/storage/sessions/{session_id}")
async def update_session(request: web.Request) -> web.Response:
    changes, _ = await body_as(request, SessionChanges)
    return json_response(await store_of(request).update_session(request.match_info["session_id"], changes))


@routes.delete("/storage/sessions/{session_id}")
async def delete_session(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    await store_of(request).delete_session(session_id)
    return deleted(session_id=session_id)
