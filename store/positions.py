"""WAL positions (LSNs) and what one request knows of them.

A PostgreSQL LSN is a 64-bit byte position in the write-ahead log, written
`X/Y` (two hexadecimal halves). The store remembers the position of this
instance's latest commit; a request may name a position it must see
(`Vault-Min-LSN`, from a write made through another instance) and learns the
position of the commits it made (`Vault-Commit-LSN`).

The request's positions travel in a context variable holding a mutable box:
the store fills in the box, and the middleware that set it reads it back after
the handler, whatever tasks ran in between (a task copies the context, which
would lose a plain `set`, but not a change to the object it holds).
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from attrs import define, frozen

_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")


def parse_lsn(text: str) -> int:
    """`16/B374D848` as a byte position; ValueError for anything else."""
    match = _LSN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a WAL position such as 16/B374D848")
    return (int(match[1], 16) << 32) | int(match[2], 16)


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


@define
class RequestPositions:
    """The positions of one request: what it must see, and what it committed."""

    # Reads must see at least this (Vault-Min-LSN); 0: no demand beyond the instance's own.
    min_lsn: int = 0
    # The highest position of a commit made for this request; None: it committed nothing.
    commit_lsn: int | None = None

    def committed(self, position: int) -> None:
        if self.commit_lsn is None or position > self.commit_lsn:
            self.commit_lsn = position


CURRENT: ContextVar[RequestPositions | None] = ContextVar("vault_request_positions", default=None)


def current() -> RequestPositions | None:
    return CURRENT.get()


@frozen
class ReplicaStatus:
    """One read replica as /ready, /metrics and `vault check` report it."""

    name: str  # host:port, never a password
    # up: serves reads; down: does not answer (retried every second);
    # not_in_recovery: answers but is no standby (promoted, or misnamed), so serves no reads.
    state: str
    replay_lsn: int
    lag_bytes: int | None  # behind the primary's last known position; None: not known
    lag_seconds: float
    reads: int  # reads it served
