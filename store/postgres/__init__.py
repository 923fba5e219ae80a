"""The PostgreSQL backend: an asyncpg pool, transactions and row locks; several instances on one database.

The store is `vault.store.postgres.store.PostgresStore`. This package imports
none of its modules itself: the store's backups go through vault.store.transfer,
whose PostgreSQL side imports this package's migrations and connection modules,
so importing the store here would make the two packages import each other.
"""
