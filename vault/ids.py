"""Server-generated ids: a type prefix and hex that sorts by creation time.

14 hex digits of microseconds since the epoch, then 10 random hex digits.
Within one process the time part never goes backwards, so ids made here
sort in the order they were made even when the clock steps back.
"""

from __future__ import annotations

import secrets
import threading
import time

_lock = threading.Lock()
_last_micros = 0

# Random bytes are drawn from the OS in blocks: one system call per 800 ids.
_RANDOM_BLOCK = 4000
_random = b""
_offset = 0


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` ids in the order made, with one hold of the lock (a batch append takes its ids so)."""
    global _last_micros, _random, _offset
    with _lock:
        first = max(time.time_ns() // 1000, _last_micros + 1)
        _last_micros = first + count - 1
        if _offset + 5 * count > len(_random):
            _random, _offset = secrets.token_bytes(max(_RANDOM_BLOCK, 5 * count)), 0
        chunk = _random[_offset : _offset + 5 * count].hex()
        _offset += 5 * count
    # Each id's time and its ten random digits, walked side by side (no index arithmetic per id: a batch makes 1,000).
    return [
        f"{prefix}{micros:014x}{chunk[start : start + 10]}"
        for micros, start in zip(range(first, first + count), range(0, 10 * count, 10), strict=True)
    ]


def new_id(prefix: str) -> str:
    return new_ids(prefix, 1)[0]


def message_ids(count: int) -> list[str]:
    return new_ids("msg_", count)


def session_id() -> str:
    return new_id("session_")


def message_id() -> str:
    return new_id("msg_")


def artifact_id() -> str:
    return new_id("artifact_")


def metric_id() -> str:
    return new_id("metric_")
