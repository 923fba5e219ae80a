"""The table of write operations: each command type and the function that runs it here."""

from __future__ import annotations

from vault.store.core.operations import bind
from vault.store.sqlite import blob_refs, rollups, threads, writes

OPERATIONS = bind(writes, rollups, blob_refs, threads)
