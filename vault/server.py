"""Serving the app: bind, say so, stop on SIGTERM and say how long it took.

aiohttp's `run_app` cannot be given a runner, and the runner is where the
connection class is chosen: a request that aiohttp's parser refuses (a request
line over the limit, a malformed header) is answered by the
connection before any middleware runs, as plain text that quotes the request.
VaultRunner's connections answer those as the contract's JSON error instead.

aiohttp has no setting for the connection class, so this leans on two of its
private names: the runner's `_make_server` step (the one its own runners
override) and the `_loop` and `_kwargs` a web.Server keeps to build each
connection. tests/http/test_protocol_errors.py fails if either changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMethod,
    ContentEncodingError,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
)

from vault import collector, jsonutil, logs
from vault.appkeys import STOP_DEADLINE

log = logging.getLogger("vault")

# Each refusal of the parser, most specific first: status, code, and a detail that
# never repeats the request (aiohttp's own message quotes the bytes it refused).
PROTOCOL_ERRORS: tuple[tuple[type[HttpProcessingError], int, str, str], ...] = (
    (
        ContentEncodingError,
        415,
        "unsupported_media_type",
        "Content-Encoding must be gzip, zstd or identity (or none)",
    ),
    (LineTooLong, 400, "bad_request", "the request line or a header line is too long"),
    (InvalidHeader, 400, "bad_request", "a header is malformed"),
    (InvalidURLError, 400, "bad_request", "the request target is not a valid URL"),
    (BadHttpMethod, 400, "bad_request", "the request method is not valid"),
    (HttpProcessingError, 400, "bad_request", "the request is not valid HTTP"),
)


def describe_protocol_error(status: int, error: BaseException | None) -> tuple[int, str, str]:
    for cls, mapped_status, code, detail in PROTOCOL_ERRORS:
        if isinstance(error, cls):
            return mapped_status, code, detail
    if status >= 500:
        return 500, "internal_error", "internal error; the request was logged"
    return status, "bad_request", "the request cannot be read"


class JsonErrorRequestHandler(web.RequestHandler):
    """A connection whose own error answers are JSON, and whose log lines quote nothing the client sent."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # Part of an answer is out already: the connection can only be closed (as aiohttp does).
            raise ConnectionError("an error after the answer started; closing the connection")
        status, code, detail = describe_protocol_error(status, exc)
        if status >= 500:
            self.log_exception("error handling a request", exc_info=exc)
        else:
            log.info("refused before routing: %d %s", status, detail)
        body = jsonutil.dumps({"detail": detail, "error": code})
        response = web.Response(status=status, body=body, content_type="application/json")
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        # As web.Server builds a RequestHandler: from the loop and handler arguments it was given.
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class VaultRunner(web.AppRunner):
    """An AppRunner whose connections are JsonErrorRequestHandlers."""

    async def _make_server(self) -> web.Server:
        # The overridable step of aiohttp's runners; the app's own server is made (which
        # starts the app) and rebuilt with the same handler, factory and arguments.
        made = await super()._make_server()
        return JsonErrorServer(made.request_handler, request_factory=made.request_factory, **made._kwargs)


async def _serve(runner: VaultRunner, host: str, port: int, on_listening: Callable[[], None]) -> None:
    await runner.setup()
    flushing = asyncio.get_running_loop().create_task(_flush_access_lines())
    try:
        await web.TCPSite(runner, host, port).start()
        collector.freeze_startup()
        on_listening()
        await asyncio.Event().wait()  # until SIGTERM or SIGINT raise GracefulExit
    finally:
        await runner.cleanup()
        flushing.cancel()
        logs.flush()


async def _flush_access_lines() -> None:
    """Access lines are written in batches (vault.logs); none waits longer than a batch's time."""
    while True:
        await asyncio.sleep(logs.ACCESS_BATCH_SECONDS)
        logs.flush()


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """A loop of the kind VAULT_EVENT_LOOP names; the standard one where uvloop is not installed."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("VAULT_EVENT_LOOP=uvloop, but uvloop is not installed: running on asyncio's loop")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run(
    app: web.Application,
    host: str,
    port: int,
    shutdown_timeout: float,
    on_listening: Callable[[], None],
    event_loop: str = "asyncio",
) -> None:
    """Serve until SIGTERM or SIGINT; `on_listening` runs once the port is bound.

    SIGTERM and SIGINT stop taking connections, let requests finish (up to
    half of `shutdown_timeout`), then run the cleanup contexts: a running job
    ends, the store drains its queue and commits. The whole stop is bounded by
    `shutdown_timeout`: past it the process exits non-zero, saying what it
    abandoned (vault.stop_deadline). A bind that fails raises OSError.
    """
    # Requests in flight get half the bound, so the queue they filled has the rest to drain.
    runner = VaultRunner(app, handle_signals=True, access_log=None, shutdown_timeout=shutdown_timeout / 2)
    collector.tune()
    loop = new_event_loop(event_loop)
    asyncio.set_event_loop(loop)
    main = loop.create_task(_serve(runner, host, port, on_listening))
    stopping: float | None = None
    try:
        while not main.done():
            try:
                loop.run_until_complete(main)
            except asyncio.CancelledError:
                break  # the stop is done: _serve let the cancel through once the runner was cleaned up
            except (web.GracefulExit, KeyboardInterrupt):
                if stopping is not None:
                    # A second signal must not cut the stop short: the store still has to drain and close.
                    log.info("already stopping")
                    continue
                stopping = time.monotonic()
                app[STOP_DEADLINE].start(shutdown_timeout)
                log.info("stopping: finishing requests in flight (up to %ss)", shutdown_timeout / 2)
                main.cancel()
        if not main.cancelled():
            main.result()  # a failed bind or start raises here
        log.info("stopped in %.2fs", time.monotonic() - (stopping or time.monotonic()))
    finally:
        _cancel_remaining(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    remaining: Any = asyncio.all_tasks(loop)
    for task in remaining:
        task.cancel()
    if remaining:
        loop.run_until_complete(asyncio.gather(*remaining, return_exceptions=True))
