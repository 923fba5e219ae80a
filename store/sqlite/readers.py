"""A small pool of read connections; in WAL mode reads never wait for the writer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

from store.errors import StoreClosed
from store.sqlite.connection import open_reader, run_on_thread

T = TypeVar("T")


class ReadPool:
    def __init__(self, path: str, size: int) -> None:
        self._path = path
        self._size = size
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []
        self._closed = False

    async def open(self) -> None:
        for _ in range(self._size):
            conn = await open_reader(self._path)
            self._all.append(conn)
            self._idle.put_nowait(conn)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreClosed("the store is closed")
        conn = await self._idle.get()
        try:
            return await run_on_thread(conn, fn, *args)
        finally:
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        self._closed = True
        for conn in self._all:
            await conn.close()
        self._all.clear()
