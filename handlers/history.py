"""History: /storage/history."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import (
    QueryReader,
    body_as,
    created,
    idempotency_claim,
    json_response,
    rendered_page_response,
    store_of,
)

from vault.errors import invalid
from vault.inputs import MessageBatch, NewMessage
from vault.models import ROLES
from vault.queries import HistoryQuery

routes = web.RouteTableDef()


@routes.post("/storage/history")
async def add_message(request: web.Request) -> web.Response:
    new, raw = await body_as(request, NewMessage)
    [message] = await store_of(request).add_messages(new.session_id, [new], idempotency_claim(request, raw))
    return created(message, f"/storage/history/{message.id}")


@routes.post("/storage/history/batch")
async def add_batch(request: web.Request) -> web.Response:
    batch, raw = await body_as(request, MessageBatch)
    if not batch.messages:
        raise invalid(["body", "messages"], "must have at least one message")
    for index, item in enumerate(batch.messages):
        if item.session_id is not None and item.session_id != batch.session_id:
            raise invalid(["body", "messages", index, "session_id"], "must match the batch's session_id")
    added = await store_of(request).add_messages(batch.session_id, batch.messages, idempotency_claim(request, raw))
    return created(added, f"/storage/history?session_id={batch.session_id}&after={added[0].seq - 1}")


@routes.get("/storage/history")
async def list_history(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    query = HistoryQuery(
        session_id=reader.text("session_id", required=True) or "",
        limit=reader.limit(),
        after=reader.text("after"),
        before=reader.text("before"),
        offset=reader.integer("offset", None, 0, 2**62),
        role=reader.choice("role", ROLES),
    )
    reader.done()
    cursors = [name for name in ("after", "before", "offset") if getattr(query, name) is not None]
    if len(cursors) > 1:
        raise invalid(["query", cursors[1]], f"cannot be combined with {cursors[0]}")
    page = await store_of(request).list_message_bodies(query)
    return rendered_page_response(request, page, _next_page(query, page.items))


def _next_page(query: HistoryQuery, items: list) -> dict | None:
    if not items:
        return None
    if query.after is not None:
        return {"after": items[-1].seq}
    if query.offset is not None:
        return {"offset": query.offset + query.limit}
    # The newest window and `before=` page backwards, to older messages.
    return {"before": items[0].seq}


@routes.get("/storage/history/{message_id}")
async def get_message(request: web.Request) -> web.Response:
    return json_response(await store_of(request).get_message(request.match_info["message_id"]))


@routes.delete("/storage/history")
async def clear_history(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    session_id = reader.text("session_id", required=True) or ""
    reader.done()
    count = await store_of(request).clear_history(session_id)
    return json_response({"status": "deleted", "session_id": session_id, "deleted": count})
