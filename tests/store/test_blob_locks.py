"""Blob locks order claims and releases of one blob across the processes that share a SQLite file."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from vault.store.sqlite.blob_locks import BlobLocks, lock_path, slot_of

SHA = "ab" * 32
OTHER_SLOT = "cd" * 32

# Another process: takes the blob's byte, says so, and gives it back when told.
HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, int(sys.argv[2]))
print("held", flush=True)
sys.stdin.readline()
"""


async def test_a_lock_held_by_another_process_is_waited_for(tmp_path):
    db = tmp_path / "vault.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_path(db)), str(slot_of(SHA))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    locks = BlobLocks(db)
    locks.open()
    try:
        assert holder.stdout.readline().strip() == "held"
        entered = asyncio.Event()

        async def claim() -> None:
            async with locks.holding(SHA):
                entered.set()

        waiting = asyncio.create_task(claim())
        # Another blob's lock is free meanwhile.
        async with locks.holding(OTHER_SLOT):
            pass
        await asyncio.sleep(0.3)
        assert not entered.is_set()

        holder.stdin.write("\n")
        holder.stdin.flush()
        await asyncio.wait_for(waiting, 30)
        assert entered.is_set()
    finally:
        holder.kill()
        holder.communicate()  # waits, and closes its pipes
        locks.close()


async def test_holders_of_one_blob_in_one_process_take_turns(tmp_path):
    locks = BlobLocks(tmp_path / "vault.db")
    locks.open()
    inside = 0
    most = 0

    async def hold() -> None:
        nonlocal inside, most
        async with locks.holding(SHA):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    try:
        await asyncio.gather(*(hold() for _ in range(10)))
    finally:
        locks.close()
    assert most == 1


async def test_a_cancelled_wait_leaves_the_lock_free(tmp_path):
    locks = BlobLocks(tmp_path / "vault.db")
    locks.open()
    try:
        release = asyncio.Event()

        async def hold() -> None:
            async with locks.holding(SHA):
                await release.wait()

        holding = asyncio.create_task(hold())
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(hold())
        await asyncio.sleep(0.05)
        waiting.cancel()
        release.set()
        await holding
        async with locks.holding(SHA):
            pass
    finally:
        locks.close()
