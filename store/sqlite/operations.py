"""The table of write operations: each command type and the function that runs it here."""

from __future__ import annotations

from vault.store.core.events import recording
from vault.store.core.operations import bind
from vault.store.sqlite import blob_refs, events, rollups, threads, writes

# A write that changes what the feed reports inserts its events in the same savepoint.
OPERATIONS = recording(bind(writes, rollups, blob_refs, threads, events), events.record)
