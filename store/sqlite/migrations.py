"""Schema migrations: an ordered list, each applied with its record in one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial

from vault.store.core.copies import schema_version as current_version
from vault.store.core.migrations import Migration
from vault.store.errors import SchemaTooNew
from vault.store.sqlite import search

from vault import clock

# (the migration, rows done, rows in all), from a migration that writes rows.
Progress = Callable[[Migration, int, int], None]


def _as_rowid_table(table: str, columns: str, indexes: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Statements that rebuild `table` as a rowid table with the same columns, rows and indexes."""
    return (
        f"CREATE TABLE {table}_rebuilt ({columns})",
        f"INSERT INTO {table}_rebuilt SELECT * FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_rebuilt RENAME TO {table}",
        *indexes,
    )


# The columns of the tables that hold documents, written once: version 1 made
# them WITHOUT ROWID tables, version 4 rebuilds them as rowid tables with the
# same columns. Tables holding documents (metadata, state, cache values, message
# bodies) are rowid tables from version 4 on. In a WITHOUT ROWID table the whole row is the
# b-tree key, so a search that passes a row with a multi-megabyte document reads
# its overflow chain to compare keys: one large session made every foreign-key
# check on `sessions` (each append, each delete) read it again. In a rowid table
# the document sits in the leaf and only a read of that column touches it.
SESSIONS_COLUMNS = """
    id TEXT PRIMARY KEY,
    agent_name TEXT NOT NULL,
    user_id TEXT,
    status TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0,
    last_seq INTEGER NOT NULL DEFAULT 0"""
MESSAGES_COLUMNS = """
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)"""
STATE_COLUMNS = """
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL"""
ARTIFACTS_COLUMNS = """
    id TEXT PRIMARY KEY,
    session_id TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    content_type TEXT,
    path TEXT,
    size INTEGER,
    sha256 TEXT,
    metadata TEXT NOT NULL,
    created_at TEXT NOT NULL"""
CACHE_COLUMNS = """
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    ttl INTEGER,
    created_at TEXT NOT NULL,
    accessed_at TEXT NOT NULL,
    expires_at TEXT"""
IDEMPOTENCY_COLUMNS = """
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL"""
# Each table's indexes, written once: made in the versions that first built the
# tables, and made again when version 4 rebuilds them.
SESSIONS_INDEXES = (
    "CREATE INDEX sessions_by_agent ON sessions (agent_name, id)",
    "CREATE INDEX sessions_by_user ON sessions (user_id, id)",
    "CREATE INDEX sessions_by_status ON sessions (status, id)",
)
ARTIFACTS_INDEXES = (
    "CREATE INDEX artifacts_by_session ON artifacts (session_id, id)",
    "CREATE INDEX artifacts_by_type ON artifacts (type, id)",
)
ARTIFACTS_BY_SHA256 = "CREATE INDEX artifacts_by_sha256 ON artifacts (sha256) WHERE sha256 IS NOT NULL"
CACHE_BY_EXPIRY = "CREATE INDEX cache_by_expiry ON cache (expires_at) WHERE expires_at IS NOT NULL"
IDEMPOTENCY_KEYS_BY_AGE = "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at)"

# Version 5, the same in both backends but for the types: each document column
# gets its packed frame (the text column is then empty) and its size as sent.
COMPRESSION_STATEMENTS = (
    "ALTER TABLE messages ADD COLUMN body_packed BLOB",
    "ALTER TABLE messages ADD COLUMN body_size INTEGER",
    "ALTER TABLE state ADD COLUMN data_packed BLOB",
    "ALTER TABLE state ADD COLUMN data_size INTEGER",
    "ALTER TABLE cache ADD COLUMN value_packed BLOB",
    "ALTER TABLE cache ADD COLUMN value_size INTEGER",
    # Never updated or deleted while a frame may name it: old rows stay readable.
    """CREATE TABLE compression_dictionaries (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        content BLOB NOT NULL,
        samples INTEGER NOT NULL,
        created_at TEXT NOT NULL
    )""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "sessions, history, state, artifacts, metrics, cache, idempotency keys",
        (
            f"CREATE TABLE sessions ({SESSIONS_COLUMNS}) WITHOUT ROWID",
            *SESSIONS_INDEXES,
            # Clustered by (session_id, seq): a context window is one range scan.
            # A message never changes once written, so it is kept as the JSON it
            # is served as, and a window is answered without decoding anything.
            f"CREATE TABLE messages ({MESSAGES_COLUMNS}) WITHOUT ROWID",
            f"CREATE TABLE state ({STATE_COLUMNS}) WITHOUT ROWID",
            f"CREATE TABLE artifacts ({ARTIFACTS_COLUMNS}) WITHOUT ROWID",
            *ARTIFACTS_INDEXES,
            # AUTOINCREMENT: rowids are never reused, so a rollup watermark stays true.
            """CREATE TABLE metrics (
                rowid INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                entity_type TEXT NOT NULL,
                entity_name TEXT NOT NULL,
                session_id TEXT REFERENCES sessions (id) ON DELETE CASCADE,
                metric_name TEXT NOT NULL,
                value REAL NOT NULL,
                labels TEXT NOT NULL,
                timestamp TEXT NOT NULL
            )""",
            "CREATE INDEX metrics_by_entity ON metrics (entity_name, metric_name, timestamp)",
            "CREATE INDEX metrics_by_session ON metrics (session_id, timestamp)",
            "CREATE INDEX metrics_by_time ON metrics (timestamp)",
            f"CREATE TABLE cache ({CACHE_COLUMNS}) WITHOUT ROWID",
            CACHE_BY_EXPIRY,
            f"CREATE TABLE idempotency_keys ({IDEMPOTENCY_COLUMNS}) WITHOUT ROWID",
            IDEMPOTENCY_KEYS_BY_AGE,
        ),
    ),
    Migration(
        2,
        "metric rollups and their watermark",
        (
            # One row per bucket and series; labels are canonical JSON (sorted keys).
            """CREATE TABLE metric_rollups (
                bucket TEXT NOT NULL,
                entity_name TEXT NOT NULL,
                metric_name TEXT NOT NULL,
                entity_type TEXT NOT NULL,
                labels TEXT NOT NULL,
                bucket_start TEXT NOT NULL,
                count INTEGER NOT NULL,
                sum REAL NOT NULL,
                min REAL NOT NULL,
                max REAL NOT NULL,
                PRIMARY KEY (bucket, entity_name, metric_name, entity_type, labels, bucket_start)
            ) WITHOUT ROWID""",
            "CREATE INDEX metric_rollups_by_metric ON metric_rollups (bucket, metric_name, bucket_start)",
            # The highest metrics rowid already folded: a rerun never counts a point twice.
            """CREATE TABLE rollup_watermark (
                name TEXT PRIMARY KEY,
                last_rowid INTEGER NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        3,
        "artifacts by content hash",
        (
            # Blobs are shared by content: releasing one asks whether any record still points at it.
            ARTIFACTS_BY_SHA256,
        ),
    ),
    Migration(
        4,
        "documents in rowid tables, so one large document slows no other row",
        (
            *_as_rowid_table(
                "sessions",
                SESSIONS_COLUMNS,
                SESSIONS_INDEXES,
            ),
            *_as_rowid_table("messages", MESSAGES_COLUMNS),
            *_as_rowid_table("state", STATE_COLUMNS),
            *_as_rowid_table(
                "artifacts",
                ARTIFACTS_COLUMNS,
                (*ARTIFACTS_INDEXES, ARTIFACTS_BY_SHA256),
            ),
            *_as_rowid_table(
                "cache",
                CACHE_COLUMNS,
                (CACHE_BY_EXPIRY,),
            ),
            *_as_rowid_table(
                "idempotency_keys",
                IDEMPOTENCY_COLUMNS,
                (IDEMPOTENCY_KEYS_BY_AGE,),
            ),
        ),
        rebuilds_tables=True,
    ),
    Migration(
        5,
        "documents kept zstd-compressed, and the dictionaries their frames name",
        (
            # Nullable columns: adding them rewrites no row. Rows from before keep
            # their text and NULLs here, and are read as they are.
            *COMPRESSION_STATEMENTS,
        ),
    ),
    Migration(6, "search index over history", search.SCHEMA, backfill=search.backfill),
    Migration(
        7,
        "change feed: the events each write records, and how far retention has pruned them",
        (
            # AUTOINCREMENT: an id is never given twice, even once retention has
            # deleted every row, so a subscriber's cursor never meets a reused id.
            # The single writer commits in id order, so id order is commit order.
            """CREATE TABLE IF NOT EXISTS events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                type TEXT NOT NULL,
                session_id TEXT,
                at TEXT NOT NULL,
                data TEXT,
                -- A message's event: its message is (session_id, message_seq), read with the event.
                message_seq INTEGER
            )""",
            # One row: the newest event id retention has deleted; a cursor before it is gone (410).
            "CREATE TABLE IF NOT EXISTS event_horizon"
            " (id INTEGER PRIMARY KEY CHECK (id = 1), pruned_through TEXT NOT NULL)",
        ),
    ),
    Migration(
        8,
        "checkpoints of threads, state scoped to an app or to a user of it, artifacts by type and name",
        (
            # The checkpoint without its channel values, which live in checkpoint_blobs
            # once per (channel, version) and are shared by the checkpoints that name them.
            """CREATE TABLE checkpoints (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL,
                checkpoint_id TEXT NOT NULL,
                parent_checkpoint_id TEXT,
                run_id TEXT,
                checkpoint TEXT NOT NULL,
                metadata TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
            )""",
            "CREATE INDEX checkpoints_by_run ON checkpoints (run_id) WHERE run_id IS NOT NULL",
            """CREATE TABLE checkpoint_blobs (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL,
                channel TEXT NOT NULL,
                version TEXT NOT NULL,
                type TEXT NOT NULL,
                data BLOB NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
            )""",
            """CREATE TABLE checkpoint_writes (
                thread_id TEXT NOT NULL,
                checkpoint_ns TEXT NOT NULL,
                checkpoint_id TEXT NOT NULL,
                task_id TEXT NOT NULL,
                idx INTEGER NOT NULL,
                channel TEXT NOT NULL,
                type TEXT NOT NULL,
                data BLOB NOT NULL,
                task_path TEXT NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
            )""",
            # An artifact's versions, found by type and name (framework adapters keep one file's versions so).
            "CREATE INDEX artifacts_by_type_name ON artifacts (type, name, id)",
            # user_id is '' for the app's own state (a user id is never empty).
            """CREATE TABLE scoped_state (
                app_name TEXT NOT NULL,
                user_id TEXT NOT NULL,
                data TEXT NOT NULL,
                data_packed BLOB,
                data_size INTEGER,
                version INTEGER NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (app_name, user_id)
            )""",
        ),
    ),
    Migration(
        9,
        "the size each artifact's blob is kept in",
        (
            # NULL (rows from before): kept as sent, so its size. Adding it rewrites no row.
            "ALTER TABLE artifacts ADD COLUMN stored_size INTEGER",
        ),
    ),
    Migration(
        10,
        "sessions found by a key their client chose, within an app and a user",
        (
            # The primary key decides which of two creates of one key wins; a session has one key at most.
            """CREATE TABLE session_keys (
                app_name TEXT NOT NULL,
                user_id TEXT NOT NULL,
                session_key TEXT NOT NULL,
                session_id TEXT NOT NULL UNIQUE REFERENCES sessions (id) ON DELETE CASCADE,
                PRIMARY KEY (app_name, user_id, session_key)
            )""",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def check_not_newer(version: int) -> None:
    if version > LATEST_VERSION:
        raise SchemaTooNew(
            f"the database has schema version {version}, newer than this Vault knows "
            f"({LATEST_VERSION}); upgrade The Vault or use another DB_PATH"
        )


def migrate(conn: sqlite3.Connection, progress: Progress | None = None) -> list[Migration]:
    """Apply pending migrations in order; return those applied. Runs on the writer.

    `progress` hears (migration, rows done, rows in all) from a migration that writes rows.
    """
    # An up-to-date database is only read here, so a read-only one still starts
    # (it then answers reads, and writes get 503).
    version = current_version(conn)
    check_not_newer(version)
    if version == LATEST_VERSION:
        return []
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = []
    check_not_newer(current_version(conn))
    for migration in MIGRATIONS:
        if _apply(conn, migration, progress):
            applied.append(migration)
    return applied


def _apply(conn: sqlite3.Connection, migration: Migration, progress: Progress | None = None) -> bool:
    """Apply one migration with its record in one transaction; False if it was already there."""
    foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    if migration.rebuilds_tables:
        conn.execute("PRAGMA foreign_keys=OFF")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again inside the lock: another process may have migrated meanwhile.
            if current_version(conn) >= migration.version:
                conn.execute("COMMIT")
                return False
            for statement in migration.statements:
                conn.execute(statement)
            if migration.backfill is not None:
                migration.backfill(conn, None if progress is None else partial(progress, migration))
            if migration.rebuilds_tables and conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                raise sqlite3.IntegrityError(f"migration {migration.version} would leave rows without their parent")
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, clock.now_text()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    return True
