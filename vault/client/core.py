"""The part of the client every route shares: the transport, and how each
kind of call is sent.

What is retried (the rules themselves are in vault.client.retry):

- Every call, when it certainly was not applied: the connection could not
  be made, or the service answered 503 (honouring Retry-After).
- After an unknown outcome (sent, no answer), only calls that cannot write
  twice: GET; PUT (it sets the same values again); DELETE (a 404 on the
  repeat means the first attempt deleted it, so it counts as done); POST,
  because each call sends an Idempotency-Key, made once and kept across its
  retries, and the service answers a repeated key with the first answer
  (except `backup`, which the service does not deduplicate: not repeated).
- PATCH of state without If-Match is a JSON merge patch, and a merge patch
  applied twice leaves the same data as applied once, so it is repeated
  too; what the repeat can do is land after another writer's change to the
  same keys and win over it, which is the outcome those two concurrent
  writes could have had anyway.
- Writes with If-Match (put_state, patch_state, delete_state) are *not*
  repeated after an unknown outcome: if the first attempt committed, the
  repeat would fail with a 412 caused by the caller's own write, and a
  caller that answers 412 by re-reading and re-applying (a counter + 1)
  would apply its change twice. ConnectionFailed(maybe_applied=True) tells
  the caller to re-read the state and decide.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, Self, TypeVar

import aiohttp
from yarl import URL

from vault.client import wire
from vault.client.retry import RetryPolicy
from vault.client.transport import Answer, Call, Transport

T = TypeVar("T")
JSON = "application/json"


class ClientCore:
    """Construction, closing, and sending; AsyncVaultClient adds the routes."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.2,
        max_retry_delay: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._transport = Transport(
            base_url,
            api_key=api_key,
            timeout=timeout,
            policy=RetryPolicy(retries=retries, backoff=backoff, max_delay=max_retry_delay),
            session=session,
        )

    @property
    def base_url(self) -> str:
        return str(self._transport.base_url)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.close()

    # -- sending

    async def _call(self, call: Call) -> Answer:
        answer = await self._transport.send(call)
        if not answer.ok:
            raise wire.error_from_answer(answer.status, answer.headers, answer.body)
        return answer

    async def _get(self, path: str | URL, params: Mapping[str, str] | None = None) -> Any:
        answer = await self._call(Call("GET", path, params=params or {}))
        return wire.decode_json(answer.body)

    async def _write(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        repeatable: bool = True,
    ) -> Answer:
        headers: dict[str, str] = {}
        if method == "POST":
            idempotency_key = idempotency_key or uuid.uuid4().hex
            headers["Idempotency-Key"] = idempotency_key
        if if_match is not None:
            headers["If-Match"] = wire.etag(if_match)
            repeatable = False
        return await self._call(
            Call(
                method,
                path,
                body=wire.encode_json(body),
                content_type=JSON,
                headers=headers,
                repeatable=repeatable,
                idempotency_key=idempotency_key,
            )
        )

    async def _post(self, path: str, body: Any, idempotency_key: str | None) -> Any:
        return wire.decode_json((await self._write("POST", path, body, idempotency_key=idempotency_key)).body)

    async def _delete(self, path: str, params: Mapping[str, str] | None = None, *, if_match: int | None = None) -> Any:
        headers = {"If-Match": wire.etag(if_match)} if if_match is not None else {}
        call = Call("DELETE", path, params=params or {}, headers=headers, repeatable=if_match is None)
        answer = await self._transport.send(call)
        if answer.status == 404 and answer.after_unknown_outcome:
            # An earlier attempt went unanswered; the 404 now says it is gone,
            # most likely deleted by that attempt. Gone is what was asked.
            return None
        if not answer.ok:
            raise wire.error_from_answer(answer.status, answer.headers, answer.body)
        return wire.decode_json(answer.body)

    async def _pages(self, path: str, params: Mapping[str, str], cls: type[T]) -> AsyncIterator[T]:
        """Every item of a list, following `Link: rel="next"` page by page."""
        target: str | URL | None = path
        query: Mapping[str, str] = params
        while target is not None:
            answer = await self._call(Call("GET", target, params=query))
            for item in wire.structure_list(wire.decode_json(answer.body), cls):
                yield item
            target, query = answer.next_url, {}
