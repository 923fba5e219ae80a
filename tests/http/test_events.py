"""GET /storage/events over HTTP: the JSON list and the SSE stream, filters, cursors, 410, auth."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import add_message, create_session
from vault import clock, jsonutil
from vault.app import create_app
from vault.appkeys import STORE
from vault.config import Config

SSE = {"Accept": "text/event-stream"}


async def listed(client, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/storage/events", params=params)
    assert response.status == 200, await response.text()
    return await response.json()


async def read_frames(response, count: int) -> list[dict[str, Any]]:
    """The next `count` events of an SSE stream, each as {id, event, data} (comments skipped)."""
    frames, fields = [], {}
    while len(frames) < count:
        line = (await response.content.readline()).decode().rstrip("\n")
        if line == "":
            if fields:
                frames.append(fields)
                fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return frames


async def test_the_json_form_lists_every_write_as_an_event_oldest_first(client):
    session = await create_session(client)
    message = await add_message(client, session["id"], "hi")
    await client.put(f"/storage/state/{session['id']}", json={"data": {"k": 1}})

    events = await listed(client)

    assert [e["type"] for e in events] == ["session.created", "message.created", "state.updated"]
    assert events[1]["data"] == message
    assert events[1]["session_id"] == session["id"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


async def test_filters_cursor_and_limit(client):
    one, two = await create_session(client), await create_session(client)
    for text in ("a", "b", "c"):
        await add_message(client, one["id"], text)
    await add_message(client, two["id"], "z")

    only_two = await listed(client, session_id=two["id"])
    assert [e["type"] for e in only_two] == ["session.created", "message.created"]
    messages = await listed(client, types="message.created")
    assert [e["data"]["content"] for e in messages] == ["a", "b", "c", "z"]
    first_two = await listed(client, types="message.created", limit="2")
    rest = await listed(client, types="message.created", after=first_two[-1]["id"])
    assert [e["data"]["content"] for e in first_two + rest] == ["a", "b", "c", "z"]
    assert await listed(client, after="now") == []
    # An id past any the database can give is past every event: nothing after it.
    assert await listed(client, after="9" * 20) == []


async def test_wait_answers_as_soon_as_an_event_is_committed(client):
    session = await create_session(client)
    waiting = asyncio.create_task(listed(client, after="now", wait="30"))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    message = await add_message(client, session["id"], "now")

    [event] = await asyncio.wait_for(waiting, 10)
    assert event["data"] == message


async def test_the_cursor_header_lets_a_poller_miss_nothing_between_requests(client):
    session = await create_session(client)
    before = await client.get("/storage/events", params={"after": "now"})
    assert await before.json() == []
    cursor = before.headers["Vault-Event-Cursor"]  # `now`, made concrete
    # Written between two polls: the next one, from the cursor, still finds it.
    message = await add_message(client, session["id"], "between polls")

    found = await client.get("/storage/events", params={"after": cursor, "types": "message.created"})
    [event] = await found.json()
    assert event["data"] == message
    assert found.headers["Vault-Event-Cursor"] == event["id"]
    # With nothing new the cursor stays where it was: a poll never moves past an event it did not give.
    again = await client.get("/storage/events", params={"after": event["id"]})
    assert await again.json() == [] and again.headers["Vault-Event-Cursor"] == event["id"]


async def test_on_an_empty_feed_the_cursor_is_before_every_event(aiohttp_client, db_path):
    empty = await aiohttp_client(create_app(Config(db_path=db_path)))
    response = await empty.get("/storage/events", params={"after": "now"})
    assert await response.json() == []
    cursor = response.headers["Vault-Event-Cursor"]
    session = await create_session(empty)
    [event] = await listed(empty, after=cursor)
    assert (event["type"], event["session_id"]) == ("session.created", session["id"])


async def test_bad_parameters_are_422_naming_them(client):
    for params, name in (
        ({"types": "message.created,message.exploded"}, "types"),
        ({"after": "yesterday"}, "after"),
        ({"after": "12"}, "after"),
        ({"wait": "61"}, "wait"),
        ({"limit": "0"}, "limit"),
        ({"since": "x"}, "since"),
    ):
        response = await client.get("/storage/events", params=params)
        assert response.status == 422, params
        assert [e["loc"] for e in (await response.json())["errors"]] == [["query", name]]
    for value in ("nope", ""):
        bad_header = await client.get("/storage/events", headers={"Last-Event-ID": value})
        assert bad_header.status == 422
        assert (await bad_header.json())["errors"][0]["loc"] == ["header", "Last-Event-ID"]


async def test_resuming_from_a_pruned_event_is_410_with_the_oldest_kept(client):
    await create_session(client)
    [old] = await listed(client)
    store = client.app[STORE]
    await asyncio.sleep(0.01)
    cutoff = clock.now_text()
    await asyncio.sleep(0.01)
    await create_session(client)
    # Two events: the first is past the cutoff only if it was recorded before it.
    await store.prune_events(cutoff)
    kept = await listed(client)

    for request in (
        client.get("/storage/events", params={"after": "00000000000000000000"}),
        client.get("/storage/events", headers={**SSE, "Last-Event-ID": "00000000000000000000"}),
    ):
        response = await request
        assert response.status == 410
        body = await response.json()
        assert body["error"] == "gone" and body["oldest_id"] == kept[0]["id"]
    assert (await client.get("/storage/events", params={"after": old["id"]})).status == 200


async def test_the_stream_sends_history_then_live_events_and_resumes_with_last_event_id(client):
    session = await create_session(client)
    await add_message(client, session["id"], "before")

    async with client.get("/storage/events", headers=SSE) as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        first = await read_frames(stream, 2)
        await add_message(client, session["id"], "live")
        [live] = await asyncio.wait_for(read_frames(stream, 1), 10)
    assert [f["event"] for f in first] == ["session.created", "message.created"]
    assert jsonutil.loads(live["data"])["data"]["content"] == "live"
    assert jsonutil.loads(live["data"])["id"] == live["id"]

    await add_message(client, session["id"], "while away")
    async with client.get("/storage/events", headers={**SSE, "Last-Event-ID": live["id"]}) as resumed:
        [missed] = await asyncio.wait_for(read_frames(resumed, 1), 10)
    assert jsonutil.loads(missed["data"])["data"]["content"] == "while away"


async def test_a_stream_filters_by_session_and_type(client):
    one, two = await create_session(client), await create_session(client)
    params = {"session_id": two["id"], "types": "message.created"}
    async with client.get("/storage/events", params=params, headers=SSE) as stream:
        await add_message(client, one["id"], "not this")
        await add_message(client, two["id"], "this")
        [frame] = await asyncio.wait_for(read_frames(stream, 1), 10)
    assert jsonutil.loads(frame["data"])["data"]["content"] == "this"


async def test_closing_the_feed_ends_every_stream(client):
    await create_session(client)
    async with client.get("/storage/events", headers=SSE) as stream:
        await read_frames(stream, 1)
        await client.app[STORE].feed.close()
        # The stream ends: the rest of the body is read to its end.
        assert await asyncio.wait_for(stream.content.read(), 10) == b""


async def test_the_feed_needs_the_key_as_every_route(aiohttp_client, db_path):
    client = await aiohttp_client(create_app(Config(db_path=db_path, api_keys=("secret-key",))))
    assert (await client.get("/storage/events")).status == 401
    assert (await client.get("/storage/events", headers=SSE)).status == 401
    allowed = await client.get("/storage/events", headers={"Authorization": "Bearer secret-key"})
    assert allowed.status == 200


async def test_metrics_count_subscribers_and_events_sent(client):
    await create_session(client)
    async with client.get("/storage/events", headers=SSE) as stream:
        await read_frames(stream, 1)
        metrics = await (await client.get("/metrics")).text()
    assert "vault_feed_subscribers 1.0" in metrics
    assert "vault_feed_events_sent_total 1.0" in metrics
