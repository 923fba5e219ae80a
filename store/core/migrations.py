"""A schema migration: a numbered step of one backend's schema, in its own SQL.

The backends share their first steps; a step that only one engine needs (SQLite's
rowid tables, version 4) exists in that backend's list alone.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen


@frozen
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    # Rebuilding a table that others reference needs foreign keys off for the
    # drop and rename (SQLite ignores the pragma inside a transaction), and a
    # foreign-key check before the COMMIT, so nothing dangles afterwards.
    rebuilds_tables: bool = False
    # Rows to write once the statements have run, in the same transaction (building an
    # index over existing data): called with the backend's connection and a progress
    # callback, (rows done, rows in all) -> None, or None.
    backfill: Any = None
