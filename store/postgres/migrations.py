"""Schema migrations in PostgreSQL's dialect: an ordered list, each applied with its record.

Instances that start together take an advisory lock first, so exactly one
applies a migration and the others find it done. DDL is transactional in
PostgreSQL, so a migration and its record commit together or not at all.

Migration N here does what migration N of the SQLite schema does (from 4 on,
N + 1 of SQLite's: its version 4 rebuilt tables PostgreSQL never needed), and
tables and columns match it name for name, so both backends read rows the
same way and `vault copy` moves them column for column. Differences, each
for PostgreSQL's sake:

- Text is `COLLATE "C"`: ids, keys and canonical timestamps then compare byte
  by byte, as in SQLite, whatever the database's locale.
- JSON stays text in the service's own serialization (not jsonb, which
  reorders keys and refuses \\u0000), so answers are the same on both backends.
- metrics has a `folded` flag instead of a rowid watermark: with concurrent
  writers a lower sequence value can commit after a higher one, so a watermark
  could step over a point that was not yet visible.
- job_runs (only here) records when any instance last started each
  scheduled job, so a job runs once per interval across instances.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import asyncpg
from vault.store.core.migrations import Migration
from vault.store.errors import SchemaTooNew
from vault.store.postgres import search
from vault.store.postgres.locks import MIGRATION_LOCK, NAMESPACE

from vault import clock

# (the migration, rows done, rows in all), from a migration that writes rows.
Progress = Callable[[Migration, int, int], None]

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "sessions, history, state, artifacts, metrics, cache, idempotency keys",
        (
            """CREATE TABLE sessions (
                id text COLLATE "C" PRIMARY KEY,
                agent_name text COLLATE "C" NOT NULL,
                user_id text COLLATE "C",
                status text COLLATE "C" NOT NULL,
                metadata text NOT NULL,
                created_at text COLLATE "C" NOT NULL,
                updated_at text COLLATE "C" NOT NULL,
                message_count bigint NOT NULL DEFAULT 0,
                last_seq bigint NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX sessions_by_agent ON sessions (agent_name, id)",
            "CREATE INDEX sessions_by_user ON sessions (user_id, id)",
            "CREATE INDEX sessions_by_status ON sessions (status, id)",
            # A message never changes once written: kept as the JSON it is served as.
            """CREATE TABLE messages (
                session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                seq bigint NOT NULL,
                id text COLLATE "C" NOT NULL UNIQUE,
                role text COLLATE "C" NOT NULL,
                body text NOT NULL,
                PRIMARY KEY (session_id, seq)
            )""",
            """CREATE TABLE state (
                session_id text COLLATE "C" PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
                data text NOT NULL,
                version bigint NOT NULL,
                updated_at text COLLATE "C" NOT NULL
            )""",
            """CREATE TABLE artifacts (
                id text COLLATE "C" PRIMARY KEY,
                session_id text COLLATE "C" REFERENCES sessions (id) ON DELETE CASCADE,
                name text COLLATE "C" NOT NULL,
                type text COLLATE "C" NOT NULL,
                content_type text COLLATE "C",
                path text COLLATE "C",
                size bigint,
                sha256 text COLLATE "C",
                metadata text NOT NULL,
                created_at text COLLATE "C" NOT NULL
            )""",
            "CREATE INDEX artifacts_by_session ON artifacts (session_id, id)",
            "CREATE INDEX artifacts_by_type ON artifacts (type, id)",
            """CREATE TABLE metrics (
                id text COLLATE "C" PRIMARY KEY,
                entity_type text COLLATE "C" NOT NULL,
                entity_name text COLLATE "C" NOT NULL,
                session_id text COLLATE "C" REFERENCES sessions (id) ON DELETE CASCADE,
                metric_name text COLLATE "C" NOT NULL,
                value double precision NOT NULL,
                labels text NOT NULL,
                timestamp text COLLATE "C" NOT NULL,
                folded boolean NOT NULL DEFAULT false
            )""",
            "CREATE INDEX metrics_by_entity ON metrics (entity_name, metric_name, timestamp)",
            "CREATE INDEX metrics_by_session ON metrics (session_id, timestamp)",
            "CREATE INDEX metrics_by_time ON metrics (timestamp)",
            # Only the points still to fold: the fold job finds them without a scan.
            "CREATE INDEX metrics_unfolded ON metrics (id) WHERE NOT folded",
            """CREATE TABLE cache (
                key text COLLATE "C" PRIMARY KEY,
                value text NOT NULL,
                ttl bigint,
                created_at text COLLATE "C" NOT NULL,
                accessed_at text COLLATE "C" NOT NULL,
                expires_at text COLLATE "C"
            )""",
            "CREATE INDEX cache_by_expiry ON cache (expires_at) WHERE expires_at IS NOT NULL",
            # response is NULL only inside the transaction that claimed the key.
            """CREATE TABLE idempotency_keys (
                key text COLLATE "C" PRIMARY KEY,
                fingerprint text COLLATE "C" NOT NULL,
                response text,
                created_at text COLLATE "C" NOT NULL
            )""",
            "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at)",
            # PostgreSQL only: when any instance last started each scheduled job.
            """CREATE TABLE job_runs (
                job_id text COLLATE "C" PRIMARY KEY,
                started_at timestamptz NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "metric rollups",
        (
            """CREATE TABLE metric_rollups (
                bucket text COLLATE "C" NOT NULL,
                entity_name text COLLATE "C" NOT NULL,
                metric_name text COLLATE "C" NOT NULL,
                entity_type text COLLATE "C" NOT NULL,
                labels text COLLATE "C" NOT NULL,
                bucket_start text COLLATE "C" NOT NULL,
                count bigint NOT NULL,
                sum double precision NOT NULL,
                min double precision NOT NULL,
                max double precision NOT NULL,
                PRIMARY KEY (bucket, entity_name, metric_name, entity_type, labels, bucket_start)
            )""",
            "CREATE INDEX metric_rollups_by_metric ON metric_rollups (bucket, metric_name, bucket_start)",
        ),
    ),
    Migration(
        3,
        "artifacts by content hash",
        (
            # Blobs are shared by content: releasing one asks whether any record still points at it.
            "CREATE INDEX artifacts_by_sha256 ON artifacts (sha256) WHERE sha256 IS NOT NULL",
        ),
    ),
    Migration(
        4,
        "documents kept zstd-compressed, and the dictionaries their frames name",
        (
            # Nullable columns without a default: adding them rewrites no row.
            "ALTER TABLE messages ADD COLUMN body_packed bytea",
            "ALTER TABLE messages ADD COLUMN body_size bigint",
            "ALTER TABLE state ADD COLUMN data_packed bytea",
            "ALTER TABLE state ADD COLUMN data_size bigint",
            "ALTER TABLE cache ADD COLUMN value_packed bytea",
            "ALTER TABLE cache ADD COLUMN value_size bigint",
            # Never updated or deleted while a frame may name it: old rows stay readable.
            """CREATE TABLE compression_dictionaries (
                id bigint PRIMARY KEY,
                kind text COLLATE "C" NOT NULL,
                content bytea NOT NULL,
                samples bigint NOT NULL,
                created_at text COLLATE "C" NOT NULL
            )""",
        ),
    ),
    Migration(5, "search index over history", search.SCHEMA, backfill=search.backfill),
    Migration(
        6,
        "change feed: the events each write records, and how far retention has pruned them",
        (
            # Each event's id is taken as the last statement of its write's transaction,
            # after every row lock: see vault.store.postgres.events for why that and the
            # reader's settled horizon make the feed gap-free across instances.
            """CREATE TABLE events (
                id bigserial PRIMARY KEY,
                type text COLLATE "C" NOT NULL,
                session_id text COLLATE "C",
                at text COLLATE "C" NOT NULL,
                data text,
                -- A message's event: its message is (session_id, message_seq), read with the event.
                message_seq bigint
            )""",
            # One notification per writing transaction, delivered at COMMIT to the feed's
            # listener on every instance; it carries the last id the transaction took.
            """CREATE FUNCTION vault_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('vault_events', currval('events_id_seq')::text);
                RETURN NULL;
            END $$""",
            "CREATE TRIGGER events_notify AFTER INSERT ON events"
            " FOR EACH STATEMENT EXECUTE FUNCTION vault_events_notify()",
            """CREATE TABLE event_horizon (
                id integer PRIMARY KEY CHECK (id = 1),
                pruned_through text COLLATE "C" NOT NULL
            )""",
        ),
    ),
    Migration(
        7,
        "checkpoints of threads, state scoped to an app or to a user of it, artifacts by type and name",
        (
            """CREATE TABLE checkpoints (
                thread_id text COLLATE "C" NOT NULL,
                checkpoint_ns text COLLATE "C" NOT NULL,
                checkpoint_id text COLLATE "C" NOT NULL,
                parent_checkpoint_id text COLLATE "C",
                run_id text COLLATE "C",
                checkpoint text NOT NULL,
                metadata text NOT NULL,
                created_at text COLLATE "C" NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
            )""",
            "CREATE INDEX checkpoints_by_run ON checkpoints (run_id) WHERE run_id IS NOT NULL",
            """CREATE TABLE checkpoint_blobs (
                thread_id text COLLATE "C" NOT NULL,
                checkpoint_ns text COLLATE "C" NOT NULL,
                channel text COLLATE "C" NOT NULL,
                version text COLLATE "C" NOT NULL,
                type text COLLATE "C" NOT NULL,
                data bytea NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
            )""",
            """CREATE TABLE checkpoint_writes (
                thread_id text COLLATE "C" NOT NULL,
                checkpoint_ns text COLLATE "C" NOT NULL,
                checkpoint_id text COLLATE "C" NOT NULL,
                task_id text COLLATE "C" NOT NULL,
                idx bigint NOT NULL,
                channel text COLLATE "C" NOT NULL,
                type text COLLATE "C" NOT NULL,
                data bytea NOT NULL,
                task_path text COLLATE "C" NOT NULL,
                PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
            )""",
            "CREATE INDEX artifacts_by_type_name ON artifacts (type, name, id)",
            """CREATE TABLE scoped_state (
                app_name text COLLATE "C" NOT NULL,
                user_id text COLLATE "C" NOT NULL,
                data text NOT NULL,
                data_packed bytea,
                data_size bigint,
                version bigint NOT NULL,
                updated_at text COLLATE "C" NOT NULL,
                PRIMARY KEY (app_name, user_id)
            )""",
        ),
    ),
    Migration(
        8,
        "the size each artifact's blob is kept in",
        (
            # NULL (rows from before): kept as sent, so its size. Adding it rewrites no row.
            "ALTER TABLE artifacts ADD COLUMN stored_size bigint",
        ),
    ),
    Migration(
        9,
        "sessions found by a key their client chose, within an app and a user",
        (
            # The primary key decides which of two creates of one key wins; a session has one key at most.
            """CREATE TABLE session_keys (
                app_name text COLLATE "C" NOT NULL,
                user_id text COLLATE "C" NOT NULL,
                session_key text COLLATE "C" NOT NULL,
                session_id text COLLATE "C" NOT NULL UNIQUE REFERENCES sessions (id) ON DELETE CASCADE,
                PRIMARY KEY (app_name, user_id, session_key)
            )""",
        ),
    ),
    Migration(
        10,
        "the change feed's notification names the newest id its statement inserted; no rows, no notification",
        (
            # An append in one statement (vault.store.postgres.appends) inserts no event when
            # its session is gone, and currval() is not defined on a connection that never took
            # an id: read the statement's own rows instead.
            """CREATE OR REPLACE FUNCTION vault_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                newest bigint;
            BEGIN
                SELECT max(id) INTO newest FROM inserted;
                IF newest IS NOT NULL THEN
                    PERFORM pg_notify('vault_events', newest::text);
                END IF;
                RETURN NULL;
            END $$""",
            "DROP TRIGGER events_notify ON events",
            "CREATE TRIGGER events_notify AFTER INSERT ON events REFERENCING NEW TABLE AS inserted"
            " FOR EACH STATEMENT EXECUTE FUNCTION vault_events_notify()",
        ),
    ),
    Migration(
        11,
        "the change feed's notification is sent after COMMIT by the instance that wrote, not by a trigger",
        (
            # PostgreSQL serializes the commits of notifying transactions under one lock held
            # through the WAL flush: with the trigger, no two writes could share an fsync.
            # The writing instance now notifies after its commit (vault.store.postgres.listener).
            "DROP TRIGGER events_notify ON events",
            "DROP FUNCTION vault_events_notify()",
        ),
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


async def current_version(conn: asyncpg.Connection) -> int:
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")


def check_not_newer(version: int) -> None:
    if version > LATEST_VERSION:
        raise SchemaTooNew(
            f"the database has schema version {version}, newer than this Vault knows "
            f"({LATEST_VERSION}); upgrade The Vault or point it at another database"
        )


async def migrate(conn: asyncpg.Connection, progress: Progress | None = None) -> list[Migration]:
    """Apply pending migrations in order; return those applied.

    `progress` hears (migration, rows done, rows in all) from a migration that writes rows.
    """
    # A session lock, held across the per-migration transactions: a second
    # instance waits here, then finds every migration recorded.
    await conn.execute("SELECT pg_advisory_lock($1, $2)", NAMESPACE, MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)"
        )
        check_not_newer(await current_version(conn))
        applied = []
        for migration in MIGRATIONS:
            async with conn.transaction():
                if await current_version(conn) >= migration.version:
                    continue
                for statement in migration.statements:
                    await conn.execute(statement)
                if migration.backfill is not None:
                    await migration.backfill(conn, None if progress is None else partial(progress, migration))
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    clock.now_text(),
                )
            applied.append(migration)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", NAMESPACE, MIGRATION_LOCK)
