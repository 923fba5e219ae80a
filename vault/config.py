"""Configuration, read once from the environment and frozen.

`HOST`, `PORT`, `DB_PATH` and `LOG_LEVEL` keep the names of the original
service; every further setting is `VAULT_*`. Each is declared once, as a field
of Config with its variable, default, parser and help; SETTINGS lists them
(the README's table is checked against it by a test).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from attrs import NOTHING, Factory, frozen

from vault.settings import (
    POSTGRES_SCHEMES,
    ConfigError,
    Setting,
    artifact_url,
    cron,
    flag,
    int_between,
    listing,
    one_of,
    postgres_url,
    postgres_urls,
    redis_url,
    setting,
    settings_of,
    text,
)

__all__ = ["SETTINGS", "Config", "ConfigError", "Setting", "default_db_path"]


def default_db_path(environ: Mapping[str, str]) -> str:
    """Somewhere a non-root user can write on a fresh machine."""
    home = environ.get("HOME") or str(Path.home())
    data_home = environ.get("XDG_DATA_HOME") or str(Path(home) / ".local" / "share")
    return str(Path(data_home) / "vault" / "storage.db")


def _beside_database(folder: str) -> Factory:
    return Factory(lambda self: str(Path(self.db_path).parent / folder), takes_self=True)


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@frozen(kw_only=True)
class Config:
    host: str = setting("HOST", "0.0.0.0", text, "Address to listen on.")
    port: int = setting("PORT", 8084, int_between(1, 65535), "Port to listen on.")
    # No default here: from_env fills it from HOME and XDG_DATA_HOME.
    db_path: str = setting(
        "DB_PATH",
        NOTHING,
        text,
        "SQLite database file; its folder is created if missing.",
        shown="$XDG_DATA_HOME/vault/storage.db (~/.local/share/vault/storage.db)",
    )
    database_url: str | None = setting(
        "VAULT_DATABASE_URL",
        None,
        postgres_url,
        "A postgresql:// URL: PostgreSQL instead of SQLite, so several instances can share one database."
        " It may name a primary and its standbys (postgresql://h1:5432,h2:5432/db): writes go to whichever"
        " takes writes, found again after a failover (target_session_attrs=read-write is added unless the URL"
        " says otherwise). Unset, a postgres URL in DATABASE_URL (as Heroku sets it) is used.",
        shown="off (SQLite at DB_PATH)",
    )
    database_replica_urls: tuple[str, ...] = setting(
        "VAULT_DATABASE_REPLICA_URLS",
        (),
        postgres_urls,
        "Comma-separated postgresql:// URLs of standbys that serve reads. A replica serves a read only once it"
        " has replayed this instance's latest commit and the request's Vault-Min-LSN; one down or behind is"
        " skipped. Needs VAULT_DATABASE_URL.",
        shown="none (reads on the primary)",
    )
    replica_wait_ms: int = setting(
        "VAULT_REPLICA_WAIT_MS",
        50,
        int_between(0, 10_000),
        "How long a read waits for a replica to replay what it must see before the primary serves it.",
    )
    database_pool_size: int = setting(
        "VAULT_DATABASE_POOL_SIZE", 10, int_between(1, 1000), "PostgreSQL connections each instance keeps open at most."
    )
    database_pool_timeout: int = setting(
        "VAULT_DATABASE_POOL_TIMEOUT",
        5,
        int_between(1, 3600),
        "Seconds a request waits for a free PostgreSQL connection before it is answered 503.",
    )
    cache_url: str | None = setting(
        "VAULT_CACHE_URL",
        None,
        redis_url,
        "A redis:// or rediss:// URL (password and db number in it): cache entries live in Redis,"
        " their TTL kept by Redis itself, shared by every instance that names it.",
        shown="off (the main database)",
    )
    state_url: str | None = setting(
        "VAULT_STATE_URL",
        None,
        redis_url,
        "A redis:// or rediss:// URL: session state lives in Redis (version, ETag, If-Match and merge patch"
        " as in the database), durable as that Redis's own persistence makes it.",
        shown="off (the main database)",
    )
    redis_prefix: str = setting(
        "VAULT_REDIS_PREFIX", "vault:", text, "Put before every Redis key The Vault writes, so it can share a Redis."
    )
    log_level: str = setting("LOG_LEVEL", "info", one_of(*LOG_LEVELS), "debug, info, warning, error or critical.")
    log_format: str = setting(
        "VAULT_LOG_FORMAT",
        "text",
        one_of("text", "json"),
        "text: one readable line per request; json: one JSON object per line.",
    )
    api_keys: tuple[str, ...] = setting(
        "VAULT_API_KEYS",
        (),
        listing,
        "Comma-separated keys; when set, every route but /health and the console's page (/ui) needs"
        " Authorization: Bearer <key>.",
        shown="none",
    )
    admin_api_keys: tuple[str, ...] = setting(
        "VAULT_ADMIN_API_KEYS",
        (),
        listing,
        "Comma-separated keys; when set, only these reach /storage/admin/* (backups, jobs): another key gets 403."
        " VAULT_API_KEYS still governs every other route.",
        shown="none",
    )
    cors_origins: tuple[str, ...] = setting(
        "VAULT_CORS_ORIGINS",
        (),
        listing,
        "Comma-separated origins (or *) allowed to call from a browser; CORS is off when unset.",
        shown="off",
    )
    sqlite_synchronous: str = setting(
        "VAULT_SQLITE_SYNCHRONOUS",
        "full",
        one_of("full", "normal"),
        "full: every acknowledged write survives power loss. normal: survives a process crash,"
        " the last commits may be lost on power loss.",
    )
    queue_max: int = setting(
        "VAULT_QUEUE_MAX",
        1000,
        int_between(1, 1_000_000),
        "Bound of the write queue; when full, writes answer 503 with Retry-After.",
    )
    write_batch_max: int = setting(
        "VAULT_WRITE_BATCH_MAX",
        256,
        int_between(1, 100_000),
        "Most write commands committed in one transaction (1 turns group commit off).",
    )
    read_connections: int = setting(
        "VAULT_READ_CONNECTIONS", 4, int_between(1, 64), "SQLite connections kept open for reads."
    )
    max_body_bytes: int = setting(
        "VAULT_MAX_BODY_BYTES",
        16 * 1024 * 1024,
        int_between(1024, 2**31),
        "Largest request body accepted (413 above it).",
    )
    max_document_bytes: int = setting(
        "VAULT_MAX_DOCUMENT_BYTES",
        1024 * 1024,
        int_between(1024, 2**31),
        "Largest stored JSON document (session metadata, state data, a cache value, one message), also once"
        " merged (413 document_too_large above it). 1 MiB holds any sensible document, keeps a merge a few"
        " milliseconds of the writer and bounds what a list page carries; artifacts take larger content.",
    )
    compression: str = setting(
        "VAULT_COMPRESSION",
        "zstd",
        one_of("zstd", "off"),
        "How message bodies, state data and cache values are kept in the database, and artifact bytes in their"
        " blob store: `zstd`, compressed where that saves space (documents with dictionaries trained on the"
        " service's own data, artifacts in independent 1 MiB frames so a range reads only what it touches);"
        " `off`, as sent. Either way everything stored is readable and answers are byte for byte what was sent.",
    )
    body_cache_mb: int = setting(
        "VAULT_BODY_CACHE_MB",
        32,
        int_between(0, 65_536),
        "Memory for recent message bodies kept unpacked, so history windows need no decompression: appends put"
        " theirs in, least recently read leave first. Never stale (a message never changes); 0 turns it off.",
    )
    artifact_dir: str = setting(
        "VAULT_ARTIFACT_DIR",
        _beside_database("artifacts"),
        text,
        "Where artifact content is stored (one file per distinct content, named by its sha256).",
        shown="artifacts/ beside DB_PATH",
    )
    artifact_url: str | None = setting(
        "VAULT_ARTIFACT_URL",
        None,
        artifact_url,
        "Where artifact content lives: file:///path (a folder), or s3://bucket/prefix (S3 or any S3-compatible"
        " store; endpoint, region and credentials from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION,"
        " AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the rest of the AWS settings).",
        shown="file:// at VAULT_ARTIFACT_DIR",
    )
    max_artifact_bytes: int = setting(
        "VAULT_MAX_ARTIFACT_BYTES",
        100 * 1024 * 1024,
        int_between(1, 2**50),
        "Largest artifact content accepted (413 above it); uploads stream to disk whatever the size.",
    )
    event_loop: str = setting(
        "VAULT_EVENT_LOOP",
        "uvloop",
        one_of("uvloop", "asyncio"),
        "The event loop the service runs on: `uvloop` (libuv's, faster at parsing and sending many small"
        " requests) or `asyncio`, the standard library's. Falls back to `asyncio` where uvloop is not installed.",
    )
    shutdown_timeout: int = setting(
        "VAULT_SHUTDOWN_TIMEOUT",
        30,
        int_between(1, 3600),
        "Seconds a whole stop may take (SIGTERM): requests in flight get half, then a running job ends and the"
        " write queue drains; past it the process exits non-zero, logging what it abandoned.",
    )
    unsafe_ack_before_commit: bool = setting(
        "VAULT_UNSAFE_ACK_BEFORE_COMMIT",
        False,
        flag,
        "Tests only: answers writes before they commit, breaking durability on purpose, so the crash test can show"
        " that it notices. Never set it anywhere else.",
    )
    cache_sweep_seconds: int = setting(
        "VAULT_CACHE_SWEEP_SECONDS",
        60,
        int_between(1, 86_400),
        "How often expired cache entries are deleted (reads never see them either way).",
    )
    rollup_seconds: int = setting(
        "VAULT_ROLLUP_SECONDS",
        60,
        int_between(1, 86_400),
        "How often new metric points are folded into minute, hour and day rollups.",
    )
    metrics_retention_days: int = setting(
        "VAULT_METRICS_RETENTION_DAYS",
        30,
        int_between(1, 36_500),
        "Raw metric points older than this are deleted once folded; rollups stay.",
    )
    backup_dir: str = setting(
        "VAULT_BACKUP_DIR",
        _beside_database("backups"),
        text,
        "Where scheduled and on-demand backups are written.",
        shown="backups/ beside DB_PATH",
    )
    backup_interval: int | None = setting(
        "VAULT_BACKUP_INTERVAL", None, int_between(60, 365 * 86_400), "Seconds between scheduled backups.", shown="off"
    )
    backup_cron: str | None = setting(
        "VAULT_BACKUP_CRON",
        None,
        cron,
        "A crontab expression (UTC) for scheduled backups, instead of an interval.",
        shown="off",
    )
    backup_keep: int = setting(
        "VAULT_BACKUP_KEEP",
        7,
        int_between(1, 10_000),
        "How many backups to keep; older ones are deleted after each new one.",
    )
    idempotency_key_hours: int = setting(
        "VAULT_IDEMPOTENCY_KEY_HOURS", 24, int_between(1, 24 * 365), "How long an Idempotency-Key is remembered."
    )
    events_retention_hours: int = setting(
        "VAULT_EVENTS_RETENTION_HOURS",
        24,
        int_between(1, 24 * 365),
        "How long the change feed keeps events; a client resuming from an older one gets 410.",
    )
    job_grace_seconds: int = setting(
        "VAULT_JOB_GRACE_SECONDS",
        30,
        int_between(1, 86_400),
        "A scheduled run that starts later than this after its time is skipped (and logged as missed).",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read every setting; raise ConfigError naming the first bad one."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for variable in SETTINGS:
            raw = environ.get(variable.name)
            if raw is not None:
                values[variable.field] = variable.parse(variable.name, raw)
        values.setdefault("db_path", default_db_path(environ))
        # Platforms name their database DATABASE_URL; one that is not PostgreSQL is not for us.
        fallback = environ.get("DATABASE_URL", "").strip()
        if "database_url" not in values and fallback.startswith(POSTGRES_SCHEMES):
            values["database_url"] = fallback
        if values.get("database_replica_urls") and "database_url" not in values:
            raise ConfigError("VAULT_DATABASE_REPLICA_URLS needs VAULT_DATABASE_URL (the primary)")
        if values.get("backup_interval") and values.get("backup_cron"):
            raise ConfigError("set VAULT_BACKUP_INTERVAL or VAULT_BACKUP_CRON, not both")
        return cls(**values)

    @property
    def database(self) -> str:
        """The database in use, for messages: DB_PATH, or the PostgreSQL URL without user and password."""
        if self.database_url is None:
            return self.db_path
        parts = urlsplit(self.database_url)
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query=""))

    @property
    def artifact_location(self) -> str:
        """Where artifact content lives, as a URL: VAULT_ARTIFACT_URL, else VAULT_ARTIFACT_DIR as file://."""
        if self.artifact_url is not None:
            return self.artifact_url
        return Path(self.artifact_dir).absolute().as_uri()

    @property
    def listens_beyond_loopback(self) -> bool:
        return self.host not in ("127.0.0.1", "::1", "localhost")

    @property
    def backups_scheduled(self) -> bool:
        return self.backup_interval is not None or self.backup_cron is not None


SETTINGS: tuple[Setting, ...] = settings_of(Config)
