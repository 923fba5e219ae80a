"""A schema migration: the same numbered steps in every backend, each in its own SQL."""

from __future__ import annotations

from attrs import frozen


@frozen
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
