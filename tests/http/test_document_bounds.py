"""VAULT_MAX_DOCUMENT_BYTES: no stored document grows past the bound, on either backend."""

from __future__ import annotations

from typing import Any

import pytest
from attrs import evolve

from tests.conftest import create_session
from tests.pgtemp import fresh_database
from vault.app import create_app

LIMIT = 4096


@pytest.fixture(params=["sqlite", "postgresql"])
async def bounded(request, aiohttp_client, config, tmp_path):
    """A client of the app with a 4 KiB document bound, on each backend."""
    bounded_config = evolve(config, max_document_bytes=LIMIT)
    if request.param == "sqlite":
        yield await aiohttp_client(create_app(bounded_config))
        return
    async with fresh_database() as url:
        pg_config = evolve(bounded_config, database_url=url, artifact_dir=str(tmp_path / "artifacts"))
        yield await aiohttp_client(create_app(pg_config))


def text_of(size: int) -> str:
    return "x" * size


async def assert_too_large(response, field: str) -> None:
    assert response.status == 413, await response.text()
    body = await response.json()
    assert body["error"] == "document_too_large"
    assert field in body["detail"]
    assert str(LIMIT) in body["detail"]


async def test_state_patches_stop_at_the_bound_and_write_nothing(bounded):
    # Rule: merge patches that would grow the stored state past the bound are 413, and nothing is written.
    session_id = (await create_session(bounded))["id"]
    url = f"/storage/state/{session_id}"
    accepted = 0
    for index in range(10):
        response = await bounded.patch(url, json={"data": {f"key{index}": text_of(1000)}})
        if response.status != 200:
            await assert_too_large(response, "data")
            break
        accepted += 1
    assert accepted == 4  # 4 x ~1 KiB fit in 4 KiB; the fifth would not
    state = await (await bounded.get(url)).json()
    assert state["version"] == accepted
    assert sorted(state["data"]) == [f"key{index}" for index in range(accepted)]


async def test_session_metadata_merges_stop_at_the_bound_and_write_nothing(bounded):
    # Rule: a session update whose merged metadata would pass the bound is 413, and nothing is written.
    session = await create_session(bounded, metadata={"a": text_of(3000)})
    url = f"/storage/sessions/{session['id']}"
    for method in ("PATCH", "PUT"):
        response = await bounded.request(method, url, json={"metadata": {"b": text_of(2000)}, "status": "ended"})
        await assert_too_large(response, "metadata")
    stored = await (await bounded.get(url)).json()
    assert stored == session
    # Removing a key makes room: the merge is measured, not the request.
    response = await bounded.patch(url, json={"metadata": {"a": None, "b": text_of(2000)}})
    assert response.status == 200, await response.text()


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/storage/sessions", {"agent_name": "a", "metadata": {"a": text_of(LIMIT)}}, "metadata"),
        ("PUT", "/storage/state/{session}", {"data": {"a": text_of(LIMIT)}}, "data"),
        ("PUT", "/storage/cache/big", {"value": text_of(LIMIT)}, "value"),
        ("POST", "/storage/history", {"session_id": "{session}", "role": "user", "content": text_of(LIMIT)}, "message"),
    ],
)
async def test_a_document_over_the_bound_is_refused_as_sent(bounded, method, path, body, field):
    # Rule: each request's own document is held to the bound too: 413 naming the field, nothing stored.
    session_id = (await create_session(bounded))["id"]
    filled: dict[str, Any] = {**body, **({"session_id": session_id} if "session_id" in body else {})}
    response = await bounded.request(method, path.replace("{session}", session_id), json=filled)
    await assert_too_large(response, field)
    assert len(await (await bounded.get("/storage/sessions")).json()) == 1
    assert (await (await bounded.get(f"/storage/state/{session_id}")).json())["version"] == 0
    assert (await bounded.get("/storage/cache/big")).status == 404
    assert await (await bounded.get(f"/storage/history?session_id={session_id}")).json() == []


async def test_a_batch_names_the_message_over_the_bound(bounded):
    # Rule: in a batch, the message over the bound is named, and none of the batch is stored.
    session_id = (await create_session(bounded))["id"]
    messages = [{"role": "user", "content": "small"}, {"role": "user", "content": text_of(LIMIT)}]
    response = await bounded.post("/storage/history/batch", json={"session_id": session_id, "messages": messages})
    await assert_too_large(response, "messages[1]")
    assert await (await bounded.get(f"/storage/history?session_id={session_id}")).json() == []
