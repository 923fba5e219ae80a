"""Which database the configuration selects: DB_PATH for SQLite, a postgresql:// URL for PostgreSQL."""

from __future__ import annotations

import pytest
from vault.store.postgres.store import PostgresStore
from vault.store.sqlite import SQLiteStore

from vault.app import build_store
from vault.config import Config, ConfigError


def test_sqlite_at_db_path_by_default():
    config = Config.from_env({"DB_PATH": "/tmp/x.db"})
    assert config.database_url is None
    assert isinstance(build_store(config), SQLiteStore)


def test_vault_database_url_selects_postgresql():
    config = Config.from_env({"VAULT_DATABASE_URL": "postgresql://vault:secret@db:5432/vault"})
    assert isinstance(build_store(config), PostgresStore)
    assert (config.database_pool_size, config.database_pool_timeout) == (10, 5)


def test_database_url_is_honoured_as_heroku_sets_it():
    config = Config.from_env({"DATABASE_URL": "postgres://u:p@host:5432/d"})
    assert config.database_url == "postgres://u:p@host:5432/d"


def test_vault_database_url_wins_over_database_url():
    config = Config.from_env({"VAULT_DATABASE_URL": "postgresql://a/one", "DATABASE_URL": "postgres://b/two"})
    assert config.database_url == "postgresql://a/one"


def test_a_database_url_for_another_kind_of_database_is_not_ours():
    assert Config.from_env({"DATABASE_URL": "mysql://u@h/d"}).database_url is None


@pytest.mark.parametrize("value", ["mysql://h/d", "sqlite:///x.db", "/var/lib/vault.db", " "])
def test_vault_database_url_must_be_postgresql(value):
    with pytest.raises(ConfigError, match="VAULT_DATABASE_URL"):
        Config.from_env({"VAULT_DATABASE_URL": value})


# Rule: a database password never reaches a log line.
def test_the_database_is_described_without_its_password():
    config = Config.from_env({"VAULT_DATABASE_URL": "postgresql://vault:s3cret@db.internal:5432/vault?sslmode=require"})
    assert config.database == "postgresql://db.internal:5432/vault"
    assert Config.from_env({"DB_PATH": "/data/storage.db"}).database == "/data/storage.db"


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://:secret@cache.internal:6380/2"])
def test_vault_cache_url_puts_the_cache_in_redis(url):
    config = Config.from_env({"DB_PATH": "/tmp/x.db", "VAULT_CACHE_URL": url})
    assert build_store(config).backends["cache"] == "redis"
    assert config.redis_prefix == "vault:"


def test_the_cache_stays_in_the_main_database_by_default():
    assert build_store(Config.from_env({"DB_PATH": "/tmp/x.db"})).backends["cache"] == "database"


@pytest.mark.parametrize("value", ["http://h:6379", "127.0.0.1:6379", " "])
def test_vault_cache_url_must_be_redis(value):
    with pytest.raises(ConfigError, match="VAULT_CACHE_URL"):
        Config.from_env({"VAULT_CACHE_URL": value})
