"""Copy a whole Vault database from one backend to another, then verify the counts.

The source is read in one snapshot (the service may keep running on it); the
target must be empty, is brought to the current schema, and receives every
table in one transaction, so a failed copy leaves it empty. After COMMIT each
table is counted again on the target and compared with the source's count
from the snapshot.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Protocol

from attrs import frozen
from vault.store.core.packing import Codec
from vault.store.errors import StoreError
from vault.store.transfer.postgres_side import PostgresSide
from vault.store.transfer.sqlite_side import SQLiteSide
from vault.store.transfer.tables import TABLES, Table
from vault.store.transfer.urls import DatabaseUrl

DICTIONARIES = Table("compression_dictionaries", "id")

# (table, rows done, rows in the table)
CopyProgress = Callable[[str, int, int], None]


class Side(Protocol):
    backend: str

    def describe(self) -> str: ...
    async def columns(self, table: Table) -> list[str]: ...
    async def count(self, table: Table) -> int: ...
    def rows(self, table: Table, columns: list[str]) -> AsyncIterator[list[tuple]]: ...
    async def write(self, table: Table, columns: list[str], rows: list[tuple]) -> None: ...
    async def rebuild_search(self, codec: Codec) -> None: ...
    async def commit(self) -> None: ...
    async def close(self) -> None: ...


@frozen
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@frozen
class CopyReport:
    source: str
    target: str
    counts: tuple[TableCount, ...]
    seconds: float
    # What the copy left out on purpose, and why, one sentence each.
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(count.ok for count in self.counts)

    @property
    def rows(self) -> int:
        return sum(count.source for count in self.counts)


async def side_codec(side: Side) -> Codec:
    """A codec holding the dictionaries a database (source, or target once copied) has, to unpack its rows."""
    codec = Codec()
    async with aclosing(side.rows(DICTIONARIES, ["id", "kind", "content"])) as batches:
        async for batch in batches:
            for dict_id, kind, content in batch:
                codec.dictionaries.add(dict_id, kind, bytes(content))
    return codec


async def open_source(url: DatabaseUrl) -> Side:
    if url.backend == "sqlite":
        return await SQLiteSide.open_source(url.location)
    return await PostgresSide.open_source(url.location)


async def open_target(url: DatabaseUrl) -> Side:
    if url.backend == "sqlite":
        return await SQLiteSide.open_target(url.location)
    return await PostgresSide.open_target(url.location)


async def copy_database(
    source_url: DatabaseUrl, target_url: DatabaseUrl, progress: CopyProgress | None = None
) -> CopyReport:
    """Copy every table from source to the empty target; the report says whether the counts agree."""
    if source_url == target_url:
        raise StoreError("the source and the target are the same database")
    source = await open_source(source_url)
    try:
        target = await open_target(target_url)
        try:
            return await copy_between(source, target, progress)
        finally:
            await target.close()
    finally:
        await source.close()


async def copy_between(source: Side, target: Side, progress: CopyProgress | None = None) -> CopyReport:
    started = time.monotonic()
    plan = []
    for table in TABLES:
        columns = await source.columns(table)
        target_columns = await target.columns(table)
        if sorted(columns) != sorted(target_columns):
            raise StoreError(
                f"table {table.name} differs: {source.describe()} has {columns},"
                f" {target.describe()} has {target_columns}"
            )
        if await target.count(table):
            raise StoreError(f"{target.describe()} already holds {table.name}; copy into an empty database")
        plan.append((table, columns, await source.count(table)))
    for table, columns, total in plan:
        done = 0
        if progress is not None:
            progress(table.name, done, total)
        # aclosing: a failed write closes the source's cursor now, before its connection closes.
        async with aclosing(source.rows(table, columns)) as batches:
            async for batch in batches:
                await target.write(table, columns, batch)
                done += len(batch)
                if progress is not None:
                    progress(table.name, done, total)
    # The search index is not copied: it is built again from the messages copied, as a migration builds it.
    await target.rebuild_search(await side_codec(target))
    await target.commit()
    counts = tuple([TableCount(table.name, total, await target.count(table)) for table, _, total in plan])
    return CopyReport(source.describe(), target.describe(), counts, round(time.monotonic() - started, 3))
