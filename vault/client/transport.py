"""One logical call: send it, retry it under the policy, hand back the answer.

The transport knows HTTP and the retry rules, not the routes; the methods
in async_client describe each call (a Call) and read its Answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from attrs import field, frozen
from multidict import CIMultiDictProxy
from yarl import URL

from vault.client import errors
from vault.client.retry import NO_ANSWER, RetryPolicy, never_sent
from vault.client.wire import error_from_answer

# Makes the body afresh for each attempt (a stream can be sent only once);
# whatever it opens, it hands to the ExitStack, which closes it after the attempt.
BodyFactory = Callable[[contextlib.ExitStack], Any]
# Answers of 1 KiB or more come compressed, zstd preferred. aiohttp decodes both
# itself (zstd with the standard library's module or its backport, a dependency
# of this package); artifact content always comes as stored.
ACCEPT_ENCODING = "zstd, gzip"

# Takes a 2xx answer's body itself (to a file, say) instead of into memory.
Sink = Callable[[aiohttp.ClientResponse], Awaitable[Any]]


@frozen
class Call:
    """A request, fixed before the first attempt so every retry sends the same bytes.

    `repeatable`: a repeat after an unknown outcome cannot write twice (see
    vault.client.retry). `retry`: False for calls whose purpose is to see
    the service's state now (`/ready`), which must not wait out a 503.
    `streaming`: the body or the answer may be large, so the timeout bounds
    each wait for the network rather than the whole transfer.
    """

    method: str
    target: str | URL
    params: Mapping[str, str] = field(factory=dict)
    body: bytes | BodyFactory | None = None
    content_type: str | None = None
    headers: Mapping[str, str] = field(factory=dict)
    repeatable: bool = True
    retry: bool = True
    idempotency_key: str | None = None
    sink: Sink | None = None
    streaming: bool = False


@frozen
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    next_url: URL | None
    # An earlier attempt of the same call may have been applied (its answer was lost).
    after_unknown_outcome: bool = False
    # What the call's sink returned, when it took the body.
    received: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Transport:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        timeout: float,
        policy: RetryPolicy,
        session: aiohttp.ClientSession | None,
    ) -> None:
        self.base_url = URL(base_url.rstrip("/"))
        if not self.base_url.is_absolute():
            raise ValueError(f"base_url must be absolute (http://host:port), not {base_url!r}")
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        self.policy = policy
        self._session = session
        self._owns_session = session is None
        self._closed = False

    def url(self, target: str | URL) -> URL:
        if isinstance(target, URL):
            # A Link from the service: follow it only to the same origin, so
            # the API key never goes anywhere the caller did not name.
            if target.origin() != self.base_url.origin():
                raise errors.UnexpectedResponse(f"the service linked to another origin: {target}")
            return target
        # Paths arrive percent-encoded (wire.segment); yarl must not encode them again.
        return URL(str(self.base_url) + target, encoded=True)

    async def close(self) -> None:
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the Vault client is closed")
        if self._session is None:
            # Made on first use: a ClientSession belongs to the loop it is made in.
            self._session = aiohttp.ClientSession()
            # aiohttp sends a GET, PUT or DELETE a second time, unseen, when the
            # connection drops. The retry rules here need to see every attempt:
            # a hidden repeat turns a lost DELETE answer into a NotFound and a
            # lost If-Match PUT answer into a 412 caused by the caller's own write.
            # (A private attribute; aiohttp's own test client sets it the same way.)
            self._session._retry_connection = False
        return self._session

    async def send(self, call: Call) -> Answer:
        """The first answer that is not a 503 (after retries); raises when none comes."""
        maybe_applied = False
        retry = 0
        while True:
            try:
                answer = await self._attempt(call, maybe_applied)
            except NO_ANSWER as exc:
                sent = not never_sent(exc)
                maybe_applied = maybe_applied or sent
                failure: errors.VaultError = errors.ConnectionFailed(
                    f"{call.method} {self.url(call.target).path}: no answer ({type(exc).__name__}: {exc})",
                    maybe_applied=maybe_applied,
                    idempotency_key=call.idempotency_key,
                )
                failure.__cause__ = exc
                retry_after = None
                may_retry = call.retry and (not sent or call.repeatable)
            else:
                if answer.status != 503 or not call.retry:
                    return answer
                failure = error_from_answer(answer.status, answer.headers, answer.body)
                retry_after = getattr(failure, "retry_after", None)
                may_retry = True
            retry += 1
            delay = self.policy.delay(retry, retry_after) if may_retry else None
            if delay is None:
                raise self._giving_up(failure, maybe_applied, call)
            await asyncio.sleep(delay)

    def _giving_up(self, failure: errors.VaultError, maybe_applied: bool, call: Call) -> errors.VaultError:
        # A 503 says "nothing written" about its own attempt only; if an
        # earlier attempt went unanswered, the caller must know the write may
        # have happened, or a retry of theirs could write it twice.
        if maybe_applied and not isinstance(failure, errors.ConnectionFailed):
            lost = errors.ConnectionFailed(
                f"an earlier attempt went unanswered and may have been applied; the last answered: {failure}",
                maybe_applied=True,
                idempotency_key=call.idempotency_key,
            )
            lost.__cause__ = failure
            return lost
        return failure

    async def _attempt(self, call: Call, after_unknown_outcome: bool) -> Answer:
        headers = {"Accept-Encoding": ACCEPT_ENCODING, **call.headers}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if call.content_type is not None:
            headers["Content-Type"] = call.content_type
        with contextlib.ExitStack() as cleanup:
            async with self._http().request(
                call.method,
                self.url(call.target),
                params=call.params or None,
                data=call.body(cleanup) if callable(call.body) else call.body,
                headers=headers,
                timeout=self._stream_timeout if call.streaming else self._timeout,
                allow_redirects=False,
            ) as response:
                received = None
                if call.sink is not None and 200 <= response.status < 300:
                    received, body = await call.sink(response), b""
                else:
                    body = await response.read()
                link = response.links.get("next")
                return Answer(
                    status=response.status,
                    headers=response.headers,
                    body=body,
                    next_url=link["url"] if link is not None else None,
                    after_unknown_outcome=after_unknown_outcome,
                    received=received,
                )
