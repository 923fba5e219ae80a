"""The conditions of each list query: (column and operator, value), the same in every backend.

A backend turns the given ones (value not None) into its WHERE clause with its
own placeholders.
"""

from __future__ import annotations

from typing import Any

from vault.store.core.rollups import bucket_start

from vault.queries import (
    ArtifactQuery,
    CheckpointQuery,
    KeyedSessionQuery,
    MetricQuery,
    RollupQuery,
    SearchQuery,
    SessionQuery,
)

Filters = list[tuple[str, Any]]


def session_filters(query: SessionQuery) -> Filters:
    return [("agent_name =", query.agent_name), ("user_id =", query.user_id), ("status =", query.status)]


def keyed_session_filters(query: KeyedSessionQuery) -> Filters:
    """Conditions on a key `k` (vault.store.core.session_keys)."""
    return [("k.app_name =", query.app_name), ("k.user_id =", query.user_id)]


def search_filters(query: SearchQuery) -> Filters:
    """Conditions on a search's message `m` and its session `s`."""
    return [
        ("m.session_id =", query.session_id),
        ("m.role =", query.role),
        ("s.agent_name =", query.agent_name),
        ("s.user_id =", query.user_id),
    ]


def artifact_filters(query: ArtifactQuery) -> Filters:
    return [("session_id =", query.session_id), ("type =", query.type), ("name =", query.name)]


def checkpoint_filters(query: CheckpointQuery) -> Filters:
    return [
        ("thread_id =", query.thread_id),
        ("checkpoint_ns =", query.checkpoint_ns),
        ("checkpoint_id <", query.before),
    ]


def metric_filters(query: MetricQuery) -> Filters:
    return [
        ("entity_type =", query.entity_type),
        ("entity_name =", query.entity_name),
        ("session_id =", query.session_id),
        ("metric_name =", query.metric_name),
        ("timestamp >=", query.start_time),
        ("timestamp <=", query.end_time),
    ]


def rollup_filters(query: RollupQuery) -> list[tuple[str, Any]]:
    """(column and operator, value) for each condition of a rollup query; a None value is not given."""
    return [
        ("bucket =", query.bucket),
        ("metric_name =", query.metric_name),
        ("entity_name =", query.entity_name),
        ("entity_type =", query.entity_type),
        ("bucket_start >=", query.start_time and bucket_start(query.start_time, query.bucket)),
        ("bucket_start <=", query.end_time),
    ]
