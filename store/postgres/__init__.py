"""The PostgreSQL backend: an asyncpg pool, transactions and row locks; several instances on one database."""

from vault.store.postgres.store import PostgresSettings, PostgresStore

__all__ = ["PostgresSettings", "PostgresStore"]
