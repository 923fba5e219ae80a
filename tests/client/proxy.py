"""A real TCP proxy in front of the real service, that fails on purpose.

It stands in for the network and the load balancer between a client and
The Vault: `drop_answers` forwards a request, waits until the service starts
answering (the service answers a write only after its commit) and then cuts
the connection, as a network failure after the commit would; `busy` answers
503 with Retry-After itself, as an overloaded service would, without
forwarding. One request per connection (it asks the service for
`Connection: close`), so each fault hits exactly one request.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque

from attrs import define, field, frozen


@frozen
class Seen:
    """A request as it reached the proxy."""

    method: str
    path: str
    headers: dict[str, str]
    forwarded: bool


@define
class FlakyProxy:
    upstream_port: int
    faults: deque = field(factory=deque)
    seen: list[Seen] = field(factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def close(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    def drop_answers(self, times: int = 1) -> None:
        self.faults.extend([("drop", None)] * times)

    def cut_streams(self, times: int = 1) -> None:
        """Forward the first piece of the answer (a stream's head and maybe some events), then cut."""
        self.faults.extend([("cut", None)] * times)

    def busy(self, times: int = 1, retry_after: str = "0") -> None:
        self.faults.extend([("busy", retry_after)] * times)

    def forwarded(self) -> list[Seen]:
        return [request for request in self.seen if request.forwarded]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, headers = _parse_head(head)
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            fault, argument = self.faults.popleft() if self.faults else (None, None)
            method, path, _ = request_line.split(" ", 2)
            self.seen.append(Seen(method, path, headers, forwarded=fault != "busy"))
            if fault == "busy":
                writer.write(_busy_answer(argument))
                await writer.drain()
                return
            await self._forward(_closing(request_line, head) + body, writer, fault)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _forward(self, request: bytes, writer: asyncio.StreamWriter, fault: str | None) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            up_writer.write(request)
            await up_writer.drain()
            chunk = await up_reader.read(65536)
            if fault == "drop":
                return  # the answer has begun, so the write is committed: lose it
            while chunk:
                writer.write(chunk)
                await writer.drain()
                if fault == "cut":
                    return
                chunk = await up_reader.read(65536)
        finally:
            up_writer.close()


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def _closing(request_line: str, head: bytes) -> bytes:
    """The request head with `Connection: close`, so the service ends the connection after answering."""
    lines = head.decode("latin-1").split("\r\n")
    kept = [line for line in lines[1:] if line and not line.lower().startswith("connection:")]
    return "\r\n".join([request_line, *kept, "Connection: close", "", ""]).encode("latin-1")


def _busy_answer(retry_after: str) -> bytes:
    body = json.dumps({"detail": "the write queue is full", "error": "busy"}).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json\r\n"
        f"Retry-After: {retry_after}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body
