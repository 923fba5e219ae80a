"""The cyclic garbage collector, set for a server: what sets the slowest answers.

CPython's default runs a young collection every 700 allocations, which
under load is every request or two: each one finds the objects of the
requests in flight still alive and promotes them. The promoted pile soon
sets off a full collection, which walks every object the process tracks
with the loop stopped: 50-60 ms here, several times a second at 12,000
requests/s, and so the p99 of every request (`bench/run.py`; with the
collector off the p99 of cache reads fell from about 50 ms to 7).

Two changes keep the collector without those pauses:
- young collections every YOUNG_THRESHOLD allocations, so few objects of
  a request are still alive when one runs, and little is promoted;
- once the server has started, what startup made (modules, the app and
  its routes, the OpenAPI document) is moved out of every collection's
  walk (`gc.freeze`): it lives as long as the process anyway.
Garbage in cycles is still collected; only less often, and the full walk
covers what requests left behind.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("vault")

YOUNG_THRESHOLD = 50_000


def tune() -> None:
    """Before serving: young collections every YOUNG_THRESHOLD allocations (the older generations as they were)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def freeze_startup() -> None:
    """Once started: collect startup's garbage, then keep what is left out of every later collection."""
    gc.collect()
    gc.freeze()
    log.info(
        "garbage collector: young collections every %d allocations; %d objects of startup frozen",
        gc.get_threshold()[0],
        gc.get_freeze_count(),
    )
