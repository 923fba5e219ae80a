"""Throwaway PostgreSQL databases for tests: each test gets a fresh one, dropped after it.

VAULT_TEST_POSTGRES_DSN names a server and a database to connect to for
CREATE DATABASE and DROP DATABASE, e.g.
postgresql://postgres@127.0.0.1:5432/postgres (what .ci/run sets). Tests that
need PostgreSQL are skipped, saying so, when it is not set (and fail instead
where VAULT_TEST_REQUIRE_SERVICES=1: see tests/services.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.services import missing

DSN_VARIABLE = "VAULT_TEST_POSTGRES_DSN"


def admin_dsn() -> str:
    dsn = os.environ.get(DSN_VARIABLE, "").strip()
    if not dsn:
        pytest.skip(missing(f"{DSN_VARIABLE} is not set, so no PostgreSQL to test against (.ci/run sets it)"))
    return dsn


def dsn_for(admin: str, database: str) -> str:
    return urlunsplit(urlsplit(admin)._replace(path=f"/{database}"))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(admin_dsn())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """Create an empty, uniquely named database; yield its URL; drop it (with whoever is still connected)."""
    name = f"vault_test_{uuid.uuid4().hex[:16]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield dsn_for(admin_dsn(), name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
