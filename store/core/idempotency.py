"""Idempotent replays: a recorded answer, and the answer as its type again."""

from __future__ import annotations

from typing import Any

from attrs import frozen
from vault.store.core.records import Appended

from vault import jsonutil
from vault.converter import unstructure


@frozen
class Replayed:
    """The recorded result of an earlier request with the same key, unstructured."""

    body: Any


def recorded_text(result: Any) -> str:
    """The JSON an idempotency key keeps of a write's result: what a replay revives."""
    if isinstance(result, Appended):
        result = result.messages()
    return jsonutil.dumps_text(unstructure(result))


def revive(result: Any, cls: type) -> Any:
    """The result as its type, whether fresh or replayed from the record."""
    if not isinstance(result, Replayed):
        return result
    if isinstance(result.body, list):
        return [cls(**item) for item in result.body]
    if isinstance(result.body, dict):
        return cls(**result.body)
    return result.body
