"""Decompression bombs against `vault serve`: refused with the server's peak memory flat."""

from __future__ import annotations

import aiohttp
import pytest

from tests.http.wire import MIB, zeros_bomb
from tests.process.rss import peak_rss

pytestmark = pytest.mark.slow

BOMB_BYTES = 200 * MIB
# Inflating one bomb whole would take 200 MiB; refusing it takes the body limit at most.
GROWTH_LIMIT = 4 * MIB
HEADERS = {"Content-Type": "application/json"}


async def post(http: aiohttp.ClientSession, url: str, coding: str, body: bytes) -> int:
    headers = {**HEADERS, "Content-Encoding": coding}
    async with http.post(f"{url}/storage/sessions", data=body, headers=headers) as response:
        await response.read()
        return response.status


async def test_bombs_are_refused_with_flat_memory(vault_process, capsys):
    # Rule: a body that inflates to 200 MB is a 413 once past VAULT_MAX_BODY_BYTES; the rest is never inflated.
    vault = vault_process(VAULT_MAX_BODY_BYTES=str(MIB))
    await vault.start()
    pid = vault.process.pid
    bombs = {coding: zeros_bomb(coding, BOMB_BYTES) for coding in ("gzip", "zstd")}
    async with aiohttp.ClientSession() as http:
        # Warm up: the first refusal of each brings in whatever it imports and allocates once.
        for coding, bomb in bombs.items():
            assert await post(http, vault.url, coding, bomb) == 413
        before = peak_rss(pid)
        statuses = [await post(http, vault.url, coding, bomb) for _ in range(3) for coding, bomb in bombs.items()]
        after = peak_rss(pid)
    with capsys.disabled():
        sizes = ", ".join(f"{coding} {len(bomb) // 1024} KiB" for coding, bomb in bombs.items())
        print(f"\n200 MB bombs ({sizes}): peak RSS {before / MIB:.1f} -> {after / MIB:.1f} MiB")
    assert statuses == [413] * 6
    assert after - before < GROWTH_LIMIT
