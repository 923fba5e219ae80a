"""What a list read asks for, as handlers parse it from the query string."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from vault.search import Term

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@frozen
class SessionQuery:
    agent_name: str | None = None
    user_id: str | None = None
    status: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@frozen
class KeyedSessionQuery:
    """The keyed sessions of an app, or of one user of it, by user and key."""

    app_name: str
    user_id: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@frozen
class HistoryQuery:
    """The newest `limit` messages unless `after`, `before` or `offset` is given.

    `after` and `before` are a seq number or a message id.
    """

    session_id: str
    limit: int = DEFAULT_LIMIT
    after: str | None = None
    before: str | None = None
    offset: int | None = None
    role: str | None = None


@frozen
class ArtifactQuery:
    session_id: str | None = None
    type: str | None = None
    name: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@frozen
class MetricQuery:
    entity_type: str | None = None
    entity_name: str | None = None
    session_id: str | None = None
    metric_name: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@frozen
class CheckpointQuery:
    """A thread's checkpoints, newest first: in one namespace ("" is the root) or, with None, in all."""

    thread_id: str
    checkpoint_ns: str | None = None
    # Only checkpoints whose id sorts before this one.
    before: str | None = None
    # Only checkpoints whose metadata holds each of these keys with this value.
    metadata: dict[str, Any] | None = None
    limit: int = DEFAULT_LIMIT


ROLLUP_BUCKETS = ("minute", "hour", "day")


@frozen
class RollupQuery:
    metric_name: str
    bucket: str = "hour"
    entity_name: str | None = None
    entity_type: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


@frozen
class SearchQuery:
    """Messages that hold every term, best match first; optionally within a session, agent, user or role."""

    terms: tuple[Term, ...]
    session_id: str | None = None
    agent_name: str | None = None
    user_id: str | None = None
    role: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
