"""The change feed: /storage/events, every committed write as an event, live (SSE) or as a list."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web
from vault.handlers.common import QueryReader, store_of
from vault.store.core.events import EVENT_TYPES, EventFilter, FeedEvent
from vault.store.core.feed_cursor import event_id, number_of

from vault.appkeys import STOPPING
from vault.models import Event
from vault.openapi.operation import READ_ERRORS, Operation, Reply, described
from vault.openapi.parameters import LIMIT, Param, text_filter

routes = web.RouteTableDef()

EVENT_STREAM = "text/event-stream"
# A comment line at least this often keeps proxies from closing an idle stream.
KEEP_ALIVE_SECONDS = 15.0
MAX_WAIT_SECONDS = 60

EVENT_ID = {"type": "string", "pattern": "^[0-9]{20}$", "examples": ["00000000000000000042"]}
AFTER = Param(
    "after",
    "query",
    {"type": "string", "pattern": "^(now|[0-9]{20})$", "examples": ["now", "00000000000000000042"]},
    "Start after this event id; `now`: after the newest event. Without it (and without `Last-Event-ID`), "
    "from the oldest event kept.",
)
_ONE_TYPE = "|".join(name.replace(".", "\\.") for name in EVENT_TYPES)
TYPES = Param(
    "types",
    "query",
    {"type": "string", "pattern": f"^({_ONE_TYPE})(,({_ONE_TYPE}))*$", "examples": ["message.created,session.deleted"]},
    f"Only these event types, comma-separated: {', '.join(EVENT_TYPES)}.",
)
WAIT = Param(
    "wait",
    "query",
    {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_SECONDS, "default": 0},
    "JSON form: seconds to wait for an event when there is none yet.",
)
LAST_EVENT_ID = Param(
    "Last-Event-ID",
    "header",
    EVENT_ID,
    "The last event the client received (sent by EventSource on reconnect); wins over `after`.",
)


EVENT_CURSOR = "Vault-Event-Cursor"


@routes.get("/storage/events")
@described(
    Operation(
        "GET",
        "/storage/events",
        "events",
        "Change feed: every committed write as an event",
        "events",
        Reply(
            200,
            "With `Accept: text/event-stream`: Server-Sent Events (`id:`, `event:` the type, `data:` the event as"
            " JSON), each committed event exactly once and in commit order, a `:` comment line at least every"
            f" {int(KEEP_ALIVE_SECONDS)} s. Otherwise a plain JSON array of the events after the cursor"
            " (at most `limit`, oldest first), waiting up to `wait` seconds for one, with `Vault-Event-Cursor`.",
            list[Event],
            headers=(EVENT_CURSOR,),
        ),
        description="Event types: " + ", ".join(f"`{name}`" for name in EVENT_TYPES) + ". `data` is the record as a"
        " read answers it, absent for a deletion. Retention's own deletions record no events. A stream that reads"
        " too slowly is closed; resume it with `Last-Event-ID`.",
        params=(
            text_filter("session_id", "Only this session's events."),
            TYPES,
            AFTER,
            LIMIT,
            WAIT,
            LAST_EVENT_ID,
        ),
        errors=(410, *READ_ERRORS),
        extra_replies=(Reply(200, "The live stream.", media_type=EVENT_STREAM, schema={"type": "string"}),),
    ),
)
async def events(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    reader = QueryReader(request)
    only = EventFilter(reader.text("session_id"), reader.listed("types", EVENT_TYPES))
    rule = "must be an event id this feed gave, or now"
    after = reader.checked("after", lambda value: value == "now" or store.valid_event_id(value), rule)
    limit = reader.limit()
    wait = reader.integer("wait", 0, 0, MAX_WAIT_SECONDS) or 0
    last_seen = request.headers.get("Last-Event-ID")
    if last_seen is not None:
        # Given, even empty, it must be an event id: EventSource sends one only once it has one.
        after = last_seen
        if not store.valid_event_id(last_seen):
            reader.errors.append({"loc": ["header", "Last-Event-ID"], "msg": "must be an event id this feed gave"})
    reader.done()
    start = await store.resume_point(after)
    if EVENT_STREAM in request.headers.get("Accept", ""):
        return await _stream(request, start, only)
    return await _list(request, start, only, limit, wait)


async def _list(request: web.Request, start: str, only: EventFilter, limit: int, wait: int) -> web.Response:
    store = store_of(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    with store.feed.waiting():
        while True:
            # Taken before the read: events read by the feed after it set it, so none is waited past.
            arrival = store.feed.arrival
            found = await store.read_events(start, limit, only)
            remaining = deadline - loop.time()
            if found or remaining <= 0 or request.app[STOPPING].is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrival.wait(), remaining)
    body = "[" + ",".join(event.json() for event in found) + "]"
    # Where the next request starts: an empty answer to after=now still moves the client past `now`.
    cursor = found[-1].id if found else event_id(number_of(start))
    return web.Response(body=body.encode(), content_type="application/json", headers={EVENT_CURSOR: cursor})


def _frame(event: FeedEvent) -> bytes:
    return f"id: {event.id}\nevent: {event.type}\ndata: {event.json()}\n\n".encode()


async def _stream(request: web.Request, start: str, only: EventFilter) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": EVENT_STREAM, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    await response.write(b": connected\n\n")
    pages = store_of(request).feed.subscribe(start, only, KEEP_ALIVE_SECONDS)
    try:
        async for page in pages:
            if page:
                await response.write(b"".join(_frame(event) for event in page))
            else:
                await response.write(b": keep-alive\n\n")
    except ConnectionResetError:
        pass  # the client went away; it resumes with Last-Event-ID
    finally:
        await pages.aclose()
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response
