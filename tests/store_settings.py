"""Store tuning for tests that build a store by hand: what the default Config gives."""

from __future__ import annotations

from vault.store.postgres.store import PostgresSettings
from vault.store.sqlite import SQLiteSettings

from vault.app import postgres_settings, sqlite_settings
from vault.config import Config

_DEFAULTS = Config(db_path="vault.db")

SQLITE: SQLiteSettings = sqlite_settings(_DEFAULTS)
POSTGRES: PostgresSettings = postgres_settings(_DEFAULTS)
