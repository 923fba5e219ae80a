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


def _min_lsn(request: web.Request) -> int:
    header = request.headers.get(MIN_LSN)
    if header is None:
        return 0
    try:
        return positions.parse_lsn(header)
    except ValueError:
        raise invalid(["header", MIN_LSN], "must be a WAL position such as 16/B374D848 (a Vault-Commit-LSN)") from None


@web.middleware
async def read_positions_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        # No such route or method: its 404 or 405 comes first, whatever the headers.
        return await handler(request)
    request_positions = positions.RequestPositions(min_lsn=_min_lsn(request))
    token = positions.CURRENT.set(request_positions)
    try:
        response = await handler(request)
    finally:
        positions.CURRENT.reset(token)
    if request_positions.commit_lsn is not None and not response.prepared:
        response.headers[COMMIT_LSN] = positions.format_lsn(request_positions.commit_lsn)
    return response
