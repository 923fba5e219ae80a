"""What a copy moves: the tables, in the order foreign keys need, and how rows are ordered.

Column lists are read from both databases at copy time and must agree, so a
column added to one backend's schema and not the other's stops the copy
instead of being dropped. Two columns are each one backend's own way of
saying whether a metric point is folded into the rollups: SQLite's `rowid`
(against its watermark) and PostgreSQL's `folded`. A copy carries the fact
as a `folded` value at the end of each metrics row.
"""

from __future__ import annotations

from attrs import frozen


@frozen
class Table:
    name: str
    # ORDER BY for reading: primary key order, parents before children.
    order: str


TABLES: tuple[Table, ...] = (
    # First: every packed row names one of these (vault.store.core.packing).
    Table("compression_dictionaries", "id"),
    Table("sessions", "id"),
    Table("session_keys", "app_name, user_id, session_key"),
    Table("messages", "session_id, seq"),
    Table("state", "session_id"),
    Table("artifacts", "id"),
    # Folded points first: SQLite can only mark "folded" as a prefix of its rowids.
    Table("metrics", "folded-first"),
    Table("metric_rollups", "bucket, entity_name, metric_name, entity_type, labels, bucket_start"),
    Table("cache", "key"),
    Table("scoped_state", "app_name, user_id"),
    Table("checkpoints", "thread_id, checkpoint_ns, checkpoint_id"),
    Table("checkpoint_blobs", "thread_id, checkpoint_ns, channel, version"),
    Table("checkpoint_writes", "thread_id, checkpoint_ns, checkpoint_id, task_id, idx"),
    Table("idempotency_keys", "key"),
)

FOLDED = "folded"
# Columns that only one backend has; they are not copied as they are.
BACKEND_ONLY = {"rowid", FOLDED}


def shared_columns(table: str, columns: list[str]) -> list[str]:
    """The columns to copy for `table`, with `folded` last for metrics."""
    shared = [column for column in columns if column not in BACKEND_ONLY]
    return [*shared, FOLDED] if table == "metrics" else shared
