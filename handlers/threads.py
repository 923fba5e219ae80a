"""Checkpoints of threads: /storage/threads/{thread_id}/checkpoints, and deletes, copies and pruning.

What a graph runtime's checkpoint saver needs (vault.integrations.langgraph
is one): a checkpoint with the channel values its new versions bring, the
pending writes of each task against it, and a thread's checkpoints listed
newest first. Values are the client serializer's bytes in base64 with its
type tag; The Vault never decodes them.
"""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import (
    QueryReader,
    body_as,
    deleted,
    idempotency_claim,
    json_response,
    page_response,
    store_of,
)

from vault.inputs import NewCheckpoint, NewWrites, RunDeletion, ThreadCopy, ThreadPruning
from vault.models import Checkpoint, CheckpointKey
from vault.openapi.operation import (
    READ_ERRORS,
    WRITE_ERRORS,
    Named,
    Operation,
    deleted_reply,
    described,
    ok_reply,
    page_reply,
)
from vault.openapi.parameters import IDEMPOTENCY_KEY, LIMIT, Param, path_id, text_filter
from vault.queries import CheckpointQuery

routes = web.RouteTableDef()

THREAD_ID = path_id("thread_id", "A thread id, chosen by the client.")
CHECKPOINT_ID = path_id("checkpoint_id", "A checkpoint id, chosen by the client; ids sort in the order made.")
CHECKPOINT_PATH = "/storage/threads/{thread_id}/checkpoints/{checkpoint_id}"
NAMESPACE_OF_ONE = Param(
    "checkpoint_ns",
    "query",
    {"type": "string", "maxLength": 256},
    "The checkpoint's namespace; absent or empty: the root.",
)
NAMESPACE_OF_LIST = Param(
    "checkpoint_ns",
    "query",
    {"type": "string", "maxLength": 256},
    "Only this namespace; given empty (`checkpoint_ns=`), the root namespace; absent, every namespace.",
)
METADATA_FILTER = Param(
    "metadata",
    "query",
    {"type": "string", "examples": ['{"source":"loop","step":1}']},
    "A JSON object: only checkpoints whose metadata has each of its keys with that value.",
)
COUNT = {"type": "integer", "minimum": 0}


def _counted(name: str, status: str, description: str, **fields: dict) -> Named:
    schema = {
        "type": "object",
        "properties": {"status": {"const": status}, **fields},
        "required": ["status", *fields],
        "description": description,
    }
    return Named(name, schema)


@routes.put(CHECKPOINT_PATH)
@described(
    Operation(
        "PUT",
        CHECKPOINT_PATH,
        "put_checkpoint",
        "Store a checkpoint",
        "checkpoints",
        ok_reply(CheckpointKey, "Stored; a checkpoint with the same thread, namespace and id is replaced."),
        description="`checkpoint` is kept as sent, without channel values; its `channel_versions` name the values "
        "a read gives back. `blobs` are the values whose versions are new in this checkpoint, each under "
        "(channel, version); a value already stored for that channel and version is kept.",
        params=(THREAD_ID, CHECKPOINT_ID),
        body=NewCheckpoint,
        body_example={
            "checkpoint_ns": "",
            "parent_checkpoint_id": "1f0c-0001",
            "checkpoint": {"v": 4, "ts": "2026-11-30T11:00:00+00:00", "channel_versions": {"messages": 2}},
            "metadata": {"source": "loop", "step": 1, "run_id": "run-1"},
            "blobs": [{"channel": "messages", "version": 2, "type": "msgpack", "data": "kqFh"}],
        },
        errors=WRITE_ERRORS,
    ),
)
async def put_checkpoint(request: web.Request) -> web.Response:
    new, _ = await body_as(request, NewCheckpoint)
    match = request.match_info
    return json_response(await store_of(request).put_checkpoint(match["thread_id"], match["checkpoint_id"], new))


@routes.put(CHECKPOINT_PATH + "/writes")
@described(
    Operation(
        "PUT",
        CHECKPOINT_PATH + "/writes",
        "put_checkpoint_writes",
        "Store a task's pending writes against a checkpoint",
        "checkpoints",
        ok_reply(
            _counted("WritesStored", "stored", "How many writes were sent.", count=COUNT), "Stored, or already there."
        ),
        description="Each write is keyed by (task_id, idx). A write with idx >= 0 already stored is kept as it "
        "was, so a retried task writes nothing twice; one with idx < 0 (errors, interrupts) replaces its own.",
        params=(THREAD_ID, CHECKPOINT_ID),
        body=NewWrites,
        body_example={
            "task_id": "task-1",
            "writes": [{"idx": 0, "channel": "messages", "type": "json", "data": "MQ=="}],
        },
        errors=WRITE_ERRORS,
    ),
)
async def put_checkpoint_writes(request: web.Request) -> web.Response:
    writes, _ = await body_as(request, NewWrites)
    match = request.match_info
    count = await store_of(request).put_checkpoint_writes(match["thread_id"], match["checkpoint_id"], writes)
    return json_response({"status": "stored", "count": count})


@routes.get(CHECKPOINT_PATH)
@described(
    Operation(
        "GET",
        CHECKPOINT_PATH,
        "get_checkpoint",
        "Read a checkpoint",
        "checkpoints",
        ok_reply(Checkpoint, "The checkpoint, its channel values and its pending writes."),
        params=(THREAD_ID, CHECKPOINT_ID, NAMESPACE_OF_ONE),
        errors=(404, *READ_ERRORS),
    ),
)
async def get_checkpoint(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    namespace = reader.namespace("checkpoint_ns") or ""
    reader.done()
    match = request.match_info
    return json_response(await store_of(request).get_checkpoint(match["thread_id"], namespace, match["checkpoint_id"]))


@routes.get("/storage/threads/{thread_id}/checkpoints")
@described(
    Operation(
        "GET",
        "/storage/threads/{thread_id}/checkpoints",
        "list_checkpoints",
        "List a thread's checkpoints, newest first",
        "checkpoints",
        page_reply(Checkpoint, "Checkpoints, newest (highest id) first, each with its values and pending writes."),
        description="`limit=1` with a namespace reads that namespace's latest checkpoint. A thread with no "
        "checkpoints is an empty list.",
        params=(
            THREAD_ID,
            NAMESPACE_OF_LIST,
            text_filter("before", "Only checkpoints whose id sorts before this one."),
            METADATA_FILTER,
            LIMIT,
        ),
        errors=READ_ERRORS,
    ),
)
async def list_checkpoints(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    query = CheckpointQuery(
        thread_id=request.match_info["thread_id"],
        checkpoint_ns=reader.namespace("checkpoint_ns"),
        before=reader.text("before"),
        metadata=reader.json_object("metadata"),
        limit=reader.limit(),
    )
    reader.done()
    page = await store_of(request).list_checkpoints(query)
    following = {"before": page.items[-1].checkpoint_id, "limit": query.limit} if page.items else None
    return await page_response(request, page, following)


@routes.delete("/storage/threads/{thread_id}")
@described(
    Operation(
        "DELETE",
        "/storage/threads/{thread_id}",
        "delete_thread",
        "Delete a thread's checkpoints",
        "checkpoints",
        deleted_reply("ThreadDeleted", "thread_id", deleted=COUNT),
        description="Every namespace's checkpoints, values and writes, atomically; `deleted` counts the "
        "checkpoints. A thread with none: `deleted: 0`.",
        params=(THREAD_ID,),
        errors=WRITE_ERRORS,
    ),
)
async def delete_thread(request: web.Request) -> web.Response:
    thread_id = request.match_info["thread_id"]
    return deleted(thread_id=thread_id, deleted=await store_of(request).delete_thread(thread_id))


@routes.post("/storage/threads/{thread_id}/copy")
@described(
    Operation(
        "POST",
        "/storage/threads/{thread_id}/copy",
        "copy_thread",
        "Copy a thread's checkpoints to another thread",
        "checkpoints",
        ok_reply(_counted("ThreadCopied", "copied", "How many checkpoints were copied.", copied=COUNT), "Copied."),
        description="Checkpoints, values and pending writes of every namespace, atomically; checkpoints the "
        "target already has are kept. A thread with none copies nothing.",
        params=(THREAD_ID, IDEMPOTENCY_KEY),
        body=ThreadCopy,
        body_example={"target_thread_id": "thread-2"},
        errors=WRITE_ERRORS,
    ),
)
async def copy_thread(request: web.Request) -> web.Response:
    body, raw = await body_as(request, ThreadCopy)
    claim = idempotency_claim(request, raw)
    copied = await store_of(request).copy_thread(request.match_info["thread_id"], body.target_thread_id, claim)
    return json_response({"status": "copied", "copied": copied})


@routes.post("/storage/checkpoints/delete-runs")
@described(
    Operation(
        "POST",
        "/storage/checkpoints/delete-runs",
        "delete_checkpoints_of_runs",
        "Delete the checkpoints runs made",
        "checkpoints",
        ok_reply(_counted("RunsDeleted", "deleted", "How many checkpoints went.", deleted=COUNT), "Deleted."),
        description="Checkpoints whose metadata `run_id` is one of `run_ids`, in every thread, with their writes.",
        params=(IDEMPOTENCY_KEY,),
        body=RunDeletion,
        body_example={"run_ids": ["run-1"]},
        errors=WRITE_ERRORS,
    ),
)
async def delete_runs(request: web.Request) -> web.Response:
    body, raw = await body_as(request, RunDeletion)
    deleted_count = await store_of(request).delete_runs(body.run_ids, idempotency_claim(request, raw))
    return json_response({"status": "deleted", "deleted": deleted_count})


@routes.post("/storage/checkpoints/prune")
@described(
    Operation(
        "POST",
        "/storage/checkpoints/prune",
        "prune_checkpoints",
        "Prune threads' checkpoints",
        "checkpoints",
        ok_reply(_counted("ThreadsPruned", "pruned", "How many checkpoints went.", deleted=COUNT), "Pruned."),
        description="`keep_latest`: each namespace of each thread keeps its newest checkpoint, with its values "
        "and writes; `delete`: nothing is kept.",
        params=(IDEMPOTENCY_KEY,),
        body=ThreadPruning,
        body_example={"thread_ids": ["thread-1"], "strategy": "keep_latest"},
        errors=WRITE_ERRORS,
    ),
)
async def prune(request: web.Request) -> web.Response:
    body, raw = await body_as(request, ThreadPruning)
    claim = idempotency_claim(request, raw)
    pruned = await store_of(request).prune_threads(body.thread_ids, body.strategy == "keep_latest", claim)
    return json_response({"status": "pruned", "deleted": pruned})
