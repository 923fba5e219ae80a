"""When a failed attempt is tried again, and how long to wait first.

Two kinds of failure, told apart because they need different answers:

- *not applied*: the request never reached the service (it could not
  connect), or the service answered 503, which it only does for a request
  it did not write. Trying again is always safe.
- *outcome unknown*: the request was sent and no answer came back (the
  connection dropped, or the read timed out). The write may have committed.
  Trying again is safe only if a repeat cannot write twice: GET, PUT and
  DELETE by their nature, POST because the client sends an Idempotency-Key
  that the service answers a repeat with the first answer for. The client
  marks each call with whether it is safe to repeat (see async_client).
"""

from __future__ import annotations

import asyncio
import random

import aiohttp
from attrs import frozen

# Errors that mean no answer arrived. Anything else (a bad URL, an invalid
# HTTP answer) is a bug to report, not a condition to wait out.
NO_ANSWER: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    asyncio.TimeoutError,
)


def never_sent(error: BaseException) -> bool:
    """True when the request certainly did not reach the service."""
    return isinstance(error, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))


@frozen
class RetryPolicy:
    """`retries` tries after the first; waits grow from `backoff` seconds.

    A 503's Retry-After is waited for as asked (plus a little jitter, so
    clients told the same wait do not all come back at once), unless it is
    longer than `max_delay`: then the call gives up at once and raises Busy
    with the wait the service named, rather than block the caller for it.
    """

    retries: int = 3
    backoff: float = 0.2
    max_delay: float = 10.0

    def delay(self, retry: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `retry` (from 1), or None to give up."""
        if retry > self.retries:
            return None
        if retry_after is not None:
            if retry_after > self.max_delay:
                return None
            return retry_after + random.uniform(0, self.backoff)
        # Exponential, with "equal jitter": never less than half the step.
        step = min(self.max_delay, self.backoff * 2 ** (retry - 1))
        return random.uniform(step / 2, step)
