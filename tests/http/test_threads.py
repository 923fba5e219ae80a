"""Checkpoints of threads over HTTP: put, writes, read, list with filters and paging, deletes, copies, pruning."""

from __future__ import annotations

import base64
from typing import Any

CHECKPOINTS = "/storage/threads/{}/checkpoints"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def body(versions: dict, blobs: dict | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "checkpoint": {"v": 4, "id": "x", "channel_versions": versions},
        "blobs": [
            {"channel": c, "version": v, "type": "msgpack", "data": b64(d)} for c, (v, d) in (blobs or {}).items()
        ],
        **fields,
    }


async def put(client, thread: str, checkpoint_id: str, payload: dict) -> dict:
    response = await client.put(f"{CHECKPOINTS.format(thread)}/{checkpoint_id}", json=payload)
    assert response.status == 200, await response.text()
    return await response.json()


async def listed(client, thread: str, **params: str) -> list[dict]:
    response = await client.get(CHECKPOINTS.format(thread), params=params)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_checkpoint_round_trips_with_its_values_and_writes(client):
    stored = await put(client, "t1", "c1", body({"a": 1}, {"a": (1, b"\x00\xffvalue")}, metadata={"step": 0}))
    response = await client.put(
        f"{CHECKPOINTS.format('t1')}/c1/writes",
        json={
            "task_id": "task",
            "task_path": "~p",
            "writes": [{"idx": 0, "channel": "ch", "type": "json", "data": b64(b"1")}],
        },
    )
    assert (response.status, await response.json()) == (200, {"status": "stored", "count": 1})

    response = await client.get(f"{CHECKPOINTS.format('t1')}/c1")
    found = await response.json()

    assert stored == {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": "c1", "parent_checkpoint_id": None}
    assert found["channel_values"] == {"a": {"type": "msgpack", "data": b64(b"\x00\xffvalue")}}
    assert found["metadata"] == {"step": 0}
    assert found["pending_writes"] == [
        {"task_id": "task", "idx": 0, "channel": "ch", "type": "json", "data": b64(b"1"), "task_path": "~p"}
    ]


async def test_an_unknown_checkpoint_is_a_404(client):
    await put(client, "t1", "c1", body({}))

    response = await client.get(f"{CHECKPOINTS.format('t1')}/c1", params={"checkpoint_ns": "child"})

    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_the_root_namespace_is_an_empty_value_and_absent_means_every_namespace(client):
    await put(client, "t1", "c1", body({}))
    await put(client, "t1", "c2", body({}, checkpoint_ns="child"))

    assert [c["checkpoint_id"] for c in await listed(client, "t1")] == ["c2", "c1"]
    assert [c["checkpoint_id"] for c in await listed(client, "t1", checkpoint_ns="")] == ["c1"]
    assert [c["checkpoint_id"] for c in await listed(client, "t1", checkpoint_ns="child")] == ["c2"]


async def test_listing_filters_on_metadata_and_pages_with_before(client):
    for n in range(1, 6):
        await put(client, "t1", f"c{n}", body({}, metadata={"source": "loop" if n % 2 else "input", "step": n}))

    assert [c["checkpoint_id"] for c in await listed(client, "t1", metadata='{"source":"loop"}')] == ["c5", "c3", "c1"]
    response = await client.get(CHECKPOINTS.format("t1"), params={"limit": "2"})
    assert [c["checkpoint_id"] for c in await response.json()] == ["c5", "c4"]
    following = response.headers["Link"].split(";")[0].strip("<>")
    second = await client.get(following)
    assert [c["checkpoint_id"] for c in await second.json()] == ["c3", "c2"]


async def test_bad_input_names_the_field(client):
    response = await client.put(
        f"{CHECKPOINTS.format('t1')}/c1",
        json={**body({}), "blobs": [{"channel": "a", "version": 1, "type": "t", "data": "not base64!"}]},
    )
    assert response.status == 422
    assert (await response.json())["errors"][0]["loc"] == ["body", "blobs", 0, "data"]

    response = await client.get(CHECKPOINTS.format("t1"), params={"metadata": "[1]"})
    assert response.status == 422
    assert (await response.json())["errors"][0]["loc"] == ["query", "metadata"]

    response = await client.post("/storage/checkpoints/prune", json={"thread_ids": ["t1"], "strategy": "some"})
    assert response.status == 422


async def test_delete_copy_prune_and_runs(client):
    await put(client, "t1", "c1", body({"a": 1}, {"a": (1, b"1")}, metadata={"run_id": "r1"}))
    await put(client, "t1", "c2", body({"a": 2}, {"a": (2, b"2")}, metadata={"run_id": "r2"}))
    await put(client, "t1", "c3", body({"a": 3}, {"a": (3, b"3")}, metadata={"run_id": "r3"}))

    response = await client.post("/storage/threads/t1/copy", json={"target_thread_id": "t2"})
    assert await response.json() == {"status": "copied", "copied": 3}
    response = await client.post("/storage/checkpoints/delete-runs", json={"run_ids": ["r1"]})
    assert await response.json() == {"status": "deleted", "deleted": 2}
    response = await client.post("/storage/checkpoints/prune", json={"thread_ids": ["t1"]})
    assert await response.json() == {"status": "pruned", "deleted": 1}
    assert [c["checkpoint_id"] for c in await listed(client, "t1")] == ["c3"]
    assert [c["checkpoint_id"] for c in await listed(client, "t2")] == ["c3", "c2"]

    response = await client.delete("/storage/threads/t2")
    assert await response.json() == {"status": "deleted", "thread_id": "t2", "deleted": 2}
    assert await listed(client, "t2") == []
