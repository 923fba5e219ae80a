"""Recent message bodies, unpacked, by message id: a history window without zstd.

A message never changes once written and its id is never given to another,
so a body kept here can never be stale: a window still finds its rows in the
database (which decides what the window holds: a cleared history, a deleted
session or retention simply stops returning those ids) and takes each packed
body from here instead of unpacking it again. Appends put their bodies in as
they are answered, so the newest windows of active sessions never unpack.

Bounded in bytes (least recently used out first), and shared by the loop and
the read threads, hence the lock; each operation holds it for a dict lookup.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

# What an entry costs beyond its text: the key, the str headers, the dict's links.
ENTRY_OVERHEAD = 200


def cost(body: str) -> int:
    """Memory an entry takes: CPython keeps an ASCII string at a byte a character, others at up to four."""
    return (len(body) if body.isascii() else 4 * len(body)) + ENTRY_OVERHEAD


class BodyCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._bodies)

    def get(self, message_id: str) -> str | None:
        with self._lock:
            body = self._bodies.get(message_id)
            if body is None:
                self.misses += 1
                return None
            self._bodies.move_to_end(message_id)
            self.hits += 1
            return body

    def put(self, message_id: str, body: str) -> None:
        size = cost(body)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._bodies.pop(message_id, None)
            if old is not None:
                self._bytes -= cost(old)
            self._bodies[message_id] = body
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._bodies.popitem(last=False)
                self._bytes -= cost(dropped)
