"""The SQLite backend: one writer actor, a pool of readers, WAL."""

from vault.store.sqlite.store import SQLiteSettings, SQLiteStore

__all__ = ["SQLiteSettings", "SQLiteStore"]
