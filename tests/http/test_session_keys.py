"""Sessions bound to a key of their client's choosing over HTTP: create once, read by key,
listed by app and user, the key freed when the session is deleted."""

from __future__ import annotations

import asyncio

KEYED = "/storage/apps/travel/users/u1/sessions"


async def test_a_keyed_session_is_made_once_and_found_by_its_key(client):
    made = await client.put(f"{KEYED}/trip-1", json={"metadata": {"source": "adk"}})
    again = await client.put(f"{KEYED}/trip-1", json={})
    found = await client.get(f"{KEYED}/trip-1")

    session = await made.json()
    assert made.status == 201
    assert made.headers["Location"] == f"/storage/sessions/{session['id']}"
    assert (session["agent_name"], session["user_id"], session["metadata"]) == ("travel", "u1", {"source": "adk"})
    assert session["id"] != "trip-1"
    assert (again.status, (await again.json())["error"]) == (409, "already_exists")
    assert (found.status, await found.json()) == (200, session)
    assert (await (await client.get(f"/storage/sessions/{session['id']}")).json()) == session


async def test_two_creates_racing_for_a_key_give_one_session(client):
    answers = await asyncio.gather(*(client.put(f"{KEYED}/contested", json={}) for _ in range(6)))

    assert sorted(answer.status for answer in answers) == [201] + [409] * 5
    listed = await (await client.get("/storage/sessions", params={"agent_name": "travel"})).json()
    assert len(listed) == 1


async def test_an_unknown_key_is_404_and_a_deleted_sessions_key_is_free_again(client):
    assert (await client.get(f"{KEYED}/never")).status == 404
    first = await (await client.put(f"{KEYED}/trip-1", json={})).json()

    assert (await client.delete(f"/storage/sessions/{first['id']}")).status == 200
    assert (await client.get(f"{KEYED}/trip-1")).status == 404
    second = await client.put(f"{KEYED}/trip-1", json={})
    assert second.status == 201 and (await second.json())["id"] != first["id"]


async def test_keys_are_listed_by_app_and_by_user(client):
    for user, key in (("u2", "a"), ("u1", "b"), ("u1", "a")):
        await client.put(f"/storage/apps/travel/users/{user}/sessions/{key}", json={})
    await client.put("/storage/apps/other/users/u1/sessions/a", json={})

    every = await (await client.get("/storage/apps/travel/sessions")).json()
    first = await client.get(KEYED, params={"limit": 1})

    assert [(item["session"]["user_id"], item["key"]) for item in every] == [("u1", "a"), ("u1", "b"), ("u2", "a")]
    assert [item["key"] for item in await first.json()] == ["a"]
    assert "offset=1" in first.headers["Link"]


async def test_bad_names_and_bodies_are_named(client):
    blank = await client.put(f"{KEYED}/%20%20", json={})
    long = await client.get(f"{KEYED}/{'k' * 257}")
    bad_body = await client.put(f"{KEYED}/trip-1", json={"status": "lost", "agent_name": "x"})

    assert (blank.status, (await blank.json())["errors"][0]["loc"]) == (422, ["path", "key"])
    assert (long.status, (await long.json())["errors"][0]["loc"]) == (422, ["path", "key"])
    assert bad_body.status == 422
    assert {tuple(error["loc"]) for error in (await bad_body.json())["errors"]} == {
        ("body", "status"),
        ("body", "agent_name"),
    }
    assert (await client.get(f"{KEYED}/trip-1")).status == 404
