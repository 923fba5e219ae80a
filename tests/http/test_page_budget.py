"""Lists whose items carry documents: a page stops at a byte budget, and large pages leave the loop free."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from attrs import evolve
from vault.handlers.common import encode_page
from vault.store.core.pages import PAGE_BUDGET_BYTES

from tests.conftest import create_session
from tests.pgtemp import fresh_database
from vault.app import create_app
from vault.jsonutil import OFF_LOOP_BYTES
from vault.models import Page

# Ten documents of about 1 MB: eight fit in the 8 MiB budget, the ninth does not.
DOCUMENT = "x" * 1_000_000
COUNT = 10
FIRST_PAGE = 8
assert FIRST_PAGE * 1_001_000 < PAGE_BUDGET_BYTES < (FIRST_PAGE + 1) * 1_000_000


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_backend(request, aiohttp_client, config, tmp_path):
    if request.param == "sqlite":
        yield await aiohttp_client(create_app(config))
        return
    async with fresh_database() as url:
        yield await aiohttp_client(create_app(evolve(config, database_url=url, artifact_dir=str(tmp_path / "a"))))


async def follow(client, url: str) -> list[list[Any]]:
    """Every page from `url` on, following Link: rel="next"."""
    pages = []
    while url:
        response = await client.get(url)
        assert response.status == 200, await response.text()
        pages.append(await response.json())
        link = response.headers.get("Link", "")
        assert link == "" or link.endswith('>; rel="next"')
        url = link.removeprefix("<").removesuffix('>; rel="next"')
    return pages


async def test_a_session_page_stops_at_the_byte_budget(any_backend):
    # Rule: a list answers at most about PAGE_BUDGET_BYTES of documents; Link: rel="next" carries on.
    created = [await create_session(any_backend, metadata={"blob": DOCUMENT}) for _ in range(COUNT)]
    pages = await follow(any_backend, "/storage/sessions?limit=20")
    assert [len(page) for page in pages] == [FIRST_PAGE, COUNT - FIRST_PAGE]
    listed = [session["id"] for page in pages for session in page]
    assert listed == [session["id"] for session in reversed(created)]


async def test_an_artifact_page_stops_at_the_byte_budget(any_backend):
    # Rule: a list answers at most about PAGE_BUDGET_BYTES of documents; Link: rel="next" carries on.
    for index in range(COUNT):
        response = await any_backend.post("/storage/artifacts", json={"name": f"a{index}", "metadata": {"b": DOCUMENT}})
        assert response.status == 201, await response.text()
    pages = await follow(any_backend, "/storage/artifacts?limit=20")
    assert [len(page) for page in pages] == [FIRST_PAGE, COUNT - FIRST_PAGE]
    assert len({artifact["id"] for page in pages for artifact in page}) == COUNT


@pytest.mark.parametrize("cursor", ["", "&after=0", "&offset=0"])
async def test_a_history_page_stops_at_the_byte_budget(any_backend, cursor):
    # Rule: a list answers at most about PAGE_BUDGET_BYTES of documents; the next link carries on.
    session_id = (await create_session(any_backend))["id"]
    for _ in range(COUNT):
        response = await any_backend.post(
            "/storage/history", json={"session_id": session_id, "role": "user", "content": DOCUMENT}
        )
        assert response.status == 201, await response.text()
    pages = await follow(any_backend, f"/storage/history?session_id={session_id}&limit=20{cursor}")
    assert [len(page) for page in pages] == [FIRST_PAGE, COUNT - FIRST_PAGE]
    seqs = sorted(message["seq"] for page in pages for message in page)
    assert seqs == list(range(1, COUNT + 1))


async def test_health_answers_while_a_large_page_is_encoded(served):
    # Rule: a large page is encoded off the event loop: /health answers while it is encoded.
    halfway, health_answered = threading.Event(), threading.Event()

    def items() -> Iterator[dict[str, Any]]:
        yield {"blob": "x" * OFF_LOOP_BYTES}
        halfway.set()
        # Were the page encoded on the loop's thread, /health could not be answered meanwhile.
        if not health_answered.wait(timeout=60):
            raise AssertionError("/health was not answered while the page was encoded")
        yield {"last": True}

    encoding = asyncio.create_task(encode_page(Page(items(), size=OFF_LOOP_BYTES + 1)))  # type: ignore[arg-type]
    assert await asyncio.to_thread(halfway.wait, 60)
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{served}/health") as response:
        assert response.status == 200
    health_answered.set()
    body = await encoding
    assert body.endswith(b',{"last":true}]')
