"""WAL positions on the wire: `Vault-Min-LSN` in, `Vault-Commit-LSN` out.

A write answer names the WAL position of its commit; a client that sends it
back as `Vault-Min-LSN` (to this instance or any other on the same database)
is never answered from a replica that has not replayed that far. Both headers
only mean something on PostgreSQL; elsewhere the first is checked and
otherwise ignored, and the second never sent.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vault.errors import invalid
from vault.store import positions

MIN_LSN = "Vault-Min-LSN"
COMMIT_LSN = "Vault-Commit-LSN"


def demanded_lsn(request: web.Request) -> int:
    """The position the request's reads must see (`Vault-Min-LSN`), 0 for none; 422 if it is no position."""
    header = request.headers.get(MIN_LSN)
    if header is None:
        return 0
    try:
        return positions.parse_lsn(header)
    except ValueError:
        raise invalid(["header", MIN_LSN], "must be a WAL position such as 16/B374D848 (a Vault-Commit-LSN)") from None


async def answer_with_positions(request: web.Request, handler: Any, min_lsn: int) -> web.StreamResponse:
    """The handler's answer on a store that tracks positions: reads see `min_lsn`, a write's commit is named."""
    request_positions = positions.RequestPositions(min_lsn=min_lsn)
    token = positions.CURRENT.set(request_positions)
    try:
        response = await handler(request)
    finally:
        positions.CURRENT.reset(token)
    if request_positions.commit_lsn is not None and not response.prepared:
        response.headers[COMMIT_LSN] = positions.format_lsn(request_positions.commit_lsn)
    return response
