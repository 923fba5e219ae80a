"""The store actor on its own: a real SQLite file, a scratch table, no HTTP."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from vault.store import errors
from vault.store.sqlite.connection import open_writer, run_on_thread
from vault.store.sqlite.writer import Writer


def _create_table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE items (name TEXT PRIMARY KEY, parent TEXT REFERENCES items (name))")


def insert(conn: sqlite3.Connection, name: str) -> str:
    conn.execute("INSERT INTO items (name) VALUES (?)", (name,))
    return name


def insert_then_fail(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("INSERT INTO items (name) VALUES (?)", (name,))
    raise errors.NotFound("thing", name)


def insert_orphan_checked_at_commit(conn: sqlite3.Connection, name: str) -> None:
    # A deferred foreign key is checked by COMMIT, so this fails the whole batch.
    conn.execute("PRAGMA defer_foreign_keys = ON")
    conn.execute("INSERT INTO items (name, parent) VALUES (?, 'missing')", (name,))


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
    writer = Writer(conn, queue_max=queue_max, batch_max=batch_max)
    writer.start()
    return writer


async def test_concurrent_commands_share_commits(writer_conn, db_path):
    writer = make_writer(writer_conn)
    names = [f"item{i}" for i in range(200)]
    results = await asyncio.gather(*(writer.submit(insert, name) for name in names))
    await writer.close()
    assert results == names
    assert names_in(db_path) == set(names)
    assert writer.stats.commands == 200
    assert writer.stats.commits < writer.stats.commands
    assert writer.stats.largest_batch > 1


async def test_batch_size_one_commits_each_command(writer_conn):
    writer = make_writer(writer_conn, batch_max=1)
    await asyncio.gather(*(writer.submit(insert, f"item{i}") for i in range(20)))
    await writer.close()
    assert writer.stats.commits == writer.stats.commands == 20


async def test_failing_command_rolls_back_alone(writer_conn, db_path):
    # Rule: one command's failure rolls back only that command and reaches only its caller.
    writer = make_writer(writer_conn)
    outcomes = await asyncio.gather(
        writer.submit(insert, "before"),
        writer.submit(insert_then_fail, "failed"),
        writer.submit(insert, "after"),
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
        writer.submit(insert, "innocent"),
        writer.submit(insert_orphan_checked_at_commit, "orphan"),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, errors.StoreError) for outcome in outcomes)
    assert names_in(db_path) == set()
    # The writer survives a failed batch and takes the next one.
    assert await writer.submit(insert, "later") == "later"
    await writer.close()
    assert names_in(db_path) == {"later"}


async def test_full_queue_raises_busy(writer_conn, db_path):
    writer = make_writer(writer_conn, queue_max=2, batch_max=1)
    entered, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> str:
        entered.set()
        release.wait(timeout=30)
        return insert(conn, "held")

    held = asyncio.ensure_future(writer.submit(hold))
    await asyncio.get_running_loop().run_in_executor(None, entered.wait, 30)
    queued = [asyncio.ensure_future(writer.submit(insert, f"queued{i}")) for i in range(2)]
    await asyncio.sleep(0)  # let both reach the queue
    with pytest.raises(errors.StoreBusy):
        await writer.submit(insert, "rejected")
    release.set()
    assert await held == "held"
    assert await asyncio.gather(*queued) == ["queued0", "queued1"]
    await writer.close()
    assert names_in(db_path) == {"held", "queued0", "queued1"}


async def test_close_drains_queued_commands(writer_conn, db_path):
    writer = make_writer(writer_conn, batch_max=7)
    pending = [asyncio.ensure_future(writer.submit(insert, f"item{i}")) for i in range(50)]
    await asyncio.sleep(0)  # every submit is on the queue before close
    await writer.close()
    assert len(await asyncio.gather(*pending)) == 50
    assert names_in(db_path) == {f"item{i}" for i in range(50)}


async def test_closed_writer_refuses_commands(writer_conn):
    writer = make_writer(writer_conn)
    await writer.close()
    await writer.close()  # a second close is harmless
    with pytest.raises(errors.StoreClosed):
        await writer.submit(insert, "late")


async def test_a_command_marked_alone_never_shares_a_commit(writer_conn, db_path):
    # Rule: a command with effects outside the database (unlinking files) commits by itself.
    writer = make_writer(writer_conn)
    await asyncio.gather(
        writer.submit(insert, "before"),
        writer.submit(insert, "alone", alone=True),
        writer.submit(insert, "after"),
    )
    await writer.close()
    assert writer.stats.batch_sizes == [1, 1, 1]
    assert names_in(db_path) == {"before", "alone", "after"}
