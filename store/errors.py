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


class AlreadyExists(StoreError):
    """A create names an id that is taken."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} already exists")
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


class BackupRunning(StoreError):
    """Another backup into the same folder is running; it is named by its file name, never its path."""

    def __init__(self, file: str, started_at: str) -> None:
        super().__init__(f"backup {file}, started at {started_at}, is still running")
        self.file = file
        self.started_at = started_at


class DiskFull(StoreError):
    """The database could not grow."""


class StoreReadOnly(StoreError):
    """The database cannot be written (read-only file or mount)."""


class StoreUnavailable(StoreError):
    """The database failed (I/O error, corruption); nothing was acknowledged."""


class SchemaTooNew(StoreError):
    """The database was written by a newer version of The Vault."""


class ContentTooLarge(StoreError):
    """Artifact content went past the configured cap; nothing was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the artifact content is larger than the limit of {limit} bytes")
        self.limit = limit


class DocumentTooLarge(StoreError):
    """A document (metadata, state data, a cache value, a message) would be stored larger than the bound."""

    def __init__(self, field: str, size: int, limit: int) -> None:
        super().__init__(
            f"{field} would be stored as {size} bytes of JSON, over the limit of {limit} bytes"
            " (VAULT_MAX_DOCUMENT_BYTES); nothing was written"
        )
        self.field = field
        self.size = size
        self.limit = limit


class BlobMissing(StoreError):
    """An artifact's bytes are not in the blob store (removed since they were placed, or lost)."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"the stored content {sha256} is missing")
        self.sha256 = sha256


class CorruptDocument(StoreError):
    """A stored document cannot be read back (a damaged frame, or a dictionary the database lacks)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}; the database is damaged: restore it from a backup")


class EventsPruned(StoreError):
    """A change feed cursor from before the events still kept: those after it are gone."""

    def __init__(self, cursor: str, oldest: str | None) -> None:
        super().__init__(f"the events after {cursor} are no longer kept; the oldest kept is {oldest}")
        self.oldest = oldest
