"""Idempotent replays: a recorded answer, and the answer as its type again."""

from __future__ import annotations

from typing import Any

from attrs import frozen


@frozen
class Replayed:
    """The recorded result of an earlier request with the same key, unstructured."""

    body: Any


def revive(result: Any, cls: type) -> Any:
    """The result as its type, whether fresh or replayed from the record."""
    if not isinstance(result, Replayed):
        return result
    if isinstance(result.body, list):
        return [cls(**item) for item in result.body]
    if isinstance(result.body, dict):
        return cls(**result.body)
    return result.body
