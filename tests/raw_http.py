"""Requests as raw bytes, for what an HTTP client library refuses to send."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from attrs import frozen


@frozen
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def send_raw(host: str, port: int, request: bytes) -> RawAnswer:
    """Send `request` as it is on a new connection; read the answer until the server closes it."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(status_line.split()[1]), headers, body)


def raw_request(method: str, target: str, *headers: bytes, body: bytes = b"") -> bytes:
    """A request that closes its connection; `headers` are whole header lines, as bytes."""
    lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: vault", b"Connection: close", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
