"""Configuration, read once from the environment and frozen.

`HOST`, `PORT`, `DB_PATH` and `LOG_LEVEL` keep the names of the original
service; every further setting is `VAULT_*`. SETTINGS is the one table of
them (the README's table is checked against it by a test).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from apscheduler.triggers.cron import CronTrigger
from attrs import Factory, field, frozen


class ConfigError(ValueError):
    """A setting has a value The Vault cannot use; the message names it."""


def default_db_path(environ: Mapping[str, str]) -> str:
    """Somewhere a non-root user can write on a fresh machine."""
    home = environ.get("HOME") or str(Path.home())
    data_home = environ.get("XDG_DATA_HOME") or str(Path(home) / ".local" / "share")
    return str(Path(data_home) / "vault" / "storage.db")


@frozen
class Setting:
    name: str
    field: str
    default: str
    parse: Callable[[str, str], Any]
    help: str


def _int_between(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: must be a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}={raw!r}: must be from {low} to {high}")
        return value

    return parse


def _one_of(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name}={raw!r}: must be one of {', '.join(choices)}")
        return value

    return parse


def _cron(name: str, raw: str) -> str:
    try:
        CronTrigger.from_crontab(raw.strip(), timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: not a cron expression ({exc})") from None
    return raw.strip()


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("0", "1", "true", "false"):
        raise ConfigError(f"{name}={raw!r}: must be 0 or 1")
    return value in ("1", "true")


def _list(name: str, raw: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    if not items:
        raise ConfigError(f"{name} is set but lists nothing")
    return items


# Heroku writes postgres://; asyncpg takes both.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def _postgres_url(name: str, raw: str) -> str:
    url = raw.strip()
    if not url.startswith(POSTGRES_SCHEMES):
        raise ConfigError(f"{name} must be a postgresql:// URL (for SQLite, set DB_PATH instead)")
    return url


def _text(name: str, raw: str) -> str:
    if not raw.strip():
        raise ConfigError(f"{name} is set but empty")
    return raw.strip()


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

SETTINGS: tuple[Setting, ...] = (
    Setting("HOST", "host", "0.0.0.0", _text, "Address to listen on."),
    Setting("PORT", "port", "8084", _int_between(1, 65535), "Port to listen on."),
    Setting(
        "DB_PATH",
        "db_path",
        "$XDG_DATA_HOME/vault/storage.db (~/.local/share/vault/storage.db)",
        _text,
        "SQLite database file; its folder is created if missing.",
    ),
    Setting(
        "VAULT_DATABASE_URL",
        "database_url",
        "off (SQLite at DB_PATH)",
        _postgres_url,
        "A postgresql:// URL: PostgreSQL instead of SQLite, so several instances can share one database."
        " Unset, a postgres URL in DATABASE_URL (as Heroku sets it) is used.",
    ),
    Setting(
        "VAULT_DATABASE_POOL_SIZE",
        "database_pool_size",
        "10",
        _int_between(1, 1000),
        "PostgreSQL connections each instance keeps open at most.",
    ),
    Setting(
        "VAULT_DATABASE_POOL_TIMEOUT",
        "database_pool_timeout",
        "5",
        _int_between(1, 3600),
        "Seconds a request waits for a free PostgreSQL connection before it is answered 503.",
    ),
    Setting("LOG_LEVEL", "log_level", "INFO", _one_of(*LOG_LEVELS), "debug, info, warning, error or critical."),
    Setting(
        "VAULT_LOG_FORMAT",
        "log_format",
        "text",
        _one_of("text", "json"),
        "text: one readable line per request; json: one JSON object per line.",
    ),
    Setting(
        "VAULT_API_KEYS",
        "api_keys",
        "none",
        _list,
        "Comma-separated keys; when set, every route but /health needs Authorization: Bearer <key>.",
    ),
    Setting(
        "VAULT_CORS_ORIGINS",
        "cors_origins",
        "off",
        _list,
        "Comma-separated origins (or *) allowed to call from a browser; CORS is off when unset.",
    ),
    Setting(
        "VAULT_SQLITE_SYNCHRONOUS",
        "sqlite_synchronous",
        "full",
        _one_of("full", "normal"),
        "full: every acknowledged write survives power loss. normal: survives a process crash,"
        " the last commits may be lost on power loss.",
    ),
    Setting(
        "VAULT_QUEUE_MAX",
        "queue_max",
        "1000",
        _int_between(1, 1_000_000),
        "Bound of the write queue; when full, writes answer 503 with Retry-After.",
    ),
    Setting(
        "VAULT_WRITE_BATCH_MAX",
        "write_batch_max",
        "256",
        _int_between(1, 100_000),
        "Most write commands committed in one transaction (1 turns group commit off).",
    ),
    Setting(
        "VAULT_READ_CONNECTIONS",
        "read_connections",
        "4",
        _int_between(1, 64),
        "SQLite connections kept open for reads.",
    ),
    Setting(
        "VAULT_MAX_BODY_BYTES",
        "max_body_bytes",
        "16777216",
        _int_between(1024, 2**31),
        "Largest request body accepted (413 above it).",
    ),
    Setting(
        "VAULT_ARTIFACT_DIR",
        "artifact_dir",
        "artifacts/ beside DB_PATH",
        _text,
        "Where artifact content is stored (one file per distinct content, named by its sha256).",
    ),
    Setting(
        "VAULT_MAX_ARTIFACT_BYTES",
        "max_artifact_bytes",
        "104857600",
        _int_between(1, 2**50),
        "Largest artifact content accepted (413 above it); uploads stream to disk whatever the size.",
    ),
    Setting(
        "VAULT_SHUTDOWN_TIMEOUT",
        "shutdown_timeout",
        "30",
        _int_between(1, 3600),
        "Seconds that SIGTERM waits for requests in flight and a running job before the queue is drained and the"
        " process exits.",
    ),
    Setting(
        "VAULT_UNSAFE_ACK_BEFORE_COMMIT",
        "unsafe_ack_before_commit",
        "0",
        _flag,
        "Tests only: answers writes before they commit, breaking durability on purpose, so the crash test can show"
        " that it notices. Never set it anywhere else.",
    ),
    Setting(
        "VAULT_CACHE_SWEEP_SECONDS",
        "cache_sweep_seconds",
        "60",
        _int_between(1, 86_400),
        "How often expired cache entries are deleted (reads never see them either way).",
    ),
    Setting(
        "VAULT_ROLLUP_SECONDS",
        "rollup_seconds",
        "60",
        _int_between(1, 86_400),
        "How often new metric points are folded into minute, hour and day rollups.",
    ),
    Setting(
        "VAULT_METRICS_RETENTION_DAYS",
        "metrics_retention_days",
        "30",
        _int_between(1, 36_500),
        "Raw metric points older than this are deleted once folded; rollups stay.",
    ),
    Setting(
        "VAULT_BACKUP_DIR",
        "backup_dir",
        "backups/ beside DB_PATH",
        _text,
        "Where scheduled and on-demand backups are written.",
    ),
    Setting(
        "VAULT_BACKUP_INTERVAL",
        "backup_interval",
        "off",
        _int_between(60, 365 * 86_400),
        "Seconds between scheduled backups.",
    ),
    Setting(
        "VAULT_BACKUP_CRON",
        "backup_cron",
        "off",
        _cron,
        "A crontab expression (UTC) for scheduled backups, instead of an interval.",
    ),
    Setting(
        "VAULT_BACKUP_KEEP",
        "backup_keep",
        "7",
        _int_between(1, 10_000),
        "How many backups to keep; older ones are deleted after each new one.",
    ),
    Setting(
        "VAULT_IDEMPOTENCY_KEY_HOURS",
        "idempotency_key_hours",
        "24",
        _int_between(1, 24 * 365),
        "How long an Idempotency-Key is remembered.",
    ),
    Setting(
        "VAULT_JOB_GRACE_SECONDS",
        "job_grace_seconds",
        "30",
        _int_between(1, 86_400),
        "A scheduled run that starts later than this after its time is skipped (and logged as missed).",
    ),
)


@frozen(kw_only=True)
class Config:
    host: str = "0.0.0.0"
    port: int = 8084
    db_path: str
    database_url: str | None = None
    database_pool_size: int = 10
    database_pool_timeout: int = 5
    log_level: str = "info"
    log_format: str = "text"
    api_keys: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    sqlite_synchronous: str = "full"
    queue_max: int = 1000
    write_batch_max: int = 256
    read_connections: int = 4
    max_body_bytes: int = 16 * 1024 * 1024
    artifact_dir: str = field(
        default=Factory(lambda self: str(Path(self.db_path).parent / "artifacts"), takes_self=True)
    )
    max_artifact_bytes: int = 100 * 1024 * 1024
    shutdown_timeout: int = 30
    unsafe_ack_before_commit: bool = False
    cache_sweep_seconds: int = 60
    rollup_seconds: int = 60
    metrics_retention_days: int = 30
    backup_dir: str = field(default=Factory(lambda self: str(Path(self.db_path).parent / "backups"), takes_self=True))
    backup_interval: int | None = None
    backup_cron: str | None = None
    backup_keep: int = 7
    idempotency_key_hours: int = 24
    job_grace_seconds: int = 30

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read every setting; raise ConfigError naming the first bad one."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.name)
            if raw is not None:
                values[setting.field] = setting.parse(setting.name, raw)
        values.setdefault("db_path", default_db_path(environ))
        # Platforms name their database DATABASE_URL; one that is not PostgreSQL is not for us.
        fallback = environ.get("DATABASE_URL", "").strip()
        if "database_url" not in values and fallback.startswith(POSTGRES_SCHEMES):
            values["database_url"] = fallback
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
    def listens_beyond_loopback(self) -> bool:
        return self.host not in ("127.0.0.1", "::1", "localhost")

    @property
    def backups_scheduled(self) -> bool:
        return self.backup_interval is not None or self.backup_cron is not None
