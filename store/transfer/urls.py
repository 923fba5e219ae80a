"""Database URLs as `vault copy` takes them.

`postgresql://...` or `postgres://...` (as Heroku writes it) name a PostgreSQL
database. `sqlite:` URLs follow SQLAlchemy's form: `sqlite:////abs/file.db`
(four slashes) is an absolute path, `sqlite:///file.db` a relative one. A
plain path names a SQLite file too.
"""

from __future__ import annotations

from attrs import frozen

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@frozen
class DatabaseUrl:
    backend: str  # "sqlite" or "postgresql"
    location: str  # a file path, or the URL asyncpg connects with


def is_postgres_url(text: str) -> bool:
    return text.startswith(POSTGRES_SCHEMES)


def parse_database_url(text: str) -> DatabaseUrl:
    """Raise ValueError for anything that is neither a PostgreSQL URL nor a SQLite file."""
    text = text.strip()
    if not text:
        raise ValueError("a database URL is empty")
    if is_postgres_url(text):
        return DatabaseUrl("postgresql", text)
    if text.startswith("sqlite:"):
        rest = text.removeprefix("sqlite:")
        if not rest.startswith("///") or len(rest) == 3:
            raise ValueError(f"{text!r}: write sqlite:////absolute/path.db or sqlite:///relative/path.db")
        return DatabaseUrl("sqlite", rest[3:])
    if "://" in text:
        raise ValueError(f"{text!r}: only postgresql:// and sqlite: URLs (or a file path) are understood")
    return DatabaseUrl("sqlite", text)
