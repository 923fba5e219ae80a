"""Store contract: history (add_messages, get_message, list_messages, clear_history)."""

from __future__ import annotations

import asyncio

import pytest
from vault.store.errors import InvalidReference, NotFound, StoreError

from tests.store.conftest import add_texts, ids_of, message, new_session
from vault.jsonutil import loads_stored
from vault.queries import HistoryQuery, SearchQuery
from vault.search import parse_query


def texts(page) -> list[str]:
    return [m.content for m in page.items]


async def conversation(store, count: int = 10) -> tuple[str, list]:
    """A session holding messages "m1".."m{count}" with seq 1..count."""
    session = await new_session(store)
    added = await add_texts(store, session.id, *(f"m{n}" for n in range(1, count + 1)))
    return session.id, added


async def window(store, session_id: str, **query) -> tuple[list[str], bool]:
    page = await store.list_messages(HistoryQuery(session_id=session_id, **query))
    return texts(page), page.has_more


# -- add_messages


# Around SQLite's rows a statement (store.sqlite.writes.ROWS_A_STATEMENT is 100):
# whole statements, a remainder, and both.
@pytest.mark.parametrize("count", [99, 100, 101, 250])
async def test_a_large_batch_keeps_its_order_and_each_message_is_found(backend_store, count):
    session = await new_session(backend_store)
    await add_texts(backend_store, session.id, "before")
    words = [f"w{n}x" for n in range(count)]

    added = await add_texts(backend_store, session.id, *words)

    assert [(m.seq, m.content) for m in added] == [(n + 2, word) for n, word in enumerate(words)]
    stored, more = await window(backend_store, session.id, limit=1000)
    assert (stored, more) == (["before", *words], False)
    for n in (0, count // 2, count - 1):
        assert (await backend_store.get_message(added[n].id)).content == words[n]
        hits = await backend_store.search(SearchQuery(parse_query(words[n])))
        assert [loads_stored(item.body)["message"]["id"] for item in hits.items] == [added[n].id]


async def test_an_empty_append_stores_nothing_and_numbers_on(backend_store):
    session = await new_session(backend_store)

    assert await backend_store.add_messages(session.id, []) == []

    assert [m.seq for m in await add_texts(backend_store, session.id, "a")] == [1]


async def test_add_messages_numbers_them_from_one_in_order(backend_store):
    session = await new_session(backend_store)

    added = await add_texts(backend_store, session.id, "a", "b", "c")

    assert [(m.seq, m.content, m.session_id) for m in added] == [
        (1, "a", session.id),
        (2, "b", session.id),
        (3, "c", session.id),
    ]
    assert len(set(ids_of(added))) == 3
    assert all(m.id.startswith("msg_") for m in added)
    assert (await backend_store.get_session(session.id)).message_count == 3


async def test_seq_counts_per_session(backend_store):
    first, second = await new_session(backend_store), await new_session(backend_store)

    await add_texts(backend_store, first.id, "a", "b")
    [other] = await add_texts(backend_store, second.id, "x")
    [later] = await add_texts(backend_store, first.id, "c")

    assert (other.seq, later.seq) == (1, 3)


async def test_concurrent_adds_get_distinct_consecutive_seqs(backend_store):
    session = await new_session(backend_store)

    batches = await asyncio.gather(*(add_texts(backend_store, session.id, f"m{n}") for n in range(30)))

    assert sorted(m.seq for [m] in batches) == list(range(1, 31))


async def test_get_message_returns_every_field(backend_store):
    session = await new_session(backend_store)
    new = message(
        [{"type": "text", "text": "hi"}],
        role="assistant",
        name="helper",
        tool_calls=[{"id": "call_1", "function": {"name": "f", "arguments": "{}"}}],
        metadata={"tokens": 12},
    )

    [added] = await backend_store.add_messages(session.id, [new])

    assert (added.role, added.content, added.name) == ("assistant", [{"type": "text", "text": "hi"}], "helper")
    assert added.tool_calls == new.tool_calls
    assert added.metadata == {"tokens": 12}
    assert await backend_store.get_message(added.id) == added


@pytest.mark.parametrize("content", [None, "", "plain text", [], [{"type": "image", "url": "x"}]])
async def test_message_content_round_trips(backend_store, content):
    session = await new_session(backend_store)

    [added] = await backend_store.add_messages(session.id, [message(content, role="assistant")])

    assert (await backend_store.get_message(added.id)).content == content


async def test_get_unknown_message_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await backend_store.get_message("msg_missing")


# Regression: writes for sessions that do not exist are refused (the original accepted them).
async def test_add_messages_to_unknown_session_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await add_texts(backend_store, "session_missing", "hello")


@pytest.mark.parametrize(
    "unstorable",
    [float("nan"), "\ud800"],
    ids=["nan-fails-before-any-insert", "lone-surrogate-fails-after-the-first-insert"],
)
async def test_add_messages_is_all_or_nothing(backend_store, unstorable):
    session = await new_session(backend_store)
    await add_texts(backend_store, session.id, "before")

    with pytest.raises(StoreError):
        await backend_store.add_messages(session.id, [message("fine"), message(unstorable)])

    assert texts(await backend_store.list_messages(HistoryQuery(session_id=session.id))) == ["before"]
    assert (await backend_store.get_session(session.id)).message_count == 1
    [next_one] = await add_texts(backend_store, session.id, "after")
    assert next_one.seq == 2


# -- clear_history


async def test_clear_history_returns_the_count_and_empties_the_session(backend_store):
    session_id, _ = await conversation(backend_store, 4)

    assert await backend_store.clear_history(session_id) == 4

    assert await window(backend_store, session_id) == ([], False)
    assert (await backend_store.get_session(session_id)).message_count == 0
    assert await backend_store.clear_history(session_id) == 0


async def test_seq_is_not_reused_after_clear_history(backend_store):
    session_id, _ = await conversation(backend_store, 3)
    await backend_store.clear_history(session_id)

    added = await add_texts(backend_store, session_id, "again", "more")

    assert [m.seq for m in added] == [4, 5]


async def test_clear_history_leaves_other_sessions_alone(backend_store):
    cleared, kept = await conversation(backend_store, 2), await conversation(backend_store, 3)

    await backend_store.clear_history(cleared[0])

    assert await window(backend_store, kept[0]) == (["m1", "m2", "m3"], False)


async def test_clear_history_of_unknown_session_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await backend_store.clear_history("session_missing")


# -- list_messages


# Regression: a limit returns the newest messages, oldest first (the original returned the oldest N).
async def test_default_window_is_the_newest_messages_oldest_first(backend_store):
    session_id, _ = await conversation(backend_store, 10)

    assert await window(backend_store, session_id, limit=3) == (["m8", "m9", "m10"], True)
    assert await window(backend_store, session_id, limit=10) == ([f"m{n}" for n in range(1, 11)], False)
    assert await window(backend_store, session_id, limit=50) == ([f"m{n}" for n in range(1, 11)], False)


@pytest.mark.parametrize(
    ("cursor", "limit", "expected", "has_more"),
    [
        ({"after": "3"}, 3, ["m4", "m5", "m6"], True),
        ({"after": "7"}, 3, ["m8", "m9", "m10"], False),
        ({"after": "10"}, 3, [], False),
        ({"after": "0"}, 2, ["m1", "m2"], True),
        ({"before": "8"}, 3, ["m5", "m6", "m7"], True),
        ({"before": "4"}, 3, ["m1", "m2", "m3"], False),
        ({"before": "1"}, 3, [], False),
        ({"before": "999"}, 2, ["m9", "m10"], True),
        ({"offset": 0}, 3, ["m1", "m2", "m3"], True),
        ({"offset": 7}, 3, ["m8", "m9", "m10"], False),
        ({"offset": 8}, 3, ["m9", "m10"], False),
        ({"offset": 10}, 3, [], False),
    ],
)
async def test_cursor_windows_by_seq(backend_store, cursor, limit, expected, has_more):
    session_id, _ = await conversation(backend_store, 10)

    assert await window(backend_store, session_id, limit=limit, **cursor) == (expected, has_more)


@pytest.mark.parametrize(
    ("name", "index", "expected"),
    [("after", 2, ["m4", "m5", "m6"]), ("before", 7, ["m5", "m6", "m7"])],
)
async def test_cursor_may_be_a_message_id(backend_store, name, index, expected):
    session_id, added = await conversation(backend_store, 10)

    found, _ = await window(backend_store, session_id, limit=3, **{name: added[index].id})

    assert found == expected


async def test_cursors_page_through_the_whole_history(backend_store):
    session_id, _ = await conversation(backend_store, 7)

    forward, after = [], "0"
    while True:
        page = await backend_store.list_messages(HistoryQuery(session_id=session_id, limit=3, after=after))
        forward += texts(page)
        if not page.has_more:
            break
        after = str(page.items[-1].seq)

    backward, before = [], None
    while True:
        page = await backend_store.list_messages(HistoryQuery(session_id=session_id, limit=3, before=before))
        backward = texts(page) + backward
        if not page.has_more:
            break
        before = page.items[0].id

    assert forward == backward == [f"m{n}" for n in range(1, 8)]


async def test_role_filter_applies_to_every_window(backend_store):
    session = await new_session(backend_store)
    roles = ["user", "assistant"] * 4
    added = await backend_store.add_messages(session.id, [message(f"{r}{n}", r) for n, r in enumerate(roles)])

    assert await window(backend_store, session.id, role="user", limit=2) == (["user4", "user6"], True)
    assert await window(backend_store, session.id, role="assistant", after=added[2].id) == (
        ["assistant3", "assistant5", "assistant7"],
        False,
    )
    assert await window(backend_store, session.id, role="user", before="5", limit=5) == (["user0", "user2"], False)
    assert await window(backend_store, session.id, role="tool") == ([], False)


async def test_cursor_from_another_session_is_an_invalid_reference(backend_store):
    session_id, _ = await conversation(backend_store, 3)
    _, foreign = await conversation(backend_store, 3)

    for name in ("after", "before"):
        with pytest.raises(InvalidReference):
            await backend_store.list_messages(HistoryQuery(session_id=session_id, **{name: foreign[0].id}))


# Regression: a cursor that is neither a message id nor a storable seq is refused, never a crash.
@pytest.mark.parametrize("ref", ["msg_missing", "-1", "²", "٣", "9" * 30])
@pytest.mark.parametrize("name", ["after", "before"])
async def test_cursor_that_names_no_message_is_an_invalid_reference(backend_store, name, ref):
    session_id, _ = await conversation(backend_store, 3)

    with pytest.raises(InvalidReference):
        await backend_store.list_messages(HistoryQuery(session_id=session_id, **{name: ref}))


async def test_list_messages_of_unknown_session_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await backend_store.list_messages(HistoryQuery(session_id="session_missing"))
