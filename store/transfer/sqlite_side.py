"""The SQLite end of a copy: a read snapshot of a source file, or one transaction into a new target.

sqlite3 calls block, so each batch runs on a worker thread (asyncio.to_thread)
and a backup taken inside the service never stalls its event loop. The
connection is only ever used by one call at a time, and every cursor is
closed on the worker thread that used it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from vault.store.core.packing import Codec
from vault.store.errors import StoreError
from vault.store.sqlite import migrations, search
from vault.store.transfer.tables import Table, shared_columns

BATCH = 1000


class SQLiteSide:
    backend = "sqlite"

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._metrics_written = 0
        self._folded_written = 0

    @classmethod
    async def open_source(cls, path: str | Path) -> SQLiteSide:
        path = Path(path).resolve()
        if not path.is_file():
            raise StoreError(f"no database at {path}")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
            try:
                version = migrations.current_version(conn)
                if version != migrations.LATEST_VERSION:
                    raise StoreError(
                        f"{path} has schema version {version}, this Vault expects {migrations.LATEST_VERSION};"
                        " open it with this version once (vault migrate) before copying"
                    )
                # Every read from here on sees one snapshot, however long the copy takes.
                conn.execute("BEGIN")
                conn.execute("SELECT count(*) FROM sessions").fetchone()
            except BaseException:
                conn.close()
                raise
            return conn

        try:
            return cls(path, await asyncio.to_thread(connect))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc

    @classmethod
    async def open_target(cls, path: str | Path) -> SQLiteSide:
        path = Path(path).resolve()

        def connect() -> sqlite3.Connection:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA foreign_keys=ON")
                migrations.migrate(conn)
                conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                conn.close()
                raise
            return conn

        try:
            return cls(path, await asyncio.to_thread(connect))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write {path}: {exc}") from exc

    def describe(self) -> str:
        return f"sqlite file {self.path}"

    async def _run(self, fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    async def columns(self, table: Table) -> list[str]:
        found = await self._run(lambda: self._conn.execute(f"PRAGMA table_info({table.name})").fetchall())
        return shared_columns(table.name, [row[1] for row in found])

    async def count(self, table: Table) -> int:
        return await self._run(lambda: self._conn.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])

    async def rows(self, table: Table, columns: list[str]) -> AsyncIterator[list[tuple]]:
        if table.name == "metrics":
            # A point is folded when its rowid is at or below the rollup watermark.
            names = ", ".join(columns[:-1])
            sql = (
                f"SELECT {names}, rowid <= coalesce((SELECT last_rowid FROM rollup_watermark"
                " WHERE name = 'metrics'), 0) FROM metrics ORDER BY rowid"
            )
        else:
            sql = f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY {table.order}"
        cursor = await self._run(self._conn.execute, sql)
        try:
            while batch := await self._run(cursor.fetchmany, BATCH):
                if table.name == "metrics":
                    batch = [(*row[:-1], bool(row[-1])) for row in batch]
                yield batch
        finally:
            await self._run(cursor.close)

    async def write(self, table: Table, columns: list[str], rows: list[tuple]) -> None:
        if table.name == "metrics":
            rows, columns = self._metrics_with_rowids(rows), ["rowid", *columns[:-1]]
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        # The cursor must not outlive the call on its worker thread: freed later on
        # another thread, it would reset a cached statement the next call is using.
        await self._run(lambda: self._conn.executemany(sql, rows).close())

    def _metrics_with_rowids(self, rows: list[tuple]) -> list[tuple]:
        """Number points 1, 2, 3... in arrival order; folded ones must come first."""
        numbered = []
        for row in rows:
            self._metrics_written += 1
            if row[-1]:
                if self._folded_written != self._metrics_written - 1:
                    raise StoreError("metrics arrived with a folded point after an unfolded one")
                self._folded_written += 1
            numbered.append((self._metrics_written, *row[:-1]))
        return numbered

    async def rebuild_search(self, codec: Codec) -> None:
        def rebuild() -> None:
            self._conn.execute("DELETE FROM message_search")
            search.backfill(self._conn, codec=codec)

        await self._run(rebuild)

    async def commit(self) -> None:
        def finish() -> None:
            if self._folded_written:
                self._conn.execute(
                    "INSERT INTO rollup_watermark (name, last_rowid) VALUES ('metrics', ?)"
                    " ON CONFLICT (name) DO UPDATE SET last_rowid = excluded.last_rowid",
                    (self._folded_written,),
                )
            self._conn.execute("COMMIT")

        await self._run(finish)

    async def close(self) -> None:
        def close() -> None:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._conn.close()

        await asyncio.to_thread(close)
