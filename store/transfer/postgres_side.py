"""The PostgreSQL end of a copy: a REPEATABLE READ snapshot to read, or one transaction of COPYs to write."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
from vault.store.core.packing import Codec
from vault.store.errors import StoreError
from vault.store.postgres import migrations, search
from vault.store.postgres.connection import APPLICATION_NAME, redact
from vault.store.transfer.tables import Table, shared_columns

BATCH = 1000


class PostgresSide:
    backend = "postgresql"

    def __init__(self, dsn: str, conn: asyncpg.Connection, transaction: asyncpg.transaction.Transaction) -> None:
        self.dsn = dsn
        self._conn = conn
        self._transaction: asyncpg.transaction.Transaction | None = transaction

    @classmethod
    async def _connect(cls, dsn: str) -> asyncpg.Connection:
        try:
            return await asyncpg.connect(dsn, server_settings={"application_name": APPLICATION_NAME})
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot connect to {redact(dsn)}: {exc}") from exc

    @classmethod
    async def open_source(cls, dsn: str) -> PostgresSide:
        conn = await cls._connect(dsn)
        try:
            version = await migrations.current_version(conn)
            if version != migrations.LATEST_VERSION:
                raise StoreError(
                    f"{redact(dsn)} has schema version {version}, this Vault expects {migrations.LATEST_VERSION};"
                    " start this version on it once before copying"
                )
            # One snapshot for every table, however long the copy takes, while writers go on.
            transaction = conn.transaction(isolation="repeatable_read", readonly=True)
            await transaction.start()
        except BaseException:
            await conn.close()
            raise
        return cls(dsn, conn, transaction)

    @classmethod
    async def open_target(cls, dsn: str) -> PostgresSide:
        conn = await cls._connect(dsn)
        try:
            await migrations.migrate(conn)
            transaction = conn.transaction()
            await transaction.start()
        except BaseException:
            await conn.close()
            raise
        return cls(dsn, conn, transaction)

    def describe(self) -> str:
        return f"postgresql database {redact(self.dsn)}"

    async def columns(self, table: Table) -> list[str]:
        found = await self._conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            table.name,
        )
        return shared_columns(table.name, [row["column_name"] for row in found])

    async def count(self, table: Table) -> int:
        return await self._conn.fetchval(f"SELECT count(*) FROM {table.name}")

    async def rows(self, table: Table, columns: list[str]) -> AsyncIterator[list[tuple]]:
        order = "folded DESC, id" if table.name == "metrics" else table.order
        sql = f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY {order}"
        batch: list[tuple] = []
        async for record in self._conn.cursor(sql, prefetch=BATCH):
            batch.append(tuple(record))
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def write(self, table: Table, columns: list[str], rows: list[tuple]) -> None:
        try:
            await self._conn.copy_records_to_table(table.name, records=rows, columns=columns)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot write {table.name} to {redact(self.dsn)}: {exc}") from exc

    async def rebuild_search(self, codec: Codec) -> None:
        try:
            await self._conn.execute("DELETE FROM message_search")
            await search.backfill(self._conn, codec=codec)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot build the search index in {redact(self.dsn)}: {exc}") from exc

    async def commit(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await transaction.commit()

    async def close(self) -> None:
        transaction, self._transaction = self._transaction, None
        try:
            if transaction is not None and not self._conn.is_closed():
                await transaction.rollback()
        finally:
            await self._conn.close()
