"""Checkpoints of threads on every backend: channel values, pending writes, listing, deletes, copies, pruning."""

from __future__ import annotations

import pytest
from vault.store.errors import NotFound

from vault.inputs import ChannelBlob, NewCheckpoint, NewWrite, NewWrites
from vault.queries import CheckpointQuery


def checkpoint(versions: dict, blobs: dict | None = None, *, ns: str = "", parent: str | None = None, **metadata):
    """A checkpoint naming `versions`, bringing the values in `blobs` (channel to (version, bytes))."""
    return NewCheckpoint(
        checkpoint={"v": 1, "ts": "2026-11-30T00:00:00+00:00", "channel_versions": versions, "versions_seen": {}},
        checkpoint_ns=ns,
        parent_checkpoint_id=parent,
        metadata=metadata,
        blobs=[ChannelBlob(channel, version, "msgpack", data) for channel, (version, data) in (blobs or {}).items()],
    )


def values(found) -> dict:
    return {channel: value.data for channel, value in found.channel_values.items()}


async def test_a_checkpoint_reads_back_with_the_values_its_versions_name(backend_store):
    await backend_store.put_checkpoint("t", "c1", checkpoint({"a": 1, "b": 1}, {"a": (1, b"A1"), "b": (1, b"B1")}))
    # Only `a` is new in c2; `b` is still the value stored at version 1.
    await backend_store.put_checkpoint("t", "c2", checkpoint({"a": 2, "b": 1}, {"a": (2, b"A2")}, parent="c1"))

    first = await backend_store.get_checkpoint("t", "", "c1")
    second = await backend_store.get_checkpoint("t", "", "c2")

    assert values(first) == {"a": "QTE=", "b": "QjE="}
    assert values(second) == {"a": "QTI=", "b": "QjE="}
    assert second.parent_checkpoint_id == "c1"
    assert second.checkpoint["channel_versions"] == {"a": 2, "b": 1}


async def test_a_version_is_its_json_value_and_empty_values_are_not_served(backend_store):
    await backend_store.put_checkpoint("t", "c1", checkpoint({"a": "1", "b": 1}, {"a": ("1", b"s"), "b": (1, b"n")}))
    empty = checkpoint({"a": "1", "gone": 2})
    empty = NewCheckpoint(empty.checkpoint, blobs=[ChannelBlob("gone", 2, "empty", b"")])
    await backend_store.put_checkpoint("t", "c2", empty)

    assert values(await backend_store.get_checkpoint("t", "", "c1")) == {"a": "cw==", "b": "bg=="}
    assert values(await backend_store.get_checkpoint("t", "", "c2")) == {"a": "cw=="}


async def test_an_unknown_checkpoint_is_not_found(backend_store):
    await backend_store.put_checkpoint("t", "c1", checkpoint({}))

    with pytest.raises(NotFound):
        await backend_store.get_checkpoint("t", "child", "c1")
    with pytest.raises(NotFound):
        await backend_store.get_checkpoint("other", "", "c1")


async def test_writes_are_kept_once_per_task_and_index_and_special_ones_replace(backend_store):
    await backend_store.put_checkpoint("t", "c1", checkpoint({}))
    await backend_store.put_checkpoint_writes(
        "t", "c1", NewWrites("task", [NewWrite(0, "ch", "json", b"1"), NewWrite(-1, "__error__", "json", b"e1")])
    )
    # A retry: the regular write stays as first stored; the error write is replaced.
    await backend_store.put_checkpoint_writes(
        "t", "c1", NewWrites("task", [NewWrite(0, "ch", "json", b"2"), NewWrite(-1, "__error__", "json", b"e2")])
    )
    await backend_store.put_checkpoint_writes(
        "t", "c1", NewWrites("early", [NewWrite(0, "ch", "json", b"3")], task_path="~a")
    )

    found = await backend_store.get_checkpoint("t", "", "c1")

    assert [(w.task_id, w.idx, w.channel, w.data, w.task_path) for w in found.pending_writes] == [
        ("task", -1, "__error__", "ZTI=", ""),
        ("task", 0, "ch", "MQ==", ""),
        ("early", 0, "ch", "Mw==", "~a"),
    ]


async def test_listing_is_newest_first_by_namespace_before_limit_and_metadata(backend_store):
    await backend_store.put_checkpoint("t", "c1", checkpoint({}, source="input", step=-1))
    await backend_store.put_checkpoint("t", "c2", checkpoint({}, source="loop", step=0))
    await backend_store.put_checkpoint("t", "c3", checkpoint({}, source="loop", step=1, flag=True))
    await backend_store.put_checkpoint("t", "c4", checkpoint({}, ns="child", source="loop", step=1))
    await backend_store.put_checkpoint("u", "c5", checkpoint({}))

    async def ids(**query) -> list[str]:
        page = await backend_store.list_checkpoints(CheckpointQuery("t", **query))
        return [found.checkpoint_id for found in page.items]

    assert await ids() == ["c4", "c3", "c2", "c1"]
    assert await ids(checkpoint_ns="") == ["c3", "c2", "c1"]
    assert await ids(checkpoint_ns="child") == ["c4"]
    assert await ids(checkpoint_ns="", before="c3") == ["c2", "c1"]
    assert await ids(checkpoint_ns="", before="c3", limit=1) == ["c2"]
    assert await ids(metadata={"source": "loop", "step": 1}) == ["c4", "c3"]
    assert await ids(metadata={"step": -1}) == ["c1"]
    # JSON's values: true is not 1.
    assert await ids(metadata={"flag": 1}) == []
    assert await ids(metadata={"flag": True}) == ["c3"]
    page = await backend_store.list_checkpoints(CheckpointQuery("t", limit=2))
    assert page.has_more


async def test_deleting_a_thread_takes_every_namespace_and_nothing_else(backend_store):
    await backend_store.put_checkpoint("t", "c1", checkpoint({"a": 1}, {"a": (1, b"x")}))
    await backend_store.put_checkpoint("t", "c2", checkpoint({}, ns="child"))
    await backend_store.put_checkpoint_writes("t", "c1", NewWrites("task", [NewWrite(0, "ch", "json", b"1")]))
    await backend_store.put_checkpoint("u", "c1", checkpoint({"a": 1}, {"a": (1, b"y")}))

    assert await backend_store.delete_thread("t") == 2

    assert (await backend_store.list_checkpoints(CheckpointQuery("t"))).items == []
    assert values(await backend_store.get_checkpoint("u", "", "c1")) == {"a": "eQ=="}
    # A thread put again under the same id starts with no writes left over.
    await backend_store.put_checkpoint("t", "c1", checkpoint({}))
    assert (await backend_store.get_checkpoint("t", "", "c1")).pending_writes == []


async def test_deleting_runs_takes_their_checkpoints_and_writes(backend_store):
    await backend_store.put_checkpoint("t", "c1", checkpoint({"a": 1}, {"a": (1, b"1")}, run_id="r1"))
    await backend_store.put_checkpoint("t", "c2", checkpoint({"a": 2}, {"a": (2, b"2")}, run_id="r2"))
    await backend_store.put_checkpoint("t", "c3", checkpoint({}, ns="child", run_id="r1"))
    await backend_store.put_checkpoint_writes("t", "c1", NewWrites("task", [NewWrite(0, "ch", "json", b"1")]))

    assert await backend_store.delete_runs(["r1", "nobody"]) == 2

    page = await backend_store.list_checkpoints(CheckpointQuery("t"))
    assert [found.checkpoint_id for found in page.items] == ["c2"]
    assert values(page.items[0]) == {"a": "Mg=="}
    assert await backend_store.delete_runs([]) == 0


async def test_copying_a_thread_copies_checkpoints_values_and_writes(backend_store):
    await backend_store.put_checkpoint("src", "c1", checkpoint({"a": 1}, {"a": (1, b"1")}, step=0))
    await backend_store.put_checkpoint("src", "c2", checkpoint({"a": 1}, ns="child", parent=None, step=1))
    await backend_store.put_checkpoint_writes("src", "c1", NewWrites("task", [NewWrite(0, "ch", "json", b"w")]))

    assert await backend_store.copy_thread("src", "dst") == 2

    source = (await backend_store.list_checkpoints(CheckpointQuery("src"))).items
    copied = (await backend_store.list_checkpoints(CheckpointQuery("dst"))).items
    assert [(c.checkpoint_ns, c.checkpoint_id, c.metadata, values(c)) for c in copied] == [
        (c.checkpoint_ns, c.checkpoint_id, c.metadata, values(c)) for c in source
    ]
    assert [w.data for w in (await backend_store.get_checkpoint("dst", "", "c1")).pending_writes] == ["dw=="]
    assert await backend_store.copy_thread("nothing-here", "dst2") == 0


async def test_pruning_keeps_each_namespaces_newest_checkpoint_with_its_values_and_writes(backend_store):
    await backend_store.put_checkpoint("t", "c1", checkpoint({"a": 1, "b": 1}, {"a": (1, b"a1"), "b": (1, b"b1")}))
    await backend_store.put_checkpoint("t", "c2", checkpoint({"a": 2, "b": 1}, {"a": (2, b"a2")}))
    await backend_store.put_checkpoint("t", "c3", checkpoint({}, ns="child"))
    await backend_store.put_checkpoint("t", "c4", checkpoint({}, ns="child"))
    await backend_store.put_checkpoint_writes("t", "c2", NewWrites("task", [NewWrite(0, "ch", "json", b"w")]))
    await backend_store.put_checkpoint("u", "c1", checkpoint({}))

    assert await backend_store.prune_threads(["t"], keep_latest=True) == 2

    page = await backend_store.list_checkpoints(CheckpointQuery("t"))
    assert [found.checkpoint_id for found in page.items] == ["c4", "c2"]
    kept = await backend_store.get_checkpoint("t", "", "c2")
    assert values(kept) == {"a": "YTI=", "b": "YjE="}
    assert [w.data for w in kept.pending_writes] == ["dw=="]

    assert await backend_store.prune_threads(["t", "u"], keep_latest=False) == 3
    assert (await backend_store.list_checkpoints(CheckpointQuery("u"))).items == []
