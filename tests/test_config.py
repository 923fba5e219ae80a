"""Configuration from the environment, and the CLI's answer to bad settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vault.config import SETTINGS, Config, ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_need_nothing_set():
    config = Config.from_env({"HOME": "/home/someone"})
    assert config.port == 8084
    assert config.host == "0.0.0.0"
    assert config.db_path == "/home/someone/.local/share/vault/storage.db"
    assert config.sqlite_synchronous == "full"


def test_db_path_follows_xdg_data_home():
    assert Config.from_env({"XDG_DATA_HOME": "/srv/data"}).db_path == "/srv/data/vault/storage.db"


def test_values_are_read():
    config = Config.from_env(
        {"PORT": "9000", "DB_PATH": "/tmp/x.db", "VAULT_SQLITE_SYNCHRONOUS": "NORMAL", "VAULT_QUEUE_MAX": "5"}
    )
    assert (config.port, config.db_path, config.sqlite_synchronous, config.queue_max) == (
        9000,
        "/tmp/x.db",
        "normal",
        5,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("LOG_LEVEL", "loud"),
        ("VAULT_SQLITE_SYNCHRONOUS", "off"),
        ("VAULT_QUEUE_MAX", "0"),
        ("DB_PATH", " "),
    ],
)
def test_bad_value_names_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})


def test_every_setting_is_in_the_readme():
    # Rule: the README's configuration table stays true.
    readme = README.read_text()
    missing = [setting.name for setting in SETTINGS if f"`{setting.name}`" not in readme]
    assert not missing


def readme_defaults() -> dict[str, str]:
    """The configuration table's default column by variable, without the code marks."""
    rows = (line.split(" | ") for line in README.read_text().splitlines() if line.startswith("| `"))
    return {cells[0].strip("| `"): cells[1].replace("`", "") for cells in rows if len(cells) == 3}


def test_the_readme_states_each_default_as_config_has_it():
    # Rule: a default is written once, in Config; the README's table follows it.
    documented = readme_defaults()
    wrong = {
        setting.name: documented.get(setting.name)
        for setting in SETTINGS
        if not documented.get(setting.name, "").startswith(setting.default)
    }
    assert not wrong


def test_config_defaults_are_the_documented_ones():
    # Rule: the table's shown default is Config's own default, not a second copy of it.
    config = Config(db_path="/srv/vault/storage.db")
    shown = {setting.field: setting.default for setting in SETTINGS}
    assert (shown["port"], config.port) == ("8084", 8084)
    assert (shown["max_body_bytes"], config.max_body_bytes) == (str(16 * 1024 * 1024), 16 * 1024 * 1024)
    assert (shown["unsafe_ack_before_commit"], config.unsafe_ack_before_commit) == ("0", False)
    assert config.artifact_dir == "/srv/vault/artifacts"
    assert config.backup_dir == "/srv/vault/backups"


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vault", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "not-a-port"}, "PORT='not-a-port'"),
        ({"VAULT_SQLITE_SYNCHRONOUS": "off"}, "VAULT_SQLITE_SYNCHRONOUS"),
        ({"DB_PATH": "/proc/no-such-dir/vault.db"}, "/proc/no-such-dir/vault.db"),
    ],
)
def test_cli_reports_a_bad_setting_in_one_line(tmp_path, env, expected):
    result = run_cli({"HOME": str(tmp_path), **env}, "serve")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vault: ") and expected in lines[0]
