"""The real app on a real port, served from a private event loop in a background thread.

For tests that drive the service from synchronous code (hypothesis's stateful
rules, schemathesis): `LiveVault.request` is a plain blocking HTTP call.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from typing import Any

from aiohttp.test_utils import TestServer
from attrs import frozen

from vault.app import create_app
from vault.config import Config

TIMEOUT = 60.0


@frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class LiveVault:
    """create_app(config) served on 127.0.0.1; restart() serves a new app on the same database."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-vault", daemon=True)
        self._thread.start()
        self._server: TestServer | None = None

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(TIMEOUT)

    async def _serve(self) -> TestServer:
        server = TestServer(create_app(self.config), host="127.0.0.1")
        await server.start_server()
        return server

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.port is not None, "not started"
        return self._server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self._server is None, "already started"
        self._server = self._run(self._serve())

    def stop(self) -> None:
        """Close the app as a shutdown does: the store drains, commits and closes."""
        if self._server is not None:
            server, self._server = self._server, None
            self._run(server.close())

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(TIMEOUT)
            self._loop.close()

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        """One request on its own connection; a JSON body is sent and read back as JSON."""
        sent = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            received = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        is_json = received.get("content-type", "").startswith("application/json")
        return Answer(response.status, received, json.loads(raw) if is_json and raw else raw)
