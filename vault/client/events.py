"""The change feed from the client's side: Server-Sent Events read line by line, resumed by id.

`follow` keeps one stream open at a time. When it ends (the service closed
it: a restart, or this reader fell behind) or breaks, the next one starts
from the last event received (`Last-Event-ID`), so the caller sees every
event once, in order, however often the connection is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp

from vault.client import wire
from vault.client.transport import Answer, Call
from vault.models import Event

EVENT_STREAM = "text/event-stream"
# Events read ahead of the caller; beyond it, reading pauses (and the service may close a slow stream).
READ_AHEAD = 256
# Between one stream's end and the next request: a stream that ends at once never turns into a busy loop.
RECONNECT_SECONDS = 0.2
_END = object()

Send = Callable[[Call], Awaitable[Answer]]


async def _read_stream(response: aiohttp.ClientResponse, put: Callable[[Any], Awaitable[None]]) -> None:
    """Each event of the stream, as its `data:` JSON, passed to `put`; comments skipped."""
    data: list[str] = []
    async for raw in response.content:
        line = raw.decode("utf-8").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "" and data:
            await put(wire.decode_json("\n".join(data).encode()))
            data = []


async def follow(send: Send, params: dict[str, str], after: str | None) -> AsyncIterator[Event]:
    cursor = after
    while True:
        received: asyncio.Queue[Any] = asyncio.Queue(READ_AHEAD)
        sink = partial(_into, received)
        headers = {"Accept": EVENT_STREAM}
        query = dict(params)
        if cursor == "now":
            query["after"] = "now"
        elif cursor is not None:
            headers["Last-Event-ID"] = cursor
        call = Call("GET", "/storage/events", params=query, headers=headers, sink=sink, streaming=True)
        streaming = asyncio.ensure_future(send(call))
        try:
            while (item := await _next(received, streaming)) is not _END:
                event = wire.structure(item, Event)
                cursor = event.id
                yield event
        finally:
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming
        await asyncio.sleep(RECONNECT_SECONDS)


async def _into(received: asyncio.Queue[Any], response: aiohttp.ClientResponse) -> None:
    """Read the stream into `received`, then the end mark."""
    try:
        await _read_stream(response, received.put)
    except (aiohttp.ClientError, TimeoutError):
        pass  # the stream broke: the next one resumes from the last event received
    finally:
        await received.put(_END)


async def _next(received: asyncio.Queue[Any], streaming: asyncio.Future) -> Any:
    """The next item of the stream; if the request failed before streaming, its error."""
    getting = asyncio.ensure_future(received.get())
    await asyncio.wait({getting, streaming}, return_when=asyncio.FIRST_COMPLETED)
    if getting.done():
        return getting.result()
    getting.cancel()
    if not received.empty():
        return received.get_nowait()
    answer = streaming.result()  # raises the call's error (a 410, say)
    if not answer.ok:
        raise wire.error_from_answer(answer.status, answer.headers, answer.body)
    return _END
