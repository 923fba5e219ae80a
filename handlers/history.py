"""History: /storage/history."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import (
    QueryReader,
    body_as,
    created_rendered,
    idempotency_claim,
    json_response,
    rendered_page_response,
    store_of,
)

from vault.errors import invalid
from vault.inputs import MessageBatch, NewMessage
from vault.models import ROLES, Message
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
from vault.openapi.parameters import IDEMPOTENCY_KEY, LIMIT, MAX_OFFSET, Param, choice, path_id, text_filter
from vault.queries import HistoryQuery

routes = web.RouteTableDef()

HISTORY_SESSION = text_filter("session_id", "The session.", required=True)


@routes.post("/storage/history")
@described(
    Operation(
        "POST",
        "/storage/history",
        "add_message",
        "Append a message",
        "history",
        created_reply(Message, "The stored message, with its `seq`."),
        params=(IDEMPOTENCY_KEY,),
        body=NewMessage,
        body_example={"session_id": "session_...", "role": "user", "content": "What is quantum computing?"},
        errors=(404, *WRITE_ERRORS),
    ),
)
async def add_message(request: web.Request) -> web.Response:
    new, raw = await body_as(request, NewMessage)
    [message] = await store_of(request).add_rendered_messages(new.session_id, [new], idempotency_claim(request, raw))
    return created_rendered(message.body, f"/storage/history/{message.id}")


@routes.post("/storage/history/batch")
@described(
    Operation(
        "POST",
        "/storage/history/batch",
        "add_messages",
        "Append messages, all or nothing",
        "history",
        created_reply(list[Message], "The stored messages, in order."),
        description="At least one message; a message may repeat the batch's `session_id` but not name another.",
        params=(IDEMPOTENCY_KEY,),
        body=MessageBatch,
        body_example={
            "session_id": "session_...",
            "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        },
        errors=(404, *WRITE_ERRORS),
    ),
)
async def add_batch(request: web.Request) -> web.Response:
    batch, raw = await body_as(request, MessageBatch)
    if not batch.messages:
        raise invalid(["body", "messages"], "must have at least one message")
    for index, item in enumerate(batch.messages):
        if item.session_id is not None and item.session_id != batch.session_id:
            raise invalid(["body", "messages", index, "session_id"], "must match the batch's session_id")
    added = await store_of(request).add_rendered_messages(
        batch.session_id, batch.messages, idempotency_claim(request, raw)
    )
    body = "[" + ",".join(message.body for message in added) + "]"
    return created_rendered(body, f"/storage/history?session_id={batch.session_id}&after={added[0].seq - 1}")


@routes.get("/storage/history")
@described(
    Operation(
        "GET",
        "/storage/history",
        "list_history",
        "Read a conversation",
        "history",
        page_reply(Message, "Messages, oldest first; a page stops once its messages reach 8 MiB."),
        description="Without a cursor: the newest `limit` messages, oldest first (the context window). "
        "`after` or `before` (a seq number or a message id) page forwards or backwards from a message; "
        "`offset` pages from the start. One cursor at a time.",
        params=(
            HISTORY_SESSION,
            LIMIT,
            text_filter("after", "The `limit` messages after this one (seq or id)."),
            text_filter("before", "The `limit` messages just before this one (seq or id)."),
            Param(
                "offset",
                "query",
                {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
                "From the start: skip this many.",
            ),
            choice("role", ROLES, "Only messages with this role."),
        ),
        errors=(404, *READ_ERRORS),
    ),
)
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
        return {"offset": query.offset + len(items)}
    # The newest window and `before=` page backwards, to older messages.
    return {"before": items[0].seq}


@routes.get("/storage/history/{message_id}")
@described(
    Operation(
        "GET",
        "/storage/history/{message_id}",
        "get_message",
        "Read a message",
        "history",
        ok_reply(Message, "The message."),
        params=(path_id("message_id", "A message id (`msg_...`)."),),
        errors=(404, *READ_ERRORS),
    ),
)
async def get_message(request: web.Request) -> web.Response:
    return json_response(await store_of(request).get_message(request.match_info["message_id"]))


@routes.delete("/storage/history")
@described(
    Operation(
        "DELETE",
        "/storage/history",
        "clear_history",
        "Clear a session's history",
        "history",
        deleted_reply("HistoryCleared", "session_id", deleted={"type": "integer", "description": "Messages deleted."}),
        description="Seq numbers are not reused.",
        params=(HISTORY_SESSION,),
        errors=(404, *WRITE_ERRORS),
    ),
)
async def clear_history(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    session_id = reader.text("session_id", required=True) or ""
    reader.done()
    count = await store_of(request).clear_history(session_id)
    return json_response({"status": "deleted", "session_id": session_id, "deleted": count})
