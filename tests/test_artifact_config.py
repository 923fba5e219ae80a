"""The artifact settings: where the bytes go and how large they may be."""

from __future__ import annotations

import pytest

from vault.app import build_blobs
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


def test_the_artifact_url_defaults_to_the_folder():
    config = Config.from_env({"DB_PATH": "/srv/vault/storage.db"})
    assert config.artifact_location == "file:///srv/vault/artifacts"


@pytest.mark.parametrize("url", ["s3://bucket", "s3://bucket/some/prefix", "file:///mnt/blobs"])
def test_an_artifact_url_is_taken_as_given(url):
    assert Config.from_env({"VAULT_ARTIFACT_URL": url}).artifact_location == url


def test_the_artifact_url_picks_the_blob_store():
    assert build_blobs("s3://bucket/prefix").kind == "s3"
    assert build_blobs("s3://bucket/prefix").location == "s3://bucket/prefix/"
    assert build_blobs("file:///mnt/blobs").location == "/mnt/blobs"


@pytest.mark.parametrize(
    "value", ["s3://", "s3:///prefix", "s3://bucket/p?x=1", "file://relative", "file:relative", "gs://bucket", "/mnt"]
)
def test_a_bad_artifact_url_names_the_setting(value):
    with pytest.raises(ConfigError, match="VAULT_ARTIFACT_URL"):
        Config.from_env({"VAULT_ARTIFACT_URL": value})
