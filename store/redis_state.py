"""The state port on Redis: each session's state one hash, every write one compare-and-set script.

Key `<prefix>state:<session id>`, a hash of `version`, `updated_at` and `data`
(the data's JSON as the databases store it). Every write is WRITE_SCRIPT,
which Redis runs atomically: it checks the version it is given against the
stored one and sets the new state only if they agree, so of two writes with
the same If-Match exactly one wins. A PUT or DELETE needs no read first (one
round trip). A merge patch reads the state, applies the patch here (with
vault.merge_patch, the code the databases use, so numbers and empty objects
come out exactly as there) and sets it if the version it read is still the
stored one; if another write got in between, it reads again and starts over.
No patch is ever lost.

When its session is deleted, the state becomes a tombstone (`gone`) for
TOMBSTONE_SECONDS: a write that checked the session just before its delete
finds it and is refused (404) instead of leaving state behind. Sessions
themselves are checked by the store (vault.store.state_port).
"""

from __future__ import annotations

from typing import Any, ClassVar

from vault.store.core.records import bounded_text
from vault.store.errors import NotFound, PreconditionFailed
from vault.store.redis_link import RedisAdapter

from vault import clock
from vault.jsonutil import loads_stored
from vault.merge_patch import apply_merge_patch
from vault.models import State

# Far longer than any write can take between its session check and its script.
TOMBSTONE_SECONDS = 3600

# KEYS[1]: the state; ARGV: expected version ('' for any), updated_at, data, 'delete' or 'write'.
# Answers {'written', version}, {'unchanged', 0}, {'gone'}, or {'stale', version, updated_at, data}.
WRITE_SCRIPT = """
local stored = redis.call('HMGET', KEYS[1], 'version', 'gone')
if stored[2] then return {'gone'} end
local version = tonumber(stored[1] or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= version then
  local current = redis.call('HMGET', KEYS[1], 'updated_at', 'data')
  return {'stale', version, current[1] or '', current[2] or ''}
end
if ARGV[4] == 'delete' and version == 0 then return {'unchanged', 0} end
redis.call('HSET', KEYS[1], 'version', version + 1, 'updated_at', ARGV[2], 'data', ARGV[3])
return {'written', version + 1}
"""

# KEYS[1]: the state; ARGV[1]: the tombstone's lifetime in seconds.
FORGET_SCRIPT = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'gone', '1')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


def state_of(session_id: str, version: Any, updated_at: Any, data: Any) -> State:
    """A State from the stored fields (bytes or str; none: a state never written)."""
    if not version or int(version) == 0:
        return State(session_id, {}, 0, None)
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    moment = updated_at.decode("utf-8") if isinstance(updated_at, bytes) else updated_at
    return State(session_id, loads_stored(text), int(version), moment)


def stored_fields(state: State, data_text: str) -> dict[str, Any]:
    """The hash of a state; `data_text` is its data's JSON, bounded already."""
    return {"version": state.version, "updated_at": state.updated_at, "data": data_text}


class RedisState(RedisAdapter):
    namespace: ClassVar[str] = "state:"

    def __init__(self, url: str, prefix: str = "vault:", max_document_bytes: int | None = None) -> None:
        super().__init__(url, prefix, max_document_bytes)
        self._write_script = self._link.client.register_script(WRITE_SCRIPT)
        self._forget_script = self._link.client.register_script(FORGET_SCRIPT)

    async def get(self, session_id: str) -> State:
        with self._link.reaching("state_get"):
            version, updated_at, data, gone = await self._link.client.hmget(
                self._link.key(session_id), ["version", "updated_at", "data", "gone"]
            )
        if gone:
            raise NotFound("session", session_id)
        return state_of(session_id, version, updated_at, data)

    async def put(self, session_id: str, data: dict[str, Any], if_match: int | None) -> State:
        return await self._write("state_put", session_id, data, if_match)

    async def delete(self, session_id: str, if_match: int | None) -> State:
        return await self._write("state_delete", session_id, {}, if_match, delete=True)

    async def patch(self, session_id: str, patch: dict[str, Any], if_match: int | None) -> State:
        while True:
            current = await self.get(session_id)
            if if_match is not None and if_match != current.version:
                raise PreconditionFailed(current)
            data = apply_merge_patch(current.data, patch)
            try:
                # Set only over the version read: a write in between makes this stale, and the patch starts over.
                return await self._write("state_patch", session_id, data, current.version)
            except PreconditionFailed:
                continue

    async def forget(self, session_id: str) -> None:
        with self._link.reaching("state_forget"):
            await self._forget_script(keys=[self._link.key(session_id)], args=[TOMBSTONE_SECONDS])

    async def _write(
        self, operation: str, session_id: str, data: dict[str, Any], expected: int | None, delete: bool = False
    ) -> State:
        """Set `data` as the next version if the stored version is `expected` (None: whatever it is)."""
        # DocumentTooLarge here writes nothing, as in the database.
        data_text = bounded_text(data, "data", self._max_document_bytes)
        moment = clock.now_text()
        arguments = ["" if expected is None else expected, moment, data_text, "delete" if delete else "write"]
        with self._link.reaching(operation):
            answer = await self._write_script(keys=[self._link.key(session_id)], args=arguments)
        outcome = answer[0].decode("ascii")
        if outcome == "written":
            return State(session_id, data, int(answer[1]), moment)
        if outcome == "unchanged":
            return State(session_id, {}, 0, None)
        if outcome == "gone":
            raise NotFound("session", session_id)
        raise PreconditionFailed(state_of(session_id, *answer[1:]))
