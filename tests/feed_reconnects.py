"""The change feed's exactly-once scenario, for any set of running instances.

Eight writers append to one session through the instances in turn while a
subscriber, through the instances in turn too, reads a random number of
lines (often stopping inside an event), drops the connection, and comes
back with `Last-Event-ID` of the last whole event it got, a hundred times;
then it reads to the end. Every message must arrive exactly once and in
commit order: the session's seq numbers, 1, 2, 3... without a gap.
"""

from __future__ import annotations

import asyncio
import json
import random
from itertools import cycle

import aiohttp

WRITERS = 8
PER_WRITER = 30
RECONNECTS = 100
SSE = {"Accept": "text/event-stream"}


async def _writer(http: aiohttp.ClientSession, urls: list[str], session_id: str, writer: int, rng: random.Random):
    instances = cycle(urls[writer % len(urls) :] + urls[: writer % len(urls)])
    for n in range(PER_WRITER):
        body = {"session_id": session_id, "role": "user", "content": f"w{writer}-{n}"}
        async with http.post(f"{next(instances)}/storage/history", json=body) as response:
            assert response.status == 201, await response.text()
        await asyncio.sleep(rng.random() * 0.01)


async def _read_some(http: aiohttp.ClientSession, url: str, params: dict, cursor: str | None, lines: int | None):
    """Whole events read before the connection is dropped after `lines` lines (None: to the end)."""
    headers = dict(SSE)
    if cursor is not None:
        headers["Last-Event-ID"] = cursor
    events, fields, read = [], {}, 0
    async with http.get(f"{url}/storage/events", params=params, headers=headers) as response:
        assert response.status == 200, await response.text()
        while lines is None or read < lines:
            line = (await response.content.readline()).decode()
            read += 1
            if line == "":
                break
            line = line.rstrip("\n")
            if line == "" and "data" in fields:
                events.append(json.loads(fields["data"]))
                fields = {}
            elif line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
            if lines is None and events and events[-1]["data"]["seq"] == WRITERS * PER_WRITER:
                break
        # Drop the connection where it stands, mid-event or not.
        response.close()
    return events


async def every_event_once_in_order(urls: list[str], seed: int = 17) -> None:
    rng = random.Random(seed)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{urls[0]}/storage/sessions", json={"agent_name": "feed"}) as response:
            session_id = (await response.json())["id"]
        params = {"session_id": session_id, "types": "message.created"}
        writers = [
            asyncio.create_task(_writer(http, urls, session_id, w, random.Random(seed + w))) for w in range(WRITERS)
        ]

        received: list[dict] = []
        cursor = None
        instances = cycle(urls)
        for _ in range(RECONNECTS):
            got = await _read_some(http, next(instances), params, cursor, rng.randint(1, 12))
            received.extend(got)
            cursor = received[-1]["id"] if received else cursor
        await asyncio.gather(*writers)
        received.extend(await asyncio.wait_for(_read_some(http, next(instances), params, cursor, None), 60))

    ids = [event["id"] for event in received]
    assert len(ids) == len(set(ids)), "an event came twice"
    assert ids == sorted(ids), "events came out of order"
    assert [event["data"]["seq"] for event in received] == list(range(1, WRITERS * PER_WRITER + 1))
    contents = {event["data"]["content"] for event in received}
    assert contents == {f"w{w}-{n}" for w in range(WRITERS) for n in range(PER_WRITER)}
