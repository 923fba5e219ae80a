"""The SQLite backend: one writer actor, a pool of readers, WAL."""

from vault.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
