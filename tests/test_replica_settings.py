"""Settings of replicas and of a primary named among several hosts, and WAL positions as text."""

from __future__ import annotations

import pytest
from vault.store.positions import format_lsn, parse_lsn
from vault.store.postgres.connection import hosts_of, primary_dsn, redact

from vault.config import Config, ConfigError

PRIMARY = "postgresql://vault@10.0.0.1:5432/vault"


def test_replica_urls_are_read_one_server_each():
    config = Config.from_env(
        {
            "VAULT_DATABASE_URL": PRIMARY,
            "VAULT_DATABASE_REPLICA_URLS": "postgresql://vault@10.0.0.2/vault, postgresql://vault@10.0.0.3/vault",
            "VAULT_REPLICA_WAIT_MS": "20",
        }
    )
    assert config.database_replica_urls == ("postgresql://vault@10.0.0.2/vault", "postgresql://vault@10.0.0.3/vault")
    assert config.replica_wait_ms == 20


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"VAULT_DATABASE_REPLICA_URLS": "postgresql://vault@10.0.0.2/vault"}, "needs VAULT_DATABASE_URL"),
        ({"VAULT_DATABASE_URL": PRIMARY, "VAULT_DATABASE_REPLICA_URLS": "redis://x"}, "is not a postgresql://"),
        ({"VAULT_DATABASE_URL": PRIMARY, "VAULT_DATABASE_REPLICA_URLS": " , "}, "lists nothing"),
        ({"VAULT_DATABASE_URL": PRIMARY, "VAULT_REPLICA_WAIT_MS": "-1"}, "VAULT_REPLICA_WAIT_MS"),
    ],
)
def test_bad_replica_settings_are_named(environ, named):
    with pytest.raises(ConfigError, match=named):
        Config.from_env(environ)


def test_a_url_naming_several_hosts_connects_only_to_the_one_taking_writes():
    url = "postgresql://vault:secret@h1:5432,h2:5433/vault?sslmode=prefer"
    assert hosts_of(url) == ["h1:5432", "h2:5433"]
    assert primary_dsn(url) == url + "&target_session_attrs=read-write"
    assert primary_dsn(PRIMARY) == PRIMARY
    chosen = "postgresql://h1,h2/vault?target_session_attrs=any"
    assert primary_dsn(chosen) == chosen


def test_redact_hides_the_password_of_a_url_naming_several_hosts():
    assert redact("postgresql://vault:secret@h1:5432,h2:5433/vault") == "postgresql://vault:***@h1:5432,h2:5433/vault"
    assert redact("postgresql://vault@h1/vault") == "postgresql://vault@h1/vault"


@pytest.mark.parametrize("text", ["0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF", "0/3000148"])
def test_wal_positions_read_back_as_written(text):
    assert format_lsn(parse_lsn(text)) == text


@pytest.mark.parametrize("text", ["", "16", "16/", "/1", "x/1", "1/2/3", "123456789/0", "-1/0", "1 / 2"])
def test_text_that_is_no_wal_position_is_refused(text):
    with pytest.raises(ValueError):
        parse_lsn(text)
