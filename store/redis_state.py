"""The state port on Redis: each session's state one JSON document, changed only by WATCH/MULTI.

A write reads the document under WATCH, checks If-Match, works out the new
state here (a merge patch is applied by vault.merge_patch, the same code the
databases use, so numbers and empty objects come out exactly as they do
there), and sets it in a MULTI that Redis refuses if anyone changed the key
since the read: the write then starts over from the new document. No update
is lost, and of two writes with the same If-Match exactly one wins.

Key: `<prefix>state:<session id>`; value: `{"version": n, "updated_at": t, "data": {...}}`.
Sessions are not known here: the store checks them (vault.store.state_port).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from redis.exceptions import WatchError
from vault.store.core.records import bounded_text, next_state
from vault.store.errors import PreconditionFailed
from vault.store.redis_link import RedisAdapter

from vault.jsonutil import dumps_text, loads_stored
from vault.merge_patch import apply_merge_patch
from vault.models import State


def encode(state: State, data_text: str) -> str:
    """The stored document; `data_text` is the data's JSON, bounded already."""
    return f'{{"version":{state.version},"updated_at":{dumps_text(state.updated_at)},"data":{data_text}}}'


def decode(session_id: str, stored: bytes | None) -> State:
    if stored is None:
        return State(session_id, {}, 0, None)
    document = loads_stored(stored.decode("utf-8"))
    return State(session_id, document["data"], document["version"], document["updated_at"])


# What a write makes of the current state; None: nothing to write (the current state answers).
Change = Callable[[State], State | None]


class RedisState(RedisAdapter):
    namespace: ClassVar[str] = "state:"

    async def get(self, session_id: str) -> State:
        with self._link.reaching("state_get"):
            stored = await self._link.client.get(self._link.key(session_id))
        return decode(session_id, stored)

    async def put(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        return await self._change("state_put", session_id, if_match, lambda current: next_state(current, data))

    async def patch(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        def patched(current: State) -> State:
            return next_state(current, apply_merge_patch(current.data, patch))

        return await self._change("state_patch", session_id, if_match, patched)

    async def delete(self, session_id: str, if_match: int | None) -> State:
        def emptied(current: State) -> State | None:
            # As in the database: a state never written stays at version 0.
            return None if current.version == 0 else next_state(current, {})

        return await self._change("state_delete", session_id, if_match, emptied)

    async def forget(self, session_id: str) -> None:
        with self._link.reaching("state_forget"):
            await self._link.client.delete(self._link.key(session_id))

    async def _change(self, operation: str, session_id: str, if_match: int | None, change: Change) -> State:
        key = self._link.key(session_id)
        with self._link.reaching(operation):
            async with self._link.client.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(key)
                        current = decode(session_id, await pipe.get(key))
                        if if_match is not None and if_match != current.version:
                            raise PreconditionFailed(current)
                        changed = change(current)
                        if changed is None:
                            return current
                        # DocumentTooLarge here writes nothing, as in the database.
                        document = encode(changed, bounded_text(changed.data, "data", self._max_document_bytes))
                        pipe.multi()
                        pipe.set(key, document)
                        await pipe.execute()
                        return changed
                    except WatchError:
                        continue  # another write got in between: start again from what it left
