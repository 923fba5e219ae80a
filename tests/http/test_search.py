"""GET /storage/search over HTTP: its parameters, its errors, its paging."""

from __future__ import annotations

from tests.conftest import create_session


async def add(client, session_id: str, content: str, role: str = "user") -> None:
    response = await client.post("/storage/history", json={"session_id": session_id, "role": role, "content": content})
    assert response.status == 201, await response.text()


async def test_hits_come_best_first_with_snippet_highlights_and_message(client):
    session = await create_session(client)
    await add(client, session["id"], "The user's deadline is the 14th of March, firm.")

    response = await client.get("/storage/search", params={"q": "DEADLINE march"})

    assert response.status == 200
    [hit] = await response.json()
    assert hit["message"]["content"] == "The user's deadline is the 14th of March, firm."
    assert [hit["snippet"][s:e] for s, e in hit["highlights"]] == ["deadline", "March"]
    assert hit["score"] > 0


async def test_an_empty_or_blank_q_is_422_naming_it(client):
    for params in ({}, {"q": ""}, {"q": "   "}):
        response = await client.get("/storage/search", params=params)
        assert response.status == 422
        assert (await response.json())["errors"][0]["loc"] == ["query", "q"]


async def test_a_q_too_long_or_an_unknown_parameter_is_422(client):
    too_long = await client.get("/storage/search", params={"q": "x" * 1001})
    unknown = await client.get("/storage/search", params={"q": "x", "sort": "new"})
    bad_role = await client.get("/storage/search", params={"q": "x", "role": "robot"})

    assert (too_long.status, unknown.status, bad_role.status) == (422, 422, 422)


async def test_engine_syntax_in_q_is_only_text(client):
    session = await create_session(client)
    await add(client, session["id"], "NEAR the OR gate")
    for q in ['NEAR("the" OR)', "a & !b <->", "gate:*", "'; DROP TABLE messages; --", '"unclosed']:
        response = await client.get("/storage/search", params={"q": q})
        assert response.status == 200, (q, await response.text())
    [hit] = await (await client.get("/storage/search", params={"q": 'NEAR("the" OR)'})).json()
    assert hit["message"]["session_id"] == session["id"]


async def test_pages_are_linked(client):
    session = await create_session(client)
    for n in range(5):
        await add(client, session["id"], f"rutabaga {n}")

    first = await client.get("/storage/search", params={"q": "rutabaga", "limit": 2})
    following = first.links["next"]["url"]
    second = await client.get(following.path_qs)

    assert len(await first.json()) == 2 and len(await second.json()) == 2
    assert {hit["message"]["id"] for hit in await first.json()}.isdisjoint(
        hit["message"]["id"] for hit in await second.json()
    )
