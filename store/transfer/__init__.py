"""Moving a whole Vault database between backends (`vault copy`, PostgreSQL backups)."""

from vault.store.transfer.copy import CopyReport, TableCount, copy_between, copy_database
from vault.store.transfer.urls import DatabaseUrl, is_postgres_url, parse_database_url

__all__ = [
    "CopyReport",
    "DatabaseUrl",
    "TableCount",
    "copy_between",
    "copy_database",
    "is_postgres_url",
    "parse_database_url",
]
