"""What a store operation can fail with; vault.errors maps each to HTTP."""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """Base of every error a store raises on purpose."""


class NotFound(StoreError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class PreconditionFailed(StoreError):
    """If-Match named a version that is not the current one."""

    def __init__(self, current: Any) -> None:
        super().__init__(f"version {current.version} is the current one")
        self.current = current


class InvalidReference(StoreError):
    """A request names something that does not fit (e.g. `after=` in another session)."""

    def __init__(self, loc: list[Any], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class IdempotencyMismatch(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was used with a different request")
        self.key = key


class StoreBusy(StoreError):
    """The write queue is full; the caller should retry shortly."""


class StoreClosed(StoreError):
    """The store is shutting down and takes no more commands."""


class DiskFull(StoreError):
    """The database could not grow."""


class StoreReadOnly(StoreError):
    """The database cannot be written (read-only file or mount)."""


class StoreUnavailable(StoreError):
    """The database failed (I/O error, corruption); nothing was acknowledged."""


class SchemaTooNew(StoreError):
    """The database was written by a newer version of The Vault."""
