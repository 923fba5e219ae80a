"""Releasing blobs no artifact record claims, as a write command.

`release_blobs` runs on the writer thread like every write command, so its check
("no record points at this sha256") and the unlink that follows are ordered
with the commits of new records, whose command checks that their blob is
present (writes.create_artifact). Between the two, a blob is never removed
from under a committed record.
"""

from __future__ import annotations

import sqlite3

from vault.store.core.commands import DropRawBlob, ReleaseBlobs


def release_blobs(conn: sqlite3.Connection, command: ReleaseBlobs) -> int:
    """Remove each blob no artifact references; return how many were removed."""
    removed = 0
    for sha256 in command.sha256s:
        claimed = conn.execute("SELECT 1 FROM artifacts WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone()
        if claimed is None and command.remove(sha256):
            removed += 1
    return removed


def drop_raw_blob(conn: sqlite3.Connection, command: DropRawBlob) -> bool:
    """Remove the blob's raw form if its packed copy is there, ordered with claims and releases."""
    if not command.drop(command.sha256):
        return False
    conn.execute("UPDATE artifacts SET stored_size = ? WHERE sha256 = ?", (command.stored_size, command.sha256))
    return True
