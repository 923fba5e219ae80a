"""The store's compression work: dictionaries, rewriting plain rows, and measuring what is kept.

Storage figures are measured by a query over the size columns (a job does
it every few minutes, and an admin asks for a fresh measurement), and the
last measurement is kept here for /metrics: a scrape never scans a table. The
alternative, running totals kept in every write's transaction, would make
each write on PostgreSQL update one shared row, so every append of every
instance would queue behind every other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import zstandard as zstd
from attrs import frozen
from vault.store.core import commands, dictionaries, repacking
from vault.store.core.packing import KINDS, Codec

from vault import clock
from vault.models import StorageReport, StorageUse

log = logging.getLogger(__name__)

# (kind, rows looked at, rows rewritten packed)
RepackProgress = Callable[[str, int, int], None]


@frozen
class TrainedDictionary:
    dict_id: int
    kind: str
    size: int
    samples: int


class CompressionOperations:
    _codec: Codec
    _queries: ModuleType
    _storage_report: StorageReport | None

    async def _read(self, query: Callable[..., Any], *args: Any) -> Any:
        raise NotImplementedError

    async def _write(self, command: commands.Command, claim: Any = None) -> Any:
        raise NotImplementedError

    async def _with_dictionaries(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        raise NotImplementedError

    async def compress_blobs(self, progress: RepackProgress | None = None) -> int:
        raise NotImplementedError

    @property
    def compression(self) -> bool:
        return self._codec.enabled

    async def load_dictionaries(self) -> int:
        """Load the database's dictionaries this process does not hold yet; answer how many."""
        found = await self._read(self._queries.dictionaries, sorted(self._codec.dictionaries.ids()))
        for dict_id, kind, content in found:
            self._codec.dictionaries.add(dict_id, kind, bytes(content))
        return len(found)

    async def train_dictionaries(self, force: bool = False) -> list[TrainedDictionary]:
        """Train a dictionary for each kind that is due (or every kind with `force`) and has enough samples."""
        await self.load_dictionaries()
        if not self._codec.enabled:
            return []
        trained = []
        for kind in KINDS:
            newest = await self._read(self._queries.newest_dictionary_time, kind)
            if not (force or dictionaries.due(newest)):
                continue
            samples = await self._with_dictionaries(
                lambda kind=kind: self._read(self._queries.dictionary_samples, self._codec, kind)
            )
            if len(samples) < dictionaries.MIN_SAMPLES:
                continue
            dict_id = await self._read(self._queries.next_dictionary_id)
            try:
                content = await asyncio.to_thread(dictionaries.train, samples, dict_id)
            except zstd.ZstdError as exc:
                log.warning("no %s dictionary trained from %d samples: %s", kind, len(samples), exc)
                continue
            await self._write(commands.AddDictionary(dict_id, kind, content, len(samples)))
            self._codec.dictionaries.add(dict_id, kind, content)
            trained.append(TrainedDictionary(dict_id, kind, len(content), len(samples)))
            log.info("trained zstd dictionary %d for %s from %d samples", dict_id, kind, len(samples))
        return trained

    async def compress_existing(self, progress: RepackProgress | None = None) -> dict[str, int]:
        """Rewrite rows kept as plain text in their packed form, in bounded batches, then artifact blobs kept raw.

        Answers rows (blobs, for "artifacts") rewritten per kind. Idempotent: a
        row already packed is not read again; one that packing would not
        shrink stays plain.
        """
        if not self._codec.enabled:
            return {kind: 0 for kind in (*KINDS, "artifacts")}
        await self.load_dictionaries()
        rewritten = {}
        for kind in KINDS:
            after: tuple | None = None
            looked = done = 0
            while True:
                found = await self._read(self._queries.plain_rows, kind, after, repacking.REPACK_CHUNK)
                if not found:
                    break
                after = repacking.row_key(kind, found[-1])
                packed = await asyncio.to_thread(repacking.repacked, self._codec, kind, found)
                done += await self._write(commands.Repack(kind, packed))
                looked += len(found)
                if progress is not None:
                    progress(kind, looked, done)
                if len(found) < repacking.REPACK_CHUNK:
                    break
            rewritten[kind] = done
        rewritten["artifacts"] = await self.compress_blobs(progress)
        return rewritten

    async def measure_storage(self) -> StorageReport:
        """Measure each kind's count, raw and stored bytes now (one pass over the size columns), and keep it."""
        measured_at = clock.now_text()
        figures = await self._read(self._queries.storage_use)
        report = StorageReport(measured_at, *(StorageUse(*figures[kind]) for kind in (*KINDS, "artifacts")))
        self._storage_report = report
        return report

    async def storage_report(self, fresh: bool = False) -> StorageReport:
        """The last measurement (measured now if there is none, or with `fresh`)."""
        if fresh or self._storage_report is None:
            return await self.measure_storage()
        return self._storage_report

    def last_storage_report(self) -> StorageReport | None:
        return self._storage_report
