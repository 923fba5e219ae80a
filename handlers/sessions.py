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
from vault.models import SESSION_STATUSES, Session
from vault.openapi.operation import (
    READ_ERRORS,
    WRITE_ERRORS,
    Operation,
    created_reply,
    deleted_reply,
    described,
    ok_reply,
    page_reply,
)
from vault.openapi.parameters import IDEMPOTENCY_KEY, LIMIT, OFFSET, SESSION_ID, choice, text_filter
from vault.queries import SessionQuery

routes = web.RouteTableDef()

SESSION_CHANGES = dict(
    path="/storage/sessions/{session_id}",
    tag="sessions",
    reply=ok_reply(Session, "The session as it is now."),
    description="Given fields change; `metadata` merges key by key into the stored one (a key set to null "
    "is removed). PUT and PATCH do the same. Metadata that would be over VAULT_MAX_DOCUMENT_BYTES once merged "
    "is a 413 (`document_too_large`) and nothing changes.",
    params=(SESSION_ID,),
    body=SessionChanges,
    body_example={"status": "ended"},
    errors=(404, *WRITE_ERRORS),
)


@routes.post("/storage/sessions")
@described(
    Operation(
        "POST",
        "/storage/sessions",
        "create_session",
        "Create a session",
        "sessions",
        created_reply(Session, "The new session."),
        params=(IDEMPOTENCY_KEY,),
        body=NewSession,
        body_example={"agent_name": "research_orchestrator", "user_id": "user_123", "metadata": {"source": "docs"}},
        errors=WRITE_ERRORS,
    ),
)
async def create_session(request: web.Request) -> web.Response:
    new, raw = await body_as(request, NewSession)
    session = await store_of(request).create_session(new, idempotency_claim(request, raw))
    return created(session, f"/storage/sessions/{session.id}")


@routes.get("/storage/sessions")
@described(
    Operation(
        "GET",
        "/storage/sessions",
        "list_sessions",
        "List sessions, newest first",
        "sessions",
        page_reply(Session, "Sessions, newest first; a page stops once its metadata reaches 8 MiB."),
        params=(
            text_filter("agent_name", "Only this agent's sessions."),
            text_filter("user_id", "Only this user's sessions."),
            choice("status", SESSION_STATUSES, "Only sessions with this status."),
            LIMIT,
            OFFSET,
        ),
        errors=READ_ERRORS,
    ),
)
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
    return await page_response(request, page, offset_next(page, query.limit, query.offset))


@routes.get("/storage/sessions/{session_id}")
@described(
    Operation(
        "GET",
        "/storage/sessions/{session_id}",
        "get_session",
        "Read a session",
        "sessions",
        ok_reply(Session, "The session."),
        params=(SESSION_ID,),
        errors=(404, *READ_ERRORS),
    ),
)
async def get_session(request: web.Request) -> web.Response:
    return json_response(await store_of(request).get_session(request.match_info["session_id"]))


@routes.put("/storage/sessions/{session_id}")
@routes.patch("/storage/sessions/{session_id}")
@described(
    Operation("PUT", operation_id="update_session", summary="Change a session", **SESSION_CHANGES),
    Operation("PATCH", operation_id="patch_session", summary="Change a session (same as PUT)", **SESSION_CHANGES),
)
async def update_session(request: web.Request) -> web.Response:
    changes, _ = await body_as(request, SessionChanges)
    return json_response(await store_of(request).update_session(request.match_info["session_id"], changes))


@routes.delete("/storage/sessions/{session_id}")
@described(
    Operation(
        "DELETE",
        "/storage/sessions/{session_id}",
        "delete_session",
        "Delete a session and everything it owns",
        "sessions",
        deleted_reply("SessionDeleted", "session_id"),
        description="History, state, artifacts with their stored content and metrics go too, atomically.",
        params=(SESSION_ID,),
        errors=(404, *WRITE_ERRORS),
    ),
)
async def delete_session(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    await store_of(request).delete_session(session_id)
    return deleted(session_id=session_id)
