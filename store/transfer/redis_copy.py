"""Copy the cache and session state between a Vault database and Redis, so a user can move them either way.

`vault copy --from sqlite:///vault.db --to redis://host:6379/0` writes every
live cache entry (its TTL kept: it expires at the same moment) and every
session's state (its version kept, so ETags stay valid) under the prefix;
`--from redis://... --to postgresql://...` does the reverse. The target must
hold none of the kinds copied. Into a database, everything is one
transaction, and state of sessions the database does not have is left out
(and counted); into Redis, a copy that fails removes what it wrote. Redis
is read key by key, not as one snapshot: stop the instances that write
before copying out of it.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from datetime import datetime
from typing import Any

from attrs import frozen
from redis.exceptions import RedisError
from vault.store import redis_cache, redis_state
from vault.store.core.packing import Codec
from vault.store.core.records import cache_row, has_expired, state_row
from vault.store.errors import StoreError
from vault.store.redis_link import RedisLink
from vault.store.transfer.copy import (
    CopyProgress,
    CopyReport,
    Side,
    TableCount,
    open_source,
    open_target,
    side_codec,
)
from vault.store.transfer.tables import Table
from vault.store.transfer.urls import DatabaseUrl

from vault.models import CacheEntry, State

# What Redis can hold, and the table each kind is in a database.
KINDS: dict[str, Table] = {"cache": Table("cache", "key"), "state": Table("state", "session_id")}
NAMESPACES = {"cache": redis_cache.RedisCache.namespace, "state": redis_state.RedisState.namespace}
SCAN_BATCH = 500
REDIS_SCHEMES = ("redis://", "rediss://")


def is_redis_url(text: str) -> bool:
    return text.strip().startswith(REDIS_SCHEMES)


@frozen
class RedisPlace:
    url: str
    prefix: str


def _glob_escaped(text: str) -> str:
    """`text` matched literally by SCAN's MATCH, whatever the prefix holds."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


def _epoch_ms(moment: str) -> int:
    return int(datetime.fromisoformat(moment).timestamp() * 1000)


class RedisEnd:
    """The keys of each kind under one prefix of one Redis."""

    def __init__(self, place: RedisPlace) -> None:
        self._place = place
        # The adapters' own client (pool, timeouts); the kinds' namespaces are added here.
        self._link = RedisLink(place.url, place.prefix, "")
        self._redis = self._link.client

    def describe(self) -> str:
        return f"redis at {self._link.address} under {self._place.prefix!r}"

    def _namespace(self, kind: str) -> str:
        return self._place.prefix + NAMESPACES[kind]

    async def _keys(self, kind: str) -> AsyncIterator[list[bytes]]:
        batch: list[bytes] = []
        async for key in self._redis.scan_iter(match=_glob_escaped(self._namespace(kind)) + "*", count=SCAN_BATCH):
            batch.append(key)
            if len(batch) == SCAN_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def count(self, kind: str) -> int:
        total = 0
        async for batch in self._keys(kind):
            total += len(batch)
        return total

    async def documents(self, kind: str) -> AsyncIterator[list[tuple[str, Any]]]:
        """(name after the namespace, what is stored), a batch at a time.

        A cache entry is its document (bytes), a state its hash (a dict). Keys gone
        since the scan, and the tombstones of deleted sessions' state, are skipped.
        """
        cut = len(self._namespace(kind).encode("utf-8"))
        async for keys in self._keys(kind):
            if kind == "cache":
                values = await self._redis.mget(keys)
            else:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key in keys:
                        pipe.hgetall(key)
                    values = await pipe.execute()
            yield [
                (key[cut:].decode("utf-8"), value)
                for key, value in zip(keys, values, strict=True)
                if value and b"gone" not in value
            ]

    async def write(self, kind: str, documents: Iterable[tuple[str, Any, int | None]]) -> None:
        """(name, document or hash, expiry as epoch ms or None) each."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for name, stored, expires_ms in documents:
                if kind == "cache":
                    pipe.set(self._namespace(kind) + name, stored, pxat=expires_ms)
                else:
                    pipe.hset(self._namespace(kind) + name, mapping=stored)
            await pipe.execute()

    async def clear(self, kind: str) -> None:
        async for batch in self._keys(kind):
            await self._redis.delete(*batch)

    async def close(self) -> None:
        await self._link.close()


def _to_redis(kind: str, row: dict[str, Any], codec: Codec) -> tuple[str, Any, int | None] | None:
    """What Redis keeps for a database row (unpacked); None for a cache entry already expired."""
    if kind == "state":
        state = State(row["session_id"], {}, row["version"], row["updated_at"])
        data = codec.unpack(row["data"], row["data_packed"], row["data_size"])
        return row["session_id"], redis_state.stored_fields(state, data), None
    if has_expired(row["expires_at"]):
        return None
    entry = CacheEntry(row["key"], None, row["ttl"], row["created_at"], row["accessed_at"], row["expires_at"])
    expires_ms = None if row["expires_at"] is None else _epoch_ms(row["expires_at"])
    value = codec.unpack(row["value"], row["value_packed"], row["value_size"])
    return row["key"], redis_cache.encode(entry, value), expires_ms


def _to_row(kind: str, name: str, stored: Any) -> tuple[Any, ...] | None:
    """The database row of what Redis keeps, in rows.*_COLUMNS order; None for an expired cache entry."""
    if kind == "state":
        fields = (stored.get(b"version"), stored.get(b"updated_at"), stored.get(b"data"))
        return state_row(redis_state.state_of(name, *fields))
    entry = redis_cache.decode(stored)
    return None if has_expired(entry.expires_at) else cache_row(entry)


# Column order of _to_row's tuples, as the database sides name them.
ROW_COLUMNS = {
    "cache": ["key", "value", "value_packed", "value_size", "ttl", "created_at", "accessed_at", "expires_at"],
    "state": ["session_id", "data", "data_packed", "data_size", "version", "updated_at"],
}


def _report(source: str, target: str, counts: list[TableCount], started: float, notes: list[str]) -> CopyReport:
    return CopyReport(source, target, tuple(counts), round(time.monotonic() - started, 3), tuple(notes))


async def copy_into_redis(
    source_url: DatabaseUrl, target: RedisPlace, kinds: Iterable[str], progress: CopyProgress | None = None
) -> CopyReport:
    """Copy live cache entries and state from a database's snapshot into Redis, where none of them is yet."""
    started = time.monotonic()
    kinds = list(kinds)
    redis = RedisEnd(target)
    source = await open_source(source_url)
    try:
        for kind in kinds:
            if await _reaching(redis, redis.count(kind)):
                raise StoreError(f"{redis.describe()} already holds {kind}; copy into a prefix that holds none")
        written: dict[str, int] = {}
        notes = []
        try:
            for kind in kinds:
                written[kind], left_out = await _copy_kind_into_redis(source, redis, kind, progress)
                if left_out:
                    notes.append(f"{left_out:,} {kind} entries left out: they had expired")
        except BaseException:
            # The target held none of these kinds: take away what this copy put there.
            for kind in kinds:
                await _reaching(redis, redis.clear(kind))
            raise
        counts = [TableCount(kind, written[kind], await _reaching(redis, redis.count(kind))) for kind in kinds]
        return _report(source.describe(), redis.describe(), counts, started, notes)
    finally:
        await source.close()
        await redis.close()


async def _copy_kind_into_redis(
    source: Side, redis: RedisEnd, kind: str, progress: CopyProgress | None
) -> tuple[int, int]:
    table = KINDS[kind]
    columns = await source.columns(table)
    codec = await side_codec(source)
    total, done, written = await source.count(table), 0, 0
    _show(progress, kind, done, total)
    async with aclosing(source.rows(table, columns)) as batches:
        async for batch in batches:
            documents = [doc for row in batch if (doc := _to_redis(kind, dict(zip(columns, row, strict=True)), codec))]
            await _reaching(redis, redis.write(kind, documents))
            written += len(documents)
            done += len(batch)
            _show(progress, kind, done, total)
    return written, done - written


async def copy_out_of_redis(
    source: RedisPlace, target_url: DatabaseUrl, kinds: Iterable[str], progress: CopyProgress | None = None
) -> CopyReport:
    """Copy cache entries and state from Redis into a database whose cache and state are empty, in one transaction."""
    started = time.monotonic()
    kinds = list(kinds)
    redis = RedisEnd(source)
    target = await open_target(target_url)
    try:
        for kind in kinds:
            if await target.count(KINDS[kind]):
                raise StoreError(f"{target.describe()} already holds {kind}; copy into a database that holds none")
        sessions = await _session_ids(target) if "state" in kinds else set()
        copied: dict[str, int] = {}
        notes = []
        for kind in kinds:
            copied[kind], left_out = await _copy_kind_out_of_redis(redis, target, kind, sessions, progress)
            if left_out:
                notes.append(f"{left_out:,} {kind} entries left out: " + LEFT_OUT[kind])
        await target.commit()
        counts = [TableCount(kind, copied[kind], await target.count(KINDS[kind])) for kind in kinds]
        return _report(redis.describe(), target.describe(), counts, started, notes)
    finally:
        await target.close()
        await redis.close()


LEFT_OUT = {
    "cache": "they expired during the copy",
    "state": "their sessions are not in the database (deleted ones, or another database's)",
}


async def _session_ids(target: Side) -> set[str]:
    ids: set[str] = set()
    async with aclosing(target.rows(Table("sessions", "id"), ["id"])) as batches:
        async for batch in batches:
            ids.update(row[0] for row in batch)
    return ids


async def _copy_kind_out_of_redis(
    redis: RedisEnd, target: Side, kind: str, sessions: set[str], progress: CopyProgress | None
) -> tuple[int, int]:
    table = KINDS[kind]
    columns = await target.columns(table)
    order = [ROW_COLUMNS[kind].index(column) for column in columns]
    total = await _reaching(redis, redis.count(kind))
    done, copied, left_out = 0, 0, 0
    _show(progress, kind, done, total)
    async with aclosing(redis.documents(kind)) as batches:
        while (batch := await _reaching(redis, anext(batches, None))) is not None:
            rows = []
            for name, stored in batch:
                row = None if kind == "state" and name not in sessions else _to_row(kind, name, stored)
                if row is None:
                    left_out += 1
                else:
                    rows.append(tuple(row[index] for index in order))
            await target.write(table, columns, rows)
            copied += len(rows)
            done += len(batch)
            _show(progress, kind, min(done, total), total)
    _show(progress, kind, total, total)
    return copied, left_out


def _show(progress: CopyProgress | None, kind: str, done: int, total: int) -> None:
    if progress is not None:
        progress(kind, done, total)


async def _reaching(redis: RedisEnd, call: Any) -> Any:
    """Await a Redis call; a Redis that does not answer is a StoreError naming it."""
    try:
        return await call
    except (RedisError, OSError) as exc:
        raise StoreError(f"{redis.describe()} does not answer: {exc}") from exc
