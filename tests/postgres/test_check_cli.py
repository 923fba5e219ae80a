"""`vault check` on PostgreSQL with the cache on Redis."""

from __future__ import annotations

import asyncio

from tests.redistemp import free_port
from tests.test_cli import vault


# Rule: on PostgreSQL, a Redis that does not answer gets its own line and exit 1; the database still says it answers.
async def test_check_on_postgres_reports_a_redis_that_does_not_answer(database_url, tmp_path):
    port = free_port()
    env = {"VAULT_DATABASE_URL": database_url, "VAULT_CACHE_URL": f"redis://127.0.0.1:{port}/0"}
    check = await asyncio.to_thread(vault, "check", "--db-path", str(tmp_path / "unused.db"), env=env)
    assert check.returncode == 1, check.stdout + check.stderr
    lines = check.stdout.splitlines()
    assert lines[0].endswith("the database answers")
    assert lines[-1].startswith(f"PROBLEM: cache: redis at redis://127.0.0.1:{port}/0 does not answer")
