"""`vault check` and `vault migrate` against real database files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from vault.store.sqlite.migrations import LATEST_VERSION, MIGRATIONS

from tests.redistemp import free_port, redis_url


def vault(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = None if env is None else {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "vault", *args], capture_output=True, text=True, timeout=60, env=environ
    )


def test_help_lists_every_command():
    result = vault("--help")
    for command in ("serve", "check", "migrate", "backup", "restore"):
        assert command in result.stdout


def test_migrate_then_check(tmp_path):
    db = str(tmp_path / "vault.db")
    first = vault("migrate", "--db-path", db)
    assert first.returncode == 0, first.stderr
    assert [line for line in first.stdout.splitlines() if line.startswith("applied")] == [
        f"applied {m.version}: {m.name}" for m in MIGRATIONS
    ]
    again = vault("migrate", "--db-path", db)
    assert "nothing to apply" in again.stdout
    check = vault("check", "--db-path", db)
    assert check.returncode == 0, check.stdout
    assert f"schema: version {LATEST_VERSION} (current)" in check.stdout
    assert "quick_check: ok" in check.stdout


def test_check_reports_a_newer_schema(tmp_path):
    db = str(tmp_path / "vault.db")
    vault("migrate", "--db-path", db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'future', '')", (LATEST_VERSION + 1,))
    check = vault("check", "--db-path", db)
    assert check.returncode == 1
    assert "PROBLEM: schema version" in check.stdout


def test_check_on_a_fresh_path_creates_nothing(tmp_path):
    db = tmp_path / "new" / "vault.db"
    check = vault("check", "--db-path", str(db))
    assert check.returncode == 0
    assert "it will be created at start-up" in check.stdout
    assert not db.exists()


def test_serve_on_a_folder_says_one_line_and_exits(tmp_path):
    # Rule: a database path that cannot be opened ends with one clear line, no traceback.
    result = subprocess.run(
        [sys.executable, "-m", "vault", "serve", "--host", "127.0.0.1", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DB_PATH": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"vault: cannot start: cannot open database {tmp_path}: unable to open database file"
    ]


# Rule: with VAULT_CACHE_URL set, `vault check` says in one line that Redis answers.
def test_check_says_redis_answers(tmp_path):
    check = vault("check", "--db-path", str(tmp_path / "vault.db"), env={"VAULT_CACHE_URL": redis_url()})
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines()[-1] == f"cache: redis at {redis_url()} answers"


# Rule: with VAULT_STATE_URL set too, `vault check` gives the state's Redis a line of its own.
def test_check_says_each_redis_answers(tmp_path):
    env = {"VAULT_CACHE_URL": redis_url(), "VAULT_STATE_URL": redis_url()}
    check = vault("check", "--db-path", str(tmp_path / "vault.db"), env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines()[-2:] == [
        f"cache: redis at {redis_url()} answers",
        f"state: redis at {redis_url()} answers",
    ]


# Rule: a state Redis that does not answer fails `vault check` even when the cache's answers.
def test_check_fails_on_a_state_redis_that_does_not_answer(tmp_path):
    port = free_port()
    env = {"VAULT_CACHE_URL": redis_url(), "VAULT_STATE_URL": f"redis://127.0.0.1:{port}/0"}
    check = vault("check", "--db-path", str(tmp_path / "vault.db"), env=env)
    assert check.returncode == 1, check.stdout + check.stderr
    problem = f"PROBLEM: state: redis at redis://127.0.0.1:{port}/0 does not answer"
    assert check.stdout.splitlines()[-1].startswith(problem)


# Rule: a Redis that does not answer fails `vault check` with one line naming it, its password left out.
def test_check_fails_on_a_redis_that_does_not_answer(tmp_path):
    port = free_port()
    url = f"redis://:secret-word@127.0.0.1:{port}/0"
    check = vault("check", "--db-path", str(tmp_path / "vault.db"), env={"VAULT_CACHE_URL": url})
    assert check.returncode == 1, check.stdout + check.stderr
    problem = f"PROBLEM: cache: redis at redis://127.0.0.1:{port}/0 does not answer"
    assert check.stdout.splitlines()[-1].startswith(problem)
    assert "secret-word" not in check.stdout + check.stderr
