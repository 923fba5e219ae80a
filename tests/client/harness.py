"""Runs the same scenarios through both clients.

`Threaded` calls the blocking VaultClient from a worker thread (as code
without an event loop would call it), so an async test can await it like
the async client; `iter_*` results are collected in that thread too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

from vault.client import VaultClient


class Threaded:
    def __init__(self, client: VaultClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name.startswith("iter_"):
            return functools.partial(_collected, method)
        return functools.partial(asyncio.to_thread, method)


async def _collected(method: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    for item in await asyncio.to_thread(lambda: list(method(*args, **kwargs))):
        yield item


async def collect(iterator: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in iterator]
