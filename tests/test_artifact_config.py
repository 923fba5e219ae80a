"""The artifact settings: where the bytes go and how large they may be."""

from __future__ import annotations

import pytest

from vault.config import Config, ConfigError


def test_artifacts_default_beside_the_database():
    config = Config.from_env({"DB_PATH": "/srv/vault/storage.db"})
    assert config.artifact_dir == "/srv/vault/artifacts"
    assert config.max_artifact_bytes == 100 * 1024 * 1024


def test_artifact_settings_are_read():
    config = Config.from_env({"VAULT_ARTIFACT_DIR": "/mnt/blobs", "VAULT_MAX_ARTIFACT_BYTES": "2048"})
    assert (config.artifact_dir, config.max_artifact_bytes) == ("/mnt/blobs", 2048)


@pytest.mark.parametrize(
    ("name", "value"),
    [("VAULT_MAX_ARTIFACT_BYTES", "0"), ("VAULT_MAX_ARTIFACT_BYTES", "1e9"), ("VAULT_ARTIFACT_DIR", " ")],
)
def test_bad_artifact_settings_name_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})
