"""History through the real app: /storage/history (CONTRACT sections 1 and 3)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from contextlib import closing
from typing import Any

import pytest

from tests.conftest import add_message, create_session

MESSAGE_FIELDS = {
    "id",
    "session_id",
    "seq",
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "metadata",
    "timestamp",
}


def next_link(response) -> str | None:
    header = response.headers.get("Link")
    if header is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', header)
    assert match, header
    return match.group(1)


async def read_history(client, session_id: str, query: str = "") -> tuple[list[dict[str, Any]], str | None]:
    path = f"/storage/history?session_id={session_id}" + (f"&{query}" if query else "")
    return await read_path(client, path)


async def read_path(client, path: str) -> tuple[list[dict[str, Any]], str | None]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.json(), next_link(response)


async def read_history_raw(client, session_id: str, query: str):
    return await client.get(f"/storage/history?session_id={session_id}&{query}")


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [message["seq"] for message in messages]


async def conversation(client, count: int) -> tuple[str, list[dict[str, Any]]]:
    """A session with `count` messages, contents "m1".."mN"."""
    session_id = (await create_session(client))["id"]
    messages = [await add_message(client, session_id, f"m{n}") for n in range(1, count + 1)]
    return session_id, messages


async def post_batch(client, session_id: str, messages: list[dict[str, Any]]):
    return await client.post("/storage/history/batch", json={"session_id": session_id, "messages": messages})


async def expect_error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["error"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


async def message_count(client, session_id: str) -> int:
    return (await (await client.get(f"/storage/sessions/{session_id}")).json())["message_count"]


def stored_messages(db_path: str) -> int:
    """Messages in the database file, whatever session they belong to."""
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute("SELECT count(*) FROM messages").fetchone()[0]


# -- adding one message


async def test_add_answers_201_with_the_whole_message_and_its_location(client):
    session_id = (await create_session(client))["id"]
    response = await client.post(
        "/storage/history",
        json={"session_id": session_id, "role": "user", "content": "What is quantum computing?", "metadata": {"a": 1}},
    )
    assert response.status == 201
    message = await response.json()
    assert set(message) == MESSAGE_FIELDS
    assert message["id"].startswith("msg_")
    assert response.headers["Location"] == f"/storage/history/{message['id']}"
    assert message["session_id"] == session_id
    assert message["seq"] == 1
    assert message["role"] == "user"
    assert message["content"] == "What is quantum computing?"
    assert message["metadata"] == {"a": 1}
    assert message["name"] is None
    assert message["tool_calls"] is None
    assert message["tool_call_id"] is None


async def test_get_one_message_by_id(client):
    session_id = (await create_session(client))["id"]
    message = await add_message(client, session_id, "hello", name="alice")
    response = await client.get(f"/storage/history/{message['id']}")
    assert response.status == 200
    assert await response.json() == message


async def test_an_unknown_message_id_is_404(client):
    await expect_error(await client.get("/storage/history/msg_0000000000000000000000"), 404, "not_found")


async def test_seq_counts_1_2_3_within_each_session(client):
    first = (await create_session(client))["id"]
    second = (await create_session(client))["id"]
    got = []
    for session_id in [first, second, first, first, second]:
        got.append((session_id, (await add_message(client, session_id))["seq"]))
    assert got == [(first, 1), (second, 1), (first, 2), (first, 3), (second, 2)]


@pytest.mark.parametrize("role", ["user", "assistant", "system", "tool"])
async def test_every_role_is_accepted(client, role):
    session_id = (await create_session(client))["id"]
    assert (await add_message(client, session_id, role=role))["role"] == role


@pytest.mark.parametrize(
    "content",
    [
        "plain text",
        "",
        [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
        [],
        None,
    ],
    ids=["string", "empty-string", "parts", "no-parts", "null"],
)
async def test_content_round_trips(client, content):
    session_id = (await create_session(client))["id"]
    message = await add_message(client, session_id, content, role="assistant")
    assert message["content"] == content
    assert (await (await client.get(f"/storage/history/{message['id']}")).json())["content"] == content
    [listed], _ = await read_history(client, session_id)
    assert listed["content"] == content


async def test_a_tool_calling_assistant_message_and_its_tool_answer(client):
    session_id = (await create_session(client))["id"]
    tool_calls = [{"id": "call_1", "type": "function", "function": {"name": "search", "arguments": '{"q": "x"}'}}]
    call = await add_message(client, session_id, None, role="assistant", tool_calls=tool_calls)
    answer = await add_message(client, session_id, '{"hits": 3}', role="tool", tool_call_id="call_1", name="search")
    history, _ = await read_history(client, session_id)
    assert history == [call, answer]
    assert history[0]["content"] is None
    assert history[0]["tool_calls"] == tool_calls
    assert history[1]["tool_call_id"] == "call_1"
    assert history[1]["name"] == "search"


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"role": "robot"}, ["body", "role"]),
        ({"role": None}, ["body", "role"]),
        ({"content": 42}, ["body", "content"]),
        ({"content": {"text": "an object"}}, ["body", "content"]),
        ({"content": ["a", "b"]}, ["body", "content"]),
        ({"content": True}, ["body", "content"]),
        ({"tool_calls": {"id": "x"}}, ["body", "tool_calls"]),
        ({"tool_calls": ["call"]}, ["body", "tool_calls"]),
        ({"tool_call_id": 5}, ["body", "tool_call_id"]),
        ({"name": ""}, ["body", "name"]),
        ({"metadata": []}, ["body", "metadata"]),
        ({"timestamp": "2026-01-01T00:00:00Z"}, ["body", "timestamp"]),
        ({"seq": 7}, ["body", "seq"]),
    ],
)
async def test_add_rejects_a_bad_message_with_422_and_writes_nothing(client, fields, loc):
    session_id = (await create_session(client))["id"]
    body = {"session_id": session_id, "role": "user", "content": "x", **fields}
    error = await expect_error(await client.post("/storage/history", json=body), 422, "validation_error")
    assert loc in [item["loc"] for item in error["errors"]]
    assert (await read_history(client, session_id))[0] == []


@pytest.mark.parametrize("missing", ["session_id", "role"])
async def test_add_requires_session_id_and_role(client, missing):
    session_id = (await create_session(client))["id"]
    body = {"session_id": session_id, "role": "user", "content": "x"}
    del body[missing]
    error = await expect_error(await client.post("/storage/history", json=body), 422, "validation_error")
    assert error["errors"] == [{"loc": ["body", missing], "msg": "is required"}]


# Writes for sessions that do not exist were accepted by the original service.
async def test_add_to_an_unknown_session_is_404_and_writes_nothing(client, db_path):
    response = await client.post(
        "/storage/history", json={"session_id": "session_missing", "role": "user", "content": "x"}
    )
    await expect_error(response, 404, "not_found")
    assert stored_messages(db_path) == 0


async def test_concurrent_adds_get_distinct_consecutive_seqs(client):
    session_id = (await create_session(client))["id"]
    single = [add_message(client, session_id, f"single {n}") for n in range(10)]
    batches = [
        client.post(
            "/storage/history/batch",
            json={
                "session_id": session_id,
                "messages": [{"role": "user", "content": f"batch {n}.{i}"} for i in range(3)],
            },
        )
        for n in range(5)
    ]
    results = await asyncio.gather(*single, *batches)
    batch_answers = [await response.json() for response in results[10:]]
    for added in batch_answers:
        # A batch is numbered as one block: nothing interleaves inside it.
        assert seqs(added) == list(range(added[0]["seq"], added[0]["seq"] + 3))
    history, _ = await read_history(client, session_id)
    assert seqs(history) == list(range(1, 26))
    assert await message_count(client, session_id) == 25


async def test_message_count_follows_adds_and_batches(client):
    session_id = (await create_session(client))["id"]
    assert await message_count(client, session_id) == 0
    await add_message(client, session_id)
    await add_message(client, session_id)
    assert await message_count(client, session_id) == 2
    assert (await post_batch(client, session_id, [{"role": "user", "content": "a"}] * 3)).status == 201
    assert await message_count(client, session_id) == 5


async def test_adding_a_message_moves_the_sessions_updated_at(client):
    session = await create_session(client)
    await add_message(client, session["id"])
    after = await (await client.get(f"/storage/sessions/{session['id']}")).json()
    assert after["updated_at"] >= session["updated_at"]
    assert after["created_at"] == session["created_at"]


# -- batches


async def test_batch_adds_all_in_order_with_consecutive_seqs(client):
    session_id, _ = await conversation(client, 2)
    response = await post_batch(
        client,
        session_id,
        [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
            {"role": "tool", "content": "r", "tool_call_id": "c1", "session_id": session_id},
        ],
    )
    assert response.status == 201
    added = await response.json()
    assert isinstance(added, list)
    assert seqs(added) == [3, 4, 5]
    assert [m["role"] for m in added] == ["user", "assistant", "tool"]
    assert all(set(m) == MESSAGE_FIELDS and m["session_id"] == session_id for m in added)
    assert len({m["id"] for m in added}) == 3
    history, _ = await read_history(client, session_id)
    assert history[2:] == added


async def test_batch_location_leads_to_the_added_messages(client):
    session_id, _ = await conversation(client, 1)
    response = await post_batch(
        client, session_id, [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    )
    added = await response.json()
    listed, _ = await read_path(client, response.headers["Location"])
    assert listed == added


# All or nothing: one bad message in a batch must not leave the good ones behind.
async def test_one_bad_message_rejects_the_whole_batch(client):
    session_id, existing = await conversation(client, 1)
    response = await post_batch(
        client,
        session_id,
        [{"role": "user", "content": "fine"}, {"role": "wizard", "content": "bad"}, {"role": "user", "content": 3}],
    )
    error = await expect_error(response, 422, "validation_error")
    locs = [item["loc"] for item in error["errors"]]
    assert ["body", "messages", 1, "role"] in locs
    assert ["body", "messages", 2, "content"] in locs
    assert (await read_history(client, session_id))[0] == existing
    assert await message_count(client, session_id) == 1
    # Nothing was numbered either: the next message is seq 2.
    assert (await add_message(client, session_id))["seq"] == 2


async def test_batch_for_an_unknown_session_is_404_and_writes_nothing(client, db_path):
    response = await post_batch(client, "session_missing", [{"role": "user", "content": "a"}] * 2)
    await expect_error(response, 404, "not_found")
    assert stored_messages(db_path) == 0


@pytest.mark.parametrize(
    ("messages", "loc"),
    [
        ([], ["body", "messages"]),
        ([{"role": "user", "content": "a", "session_id": "session_other"}], ["body", "messages", 0, "session_id"]),
        ([{"role": "user", "content": "a", "seq": 1}], ["body", "messages", 0, "seq"]),
        ("not a list", ["body", "messages"]),
        ([{"role": "user"}] * 1001, ["body", "messages"]),
    ],
    ids=["empty", "other-session", "unknown-field", "not-a-list", "too-many"],
)
async def test_batch_rejects_a_bad_shape_and_writes_nothing(client, db_path, messages, loc):
    session_id = (await create_session(client))["id"]
    error = await expect_error(await post_batch(client, session_id, messages), 422, "validation_error")
    assert loc in [item["loc"] for item in error["errors"]]
    assert stored_messages(db_path) == 0


async def test_batch_requires_session_id(client):
    response = await client.post("/storage/history/batch", json={"messages": [{"role": "user"}]})
    error = await expect_error(response, 422, "validation_error")
    assert ["body", "session_id"] in [item["loc"] for item in error["errors"]]


# -- reading: the newest window and its cursors


async def test_history_is_a_plain_array_oldest_first(client):
    session_id, messages = await conversation(client, 3)
    history, link = await read_history(client, session_id)
    assert history == messages
    assert link is None


async def test_history_of_a_session_without_messages_is_empty(client):
    session_id = (await create_session(client))["id"]
    assert await read_history(client, session_id) == ([], None)


# The original answered `limit` with the OLDEST messages; an agent wants the newest.
async def test_limit_gives_the_newest_messages_oldest_first(client):
    session_id, _ = await conversation(client, 5)
    history, _ = await read_history(client, session_id, "limit=2")
    assert seqs(history) == [4, 5]
    assert [m["content"] for m in history] == ["m4", "m5"]


async def test_the_newest_window_links_back_to_older_messages(client):
    session_id, _ = await conversation(client, 5)
    pages = []
    path: str | None = f"/storage/history?session_id={session_id}&limit=2"
    while path is not None:
        page, path = await read_path(client, path)
        pages.append(seqs(page))
    assert pages == [[4, 5], [2, 3], [1]]


async def test_a_window_holding_everything_has_no_link(client):
    session_id, _ = await conversation(client, 3)
    assert (await read_history(client, session_id, "limit=3"))[1] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("after=2", [3, 4, 5, 6]),
        ("after=2&limit=2", [3, 4]),
        ("after=0&limit=3", [1, 2, 3]),
        ("after=6", []),
        ("after=100", []),
        ("before=5", [1, 2, 3, 4]),
        ("before=5&limit=2", [3, 4]),
        ("before=1", []),
        ("before=0", []),
        ("before=100&limit=2", [5, 6]),
        ("offset=0&limit=2", [1, 2]),
        ("offset=2&limit=3", [3, 4, 5]),
        ("offset=5", [6]),
        ("offset=6", []),
    ],
)
async def test_cursors_by_seq_and_offset(client, query, expected):
    session_id, _ = await conversation(client, 6)
    history, _ = await read_history(client, session_id, query)
    assert seqs(history) == expected


@pytest.mark.parametrize(
    ("cursor", "index", "limit", "expected"),
    [("after", 1, 2, [3, 4]), ("after", 5, 2, []), ("before", 4, 2, [3, 4]), ("before", 0, 3, [])],
)
async def test_cursors_by_message_id(client, cursor, index, limit, expected):
    session_id, messages = await conversation(client, 6)
    history, _ = await read_history(client, session_id, f"{cursor}={messages[index]['id']}&limit={limit}")
    assert seqs(history) == expected


@pytest.mark.parametrize(
    ("start", "pages"),
    [
        ("after=0&limit=2", [[1, 2], [3, 4], [5]]),
        ("after=1&limit=2", [[2, 3], [4, 5]]),
        ("before=5&limit=3", [[2, 3, 4], [1]]),
        ("offset=0&limit=2", [[1, 2], [3, 4], [5]]),
        ("offset=1&limit=4", [[2, 3, 4, 5]]),
    ],
)
async def test_following_link_next_gives_each_next_page(client, start, pages):
    session_id, _ = await conversation(client, 5)
    got = []
    path: str | None = f"/storage/history?session_id={session_id}&{start}"
    while path is not None:
        page, path = await read_path(client, path)
        got.append(seqs(page))
    assert got == pages


async def test_role_filters_every_kind_of_window(client):
    session_id = (await create_session(client))["id"]
    for n in range(1, 7):
        await add_message(client, session_id, f"m{n}", role="user" if n % 2 else "assistant")
    assert seqs((await read_history(client, session_id, "role=user"))[0]) == [1, 3, 5]
    assert seqs((await read_history(client, session_id, "role=assistant&limit=2"))[0]) == [4, 6]
    assert seqs((await read_history(client, session_id, "role=user&after=1"))[0]) == [3, 5]
    assert seqs((await read_history(client, session_id, "role=assistant&before=6"))[0]) == [2, 4]
    assert seqs((await read_history(client, session_id, "role=user&offset=1"))[0]) == [3, 5]
    assert (await read_history(client, session_id, "role=system"))[0] == []


async def test_role_filter_pages_by_link(client):
    session_id = (await create_session(client))["id"]
    for n in range(1, 8):
        await add_message(client, session_id, f"m{n}", role="user" if n % 2 else "assistant")
    pages = []
    path: str | None = f"/storage/history?session_id={session_id}&role=user&limit=2"
    while path is not None:
        page, path = await read_path(client, path)
        assert all(m["role"] == "user" for m in page)
        pages.append(seqs(page))
    assert pages == [[5, 7], [1, 3]]


async def test_history_reads_only_its_own_session(client):
    first, first_messages = await conversation(client, 3)
    second, second_messages = await conversation(client, 2)
    assert (await read_history(client, first))[0] == first_messages
    assert (await read_history(client, second))[0] == second_messages


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("after=1&before=3", ["query", "before"]),
        ("after=1&offset=0", ["query", "offset"]),
        ("before=3&offset=0", ["query", "offset"]),
    ],
)
async def test_combining_cursors_is_422(client, query, loc):
    session_id, _ = await conversation(client, 3)
    error = await expect_error(await read_history_raw(client, session_id, query), 422, "validation_error")
    assert [item["loc"] for item in error["errors"]] == [loc]


# A 422 names the bad field in `errors`, also when the store is what finds it.
@pytest.mark.parametrize("cursor", ["after", "before"])
async def test_a_cursor_naming_a_message_of_another_session_is_422(client, cursor):
    session_id, _ = await conversation(client, 3)
    _, others = await conversation(client, 3)
    response = await read_history_raw(client, session_id, f"{cursor}={others[1]['id']}")
    error = await expect_error(response, 422, "validation_error")
    assert [item["loc"] for item in error["errors"]] == [["query", cursor]]


async def expect_bad_cursor(client, cursor: str, value: str) -> None:
    session_id, _ = await conversation(client, 2)
    response = await client.get("/storage/history", params={"session_id": session_id, cursor: value})
    error = await expect_error(response, 422, "validation_error")
    assert [item["loc"] for item in error["errors"]] == [["query", cursor]]


@pytest.mark.parametrize("value", ["msg_0000000000000000000000", "-1", "1.5", "first"])
@pytest.mark.parametrize("cursor", ["after", "before"])
async def test_a_cursor_that_is_neither_a_seq_nor_a_message_here_is_422(client, cursor, value):
    await expect_bad_cursor(client, cursor, value)


# Never a 500 for a client value: cursor digits that int() or SQLite cannot take are 422.
@pytest.mark.parametrize(
    "value",
    ["²", "\u0661", "99999999999999999999", "9223372036854775808"],
    ids=["superscript-two", "arabic-indic-one", "20-digits", "2-to-the-63"],
)
@pytest.mark.parametrize("cursor", ["after", "before"])
async def test_a_cursor_beyond_64_bit_ascii_digits_is_422(client, cursor, value):
    await expect_bad_cursor(client, cursor, value)


async def test_the_largest_seq_is_a_valid_cursor(client):
    session_id, _ = await conversation(client, 2)
    assert seqs((await read_history(client, session_id, "before=9223372036854775807"))[0]) == [1, 2]
    assert (await read_history(client, session_id, "after=9223372036854775807"))[0] == []


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("limit=0", ["query", "limit"]),
        ("limit=1001", ["query", "limit"]),
        ("limit=-5", ["query", "limit"]),
        ("limit=many", ["query", "limit"]),
        ("limit=123456789012345678901234567890", ["query", "limit"]),
        ("offset=-1", ["query", "offset"]),
        ("offset=x", ["query", "offset"]),
        ("role=robot", ["query", "role"]),
    ],
)
async def test_bad_query_values_are_422(client, query, loc):
    session_id, _ = await conversation(client, 1)
    error = await expect_error(await read_history_raw(client, session_id, query), 422, "validation_error")
    assert [item["loc"] for item in error["errors"]] == [loc]


async def test_reading_requires_session_id(client):
    error = await expect_error(await client.get("/storage/history?limit=5"), 422, "validation_error")
    assert error["errors"] == [{"loc": ["query", "session_id"], "msg": "is required"}]


async def test_reading_an_unknown_session_is_404(client):
    await expect_error(await client.get("/storage/history?session_id=session_missing"), 404, "not_found")


@pytest.mark.parametrize("limit", [1, 1000])
async def test_the_limit_bounds_are_accepted(client, limit):
    session_id, _ = await conversation(client, 2)
    history, _ = await read_history(client, session_id, f"limit={limit}")
    assert seqs(history) == [1, 2][-limit:]


async def test_default_limit_is_100_newest(client):
    session_id = (await create_session(client))["id"]
    response = await post_batch(client, session_id, [{"role": "user", "content": str(n)} for n in range(1, 106)])
    assert response.status == 201
    history, link = await read_history(client, session_id)
    assert seqs(history) == list(range(6, 106))
    assert link is not None
    older, _ = await read_path(client, link)
    assert seqs(older) == [1, 2, 3, 4, 5]


# -- clearing


async def test_clear_answers_the_count_and_empties_the_history(client):
    session_id, _ = await conversation(client, 3)
    response = await client.delete(f"/storage/history?session_id={session_id}")
    assert response.status == 200
    assert await response.json() == {"status": "deleted", "session_id": session_id, "deleted": 3}
    assert await read_history(client, session_id) == ([], None)
    assert await message_count(client, session_id) == 0
    assert (await client.get(f"/storage/sessions/{session_id}")).status == 200


async def test_clearing_an_empty_history_deletes_zero(client):
    session_id = (await create_session(client))["id"]
    response = await client.delete(f"/storage/history?session_id={session_id}")
    assert await response.json() == {"status": "deleted", "session_id": session_id, "deleted": 0}


# Seq numbers are never reused: cursors held by clients must not point at new messages.
async def test_messages_after_a_clear_continue_the_seq_numbering(client):
    session_id, old = await conversation(client, 3)
    await client.delete(f"/storage/history?session_id={session_id}")
    message = await add_message(client, session_id, "again")
    assert message["seq"] == 4
    assert await message_count(client, session_id) == 1
    assert (await read_history(client, session_id, "after=3"))[0] == [message]
    await expect_error(await client.get(f"/storage/history/{old[0]['id']}"), 404, "not_found")


async def test_clear_leaves_other_sessions_alone(client):
    cleared, _ = await conversation(client, 2)
    kept, kept_messages = await conversation(client, 2)
    await client.delete(f"/storage/history?session_id={cleared}")
    assert (await read_history(client, kept))[0] == kept_messages
    assert await message_count(client, kept) == 2


async def test_clear_requires_a_known_session(client):
    await expect_error(await client.delete("/storage/history?session_id=session_missing"), 404, "not_found")
    error = await expect_error(await client.delete("/storage/history"), 422, "validation_error")
    assert error["errors"] == [{"loc": ["query", "session_id"], "msg": "is required"}]


async def test_cursor_id_on_an_unknown_session_is_404(client):
    # Rule: an unknown session is 404 whatever else the query says.
    response = await client.get("/storage/history?session_id=session_nope&after=not-a-message")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"
