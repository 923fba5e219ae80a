"""The SQLite backend: one writer actor, a pool of readers, WAL."""

from store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
