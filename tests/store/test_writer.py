"""The store actor on its own: a real SQLite file, a scratch table, no HTTP."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import ClassVar

import pytest
from attrs import frozen
from vault.store import errors
from vault.store.core.commands import Command
from vault.store.sqlite.connection import open_writer, run_on_thread
from vault.store.sqlite.writer import Writer


def _create_table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE items (name TEXT PRIMARY KEY, parent TEXT REFERENCES items (name))")


# Test-only commands over the scratch table, run through the writer's table of operations.


@frozen
class Insert(Command):
    name: str


@frozen
class InsertAlone(Insert):
    alone: ClassVar[bool] = True


@frozen
class InsertThenFail(Command):
    name: str


@frozen
class InsertOrphanCheckedAtCommit(Command):
    name: str


@frozen
class HoldThenInsert(Command):
    name: str
    entered: threading.Event
    release: threading.Event


def insert(conn: sqlite3.Connection, command: Insert) -> str:
    conn.execute("INSERT INTO items (name) VALUES (?)", (command.name,))
    return command.name


def insert_then_fail(conn: sqlite3.Connection, command: InsertThenFail) -> None:
    conn.execute("INSERT INTO items (name) VALUES (?)", (command.name,))
    raise errors.NotFound("thing", command.name)


def insert_orphan_checked_at_commit(conn: sqlite3.Connection, command: InsertOrphanCheckedAtCommit) -> None:
    # A deferred foreign key is checked by COMMIT, so this fails the whole batch.
    conn.execute("PRAGMA defer_foreign_keys = ON")
    conn.execute("INSERT INTO items (name, parent) VALUES (?, 'missing')", (command.name,))


def hold_then_insert(conn: sqlite3.Connection, command: HoldThenInsert) -> str:
    command.entered.set()
    command.release.wait(timeout=30)
    return insert(conn, Insert(command.name))


OPERATIONS = {
    Insert: insert,
    InsertAlone: insert,
    InsertThenFail: insert_then_fail,
    InsertOrphanCheckedAtCommit: insert_orphan_checked_at_commit,
    HoldThenInsert: hold_then_insert,
}


def names_in(path: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM items")}


@pytest.fixture
async def writer_conn(db_path):
    conn = await open_writer(db_path, "full")
    await run_on_thread(conn, _create_table)
    yield conn
    await conn.close()


def make_writer(conn, *, queue_max: int = 1000, batch_max: int = 256) -> Writer:
    writer = Writer(conn, operations=OPERATIONS, queue_max=queue_max, batch_max=batch_max)
    writer.start()
    return writer


async def test_concurrent_commands_share_commits(writer_conn, db_path):
    writer = make_writer(writer_conn)
    names = [f"item{i}" for i in range(200)]
    results = await asyncio.gather(*(writer.submit(Insert(name)) for name in names))
    await writer.close()
    assert results == names
    assert names_in(db_path) == set(names)
    assert writer.stats.commands == 200
    assert writer.stats.commits < writer.stats.commands
    assert writer.stats.largest_batch > 1


async def test_batch_size_one_commits_each_command(writer_conn):
    writer = make_writer(writer_conn, batch_max=1)
    await asyncio.gather(*(writer.submit(Insert(f"item{i}")) for i in range(20)))
    await writer.close()
    assert writer.stats.commits == writer.stats.commands == 20


async def test_failing_command_rolls_back_alone(writer_conn, db_path):
    # Rule: one command's failure rolls back only that command and reaches only its caller.
    writer = make_writer(writer_conn)
    outcomes = await asyncio.gather(
        writer.submit(Insert("before")),
        writer.submit(InsertThenFail("failed")),
        writer.submit(Insert("after")),
        return_exceptions=True,
    )
    await writer.close()
    assert outcomes[0] == "before"
    assert isinstance(outcomes[1], errors.NotFound)
    assert outcomes[2] == "after"
    assert writer.stats.commits == 1
    assert names_in(db_path) == {"before", "after"}


async def test_failed_commit_acknowledges_nothing(writer_conn, db_path):
    # Rule: nothing is acknowledged before COMMIT returns.
    writer = make_writer(writer_conn)
    outcomes = await asyncio.gather(
        writer.submit(Insert("innocent")),
        writer.submit(InsertOrphanCheckedAtCommit("orphan")),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, errors.StoreError) for outcome in outcomes)
    assert names_in(db_path) == set()
    # The writer survives a failed batch and takes the next one.
    assert await writer.submit(Insert("later")) == "later"
    await writer.close()
    assert names_in(db_path) == {"later"}


async def test_full_queue_raises_busy(writer_conn, db_path):
    writer = make_writer(writer_conn, queue_max=2, batch_max=1)
    entered, release = threading.Event(), threading.Event()
    held = asyncio.ensure_future(writer.submit(HoldThenInsert("held", entered, release)))
    await asyncio.get_running_loop().run_in_executor(None, entered.wait, 30)
    queued = [asyncio.ensure_future(writer.submit(Insert(f"queued{i}"))) for i in range(2)]
    await asyncio.sleep(0)  # let both reach the queue
    with pytest.raises(errors.StoreBusy):
        await writer.submit(Insert("rejected"))
    release.set()
    assert await held == "held"
    assert await asyncio.gather(*queued) == ["queued0", "queued1"]
    await writer.close()
    assert names_in(db_path) == {"held", "queued0", "queued1"}


async def test_close_drains_queued_commands(writer_conn, db_path):
    writer = make_writer(writer_conn, batch_max=7)
    pending = [asyncio.ensure_future(writer.submit(Insert(f"item{i}"))) for i in range(50)]
    await asyncio.sleep(0)  # every submit is on the queue before close
    await writer.close()
    assert len(await asyncio.gather(*pending)) == 50
    assert names_in(db_path) == {f"item{i}" for i in range(50)}


async def test_closed_writer_refuses_commands(writer_conn):
    writer = make_writer(writer_conn)
    await writer.close()
    await writer.close()  # a second close is harmless
    with pytest.raises(errors.StoreClosed):
        await writer.submit(Insert("late"))


async def test_a_command_marked_alone_never_shares_a_commit(writer_conn, db_path):
    # Rule: a command with effects outside the database (unlinking files) commits by itself.
    writer = make_writer(writer_conn)
    await asyncio.gather(
        writer.submit(Insert("before")),
        writer.submit(InsertAlone("alone")),
        writer.submit(Insert("after")),
    )
    await writer.close()
    assert writer.stats.batch_sizes == [1, 1, 1]
    assert names_in(db_path) == {"before", "alone", "after"}


async def test_the_writer_runs_store_commands_only(writer_conn, db_path):
    # Rule: the writer takes known commands only; there is no "run any function" write path.
    writer = make_writer(writer_conn)

    @frozen
    class Unregistered(Command):
        name: str

    with pytest.raises(TypeError):
        await writer.submit(insert, "raw")
    with pytest.raises(TypeError):
        await writer.submit(Unregistered("unknown"))
    await writer.close()
    assert writer.stats.commands == 0
    assert names_in(db_path) == set()
