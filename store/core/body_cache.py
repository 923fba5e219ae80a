"""Recent message bodies, unpacked, by message id: a history window without zstd.

A message never changes once written and its id is never given to another,
so a body kept here can never be stale: a window still finds its rows in the
database (which decides what the window holds: a cleared history or a deleted
session simply stops returning those ids) and takes each packed body from
here instead of unpacking it again. Appends put their bodies in as they are
answered, so the newest windows of active sessions never unpack.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# What an entry costs beyond its text: the key, the str headers, the dict's links.
ENTRY_OVERHEAD = 200


def text_cost(text: str) -> int:
    """Memory a string takes: CPython keeps an ASCII string at a byte a character, others at up to four."""
    return len(text) if text.isascii() else 4 * len(text)


def cost(body: str) -> int:
    return text_cost(body) + ENTRY_OVERHEAD


class BoundedCache(Generic[K, V]):
    """A least-recently-used map bounded by what its values cost in bytes.

    Shared by the loop and the read threads, hence the lock; each operation
    holds it for a dict lookup or two.
    """

    def __init__(self, max_bytes: int, cost_of: Callable[[V], int]) -> None:
        self.max_bytes = max_bytes
        self._cost_of = cost_of
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: K, value: V) -> None:
        size = self._cost_of(value)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= self._cost_of(old)
            self._entries[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= self._cost_of(dropped)

    def discard(self, key: K) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= self._cost_of(old)


class BodyCache(BoundedCache[str, str]):
    """Whole message bodies as served, by message id."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes, cost)
