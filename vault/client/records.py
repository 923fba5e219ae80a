"""Answers that have no record in vault.models: service and admin routes.

Fields a newer service might leave out have defaults, so the client keeps
working across versions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import Factory, frozen


@frozen
class Health:
    status: str
    service: str = ""
    version: str = ""
    backend: str = ""
    # Where each kind of data lives: database, cache, state, artifacts.
    backends: dict[str, str] = Factory(dict)


@frozen
class BackupFile:
    """A backup on the service's disk, as `GET /storage/admin/backups` lists it."""

    file: str
    size: int
    created_at: datetime


@frozen
class JobStatus:
    """One scheduled job, as `GET /storage/admin/jobs` reports it."""

    id: str
    description: str = ""
    next_run: datetime | None = None
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_duration_seconds: float | None = None
    last_outcome: str | None = None
    last_result: Any = None
    last_error: str | None = None
    runs: int = 0
    failures: int = 0
    missed: int = 0


@frozen
class Content:
    """An artifact's bytes with the headers that describe them."""

    data: bytes
    content_type: str | None
    etag: str | None
    filename: str | None = None
