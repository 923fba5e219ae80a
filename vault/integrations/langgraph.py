"""LangGraph checkpoint savers that keep checkpoints and pending writes in The Vault.

    from vault.integrations.langgraph import AsyncVaultSaver
    graph = builder.compile(checkpointer=AsyncVaultSaver("http://localhost:8084"))

Channel values and pending writes are serialized by the saver's own serde
(LangGraph's JsonPlusSerializer unless another is given) and travel as its
type tag and bytes; The Vault stores the bytes and never decodes them. A
channel's value is stored once per version, as LangGraph's own savers do, so
a checkpoint costs the channels that changed, not all of them. The
checkpoint itself (versions, versions seen) and its metadata travel as JSON,
so listings filter on metadata on the service.

`VaultSaver` calls the service from the calling thread (its async methods
run it on a worker thread); `AsyncVaultSaver` calls it on the event loop (its
sync methods use a blocking client of their own). Both do everything the
other does: every capability of langgraph-checkpoint-conformance.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from vault.client import AsyncVaultClient, NotFound, VaultClient
from vault.client.thread_calls import Blob, Write, unb64
from vault.models import Checkpoint as StoredCheckpoint

# What a saver sends for a channel whose new version holds no value (LangGraph's own savers say the same).
EMPTY = ("empty", b"")
PRUNE_STRATEGIES = ("keep_latest", "delete")
# The most checkpoints one page of a listing holds on the service.
MOST_PER_PAGE = 1000

__all__ = ["AsyncVaultSaver", "VaultSaver"]


class _Forms:
    """What both savers send and read back: LangGraph's records as the service's resources."""

    serde: SerializerProtocol

    @staticmethod
    def _where(config: RunnableConfig) -> tuple[str, str, str | None]:
        configurable = config["configurable"]
        return configurable["thread_id"], configurable.get("checkpoint_ns", ""), get_checkpoint_id(config)

    def _checkpoint_call(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> tuple[tuple[str, str, dict[str, Any]], dict[str, Any], RunnableConfig]:
        """(thread, id, checkpoint without values), the call's other arguments, and the config to answer."""
        thread_id, namespace, parent_id = self._where(config)
        stored = {key: value for key, value in checkpoint.items() if key != "channel_values"}
        values = checkpoint["channel_values"]
        blobs: list[Blob] = [
            (channel, version, *(self.serde.dumps_typed(values[channel]) if channel in values else EMPTY))
            for channel, version in new_versions.items()
        ]
        arguments = {
            "checkpoint_ns": namespace,
            "parent_checkpoint_id": parent_id,
            "metadata": get_serializable_checkpoint_metadata(config, metadata),
            "blobs": blobs,
        }
        answer: RunnableConfig = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": namespace, "checkpoint_id": checkpoint["id"]}
        }
        return (thread_id, checkpoint["id"], stored), arguments, answer

    def _writes_call(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str
    ) -> tuple[tuple[str, str, str, list[Write]], dict[str, str]]:
        thread_id, namespace, checkpoint_id = self._where(config)
        if checkpoint_id is None:
            raise ValueError("pending writes belong to a checkpoint: the config names no checkpoint_id")
        # Special channels (errors, interrupts...) keep their fixed negative index, as in every LangGraph saver.
        rows: list[Write] = [
            (WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
            for idx, (channel, value) in enumerate(writes)
        ]
        return (thread_id, checkpoint_id, task_id, rows), {"checkpoint_ns": namespace, "task_path": task_path}

    def _tuple(self, found: StoredCheckpoint) -> CheckpointTuple:
        thread_id, namespace = found.thread_id, found.checkpoint_ns
        values = {
            channel: self.serde.loads_typed((value.type, unb64(value.data)))
            for channel, value in found.channel_values.items()
        }
        pending = [
            (write.task_id, write.channel, self.serde.loads_typed((write.type, unb64(write.data))))
            for write in found.pending_writes
        ]
        parent = None
        if found.parent_checkpoint_id is not None:
            parent = {
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": namespace,
                    "checkpoint_id": found.parent_checkpoint_id,
                }
            }
        return CheckpointTuple(
            config={
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": namespace,
                    "checkpoint_id": found.checkpoint_id,
                }
            },
            checkpoint={**found.checkpoint, "channel_values": values},  # type: ignore[typeddict-item]
            metadata=found.metadata,  # type: ignore[arg-type]
            parent_config=parent,
            pending_writes=pending,
        )

    @staticmethod
    def _listing(
        config: RunnableConfig | None, filter: dict[str, Any] | None, before: RunnableConfig | None
    ) -> tuple[str, str | None, str | None, dict[str, Any]]:
        """(thread, the checkpoint id the config names, the id listed before, the list call's conditions)."""
        if config is None:
            raise ValueError("The Vault lists one thread's checkpoints: pass a config with a thread_id")
        configurable = config["configurable"]
        query = {
            "checkpoint_ns": configurable.get("checkpoint_ns"),
            "before": get_checkpoint_id(before) if before else None,
            "metadata": filter or None,
        }
        return configurable["thread_id"], get_checkpoint_id(config), query["before"], query

    @staticmethod
    def _kept(found: StoredCheckpoint, filter: dict[str, Any] | None, before: str | None) -> bool:
        """Whether a checkpoint named in the config (read by id, not listed) passes the listing's conditions."""
        if before is not None and found.checkpoint_id >= before:
            return False
        return all(key in found.metadata and found.metadata[key] == value for key, value in (filter or {}).items())

    @staticmethod
    def _checked_strategy(strategy: str) -> bool:
        if strategy not in PRUNE_STRATEGIES:
            raise ValueError(f"unknown prune strategy {strategy!r}: use one of {', '.join(PRUNE_STRATEGIES)}")
        return strategy == "keep_latest"

    def get_next_version(self, current: str | int | None, channel: None) -> str:
        """Versions that sort as text, with a random part, as LangGraph's database savers make them."""
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(current.split(".")[0])
        return f"{number + 1:032}.{random.random():016}"


class VaultSaver(_Forms, BaseCheckpointSaver[str]):
    """A checkpoint saver over The Vault's HTTP API, blocking; its async methods run it on a worker thread."""

    def __init__(self, url: str, api_key: str | None = None, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        self._url, self._api_key = url, api_key
        self._blocking_client: VaultClient | None = None

    @property
    def blocking_client(self) -> VaultClient:
        """The blocking client, made at the first call that needs it (it runs a thread of its own)."""
        if self._blocking_client is None:
            self._blocking_client = VaultClient(self._url, self._api_key)
        return self._blocking_client

    def close(self) -> None:
        if self._blocking_client is not None:
            self._blocking_client.close()

    def __enter__(self) -> VaultSaver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        where, arguments, answer = self._checkpoint_call(config, checkpoint, metadata, new_versions)
        self.blocking_client.put_checkpoint(*where, **arguments)
        return answer

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        where, arguments = self._writes_call(config, writes, task_id, task_path)
        self.blocking_client.put_checkpoint_writes(*where, **arguments)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id, namespace, checkpoint_id = self._where(config)
        if checkpoint_id is not None:
            try:
                return self._tuple(
                    self.blocking_client.get_checkpoint(thread_id, checkpoint_id, checkpoint_ns=namespace)
                )
            except NotFound:
                return None
        latest = self.blocking_client.list_checkpoints(thread_id, checkpoint_ns=namespace, limit=1)
        return self._tuple(latest[0]) if latest else None

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        thread_id, named, before_id, query = self._listing(config, filter, before)
        if limit is not None and limit <= 0:
            return
        if named is not None:
            try:
                found = self.blocking_client.get_checkpoint(
                    thread_id, named, checkpoint_ns=query["checkpoint_ns"] or ""
                )
            except NotFound:
                return
            if self._kept(found, filter, before_id):
                yield self._tuple(found)
            return
        if limit is not None and limit <= MOST_PER_PAGE:
            listed: Iterator[StoredCheckpoint] = iter(
                self.blocking_client.list_checkpoints(thread_id, limit=limit, **query)
            )
        else:
            listed = self.blocking_client.iter_checkpoints(thread_id, **query)
        for count, found in enumerate(listed, 1):
            yield self._tuple(found)
            if limit is not None and count >= limit:
                return

    def delete_thread(self, thread_id: str) -> None:
        self.blocking_client.delete_thread(thread_id)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            self.blocking_client.delete_checkpoints_of_runs(list(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.blocking_client.copy_thread(source_thread_id, target_thread_id)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        keep_latest = self._checked_strategy(strategy)
        if thread_ids:
            self.blocking_client.prune_threads(list(thread_ids), strategy="keep_latest" if keep_latest else "delete")

    # -- the same, from async code: each call on a worker thread

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        found = await asyncio.to_thread(lambda: list(self.list(config, filter=filter, before=before, limit=limit)))
        for item in found:
            yield item

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)


class AsyncVaultSaver(VaultSaver):
    """A checkpoint saver over The Vault's HTTP API for asyncio; its sync methods are VaultSaver's,
    on a blocking client of their own."""

    def __init__(self, url: str, api_key: str | None = None, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(url, api_key, serde=serde)
        self.client = AsyncVaultClient(url, api_key)

    async def aclose(self) -> None:
        await self.client.aclose()
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> AsyncVaultSaver:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        where, arguments, answer = self._checkpoint_call(config, checkpoint, metadata, new_versions)
        await self.client.put_checkpoint(*where, **arguments)
        return answer

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        where, arguments = self._writes_call(config, writes, task_id, task_path)
        await self.client.put_checkpoint_writes(*where, **arguments)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id, namespace, checkpoint_id = self._where(config)
        if checkpoint_id is not None:
            try:
                return self._tuple(await self.client.get_checkpoint(thread_id, checkpoint_id, checkpoint_ns=namespace))
            except NotFound:
                return None
        latest = await self.client.list_checkpoints(thread_id, checkpoint_ns=namespace, limit=1)
        return self._tuple(latest[0]) if latest else None

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        thread_id, named, before_id, query = self._listing(config, filter, before)
        if limit is not None and limit <= 0:
            return
        if named is not None:
            try:
                found = await self.client.get_checkpoint(thread_id, named, checkpoint_ns=query["checkpoint_ns"] or "")
            except NotFound:
                return
            if self._kept(found, filter, before_id):
                yield self._tuple(found)
            return
        if limit is not None and limit <= MOST_PER_PAGE:
            for found in await self.client.list_checkpoints(thread_id, limit=limit, **query):
                yield self._tuple(found)
            return
        count = 0
        async for found in self.client.iter_checkpoints(thread_id, **query):
            yield self._tuple(found)
            count += 1
            if limit is not None and count >= limit:
                return

    async def adelete_thread(self, thread_id: str) -> None:
        await self.client.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            await self.client.delete_checkpoints_of_runs(list(run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self.client.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        keep_latest = self._checked_strategy(strategy)
        if thread_ids:
            await self.client.prune_threads(list(thread_ids), strategy="keep_latest" if keep_latest else "delete")
