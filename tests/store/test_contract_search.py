"""Search contract: what is found, by what queries, and never once gone; on every backend alike."""

from __future__ import annotations

import json

import pytest
from vault.store.interface import Store

from tests.store.conftest import add_texts, message, new_session
from vault.jsonutil import loads_stored
from vault.queries import SearchQuery
from vault.search import fold, parse_query


async def search(store: Store, q: str, **filters) -> list[dict]:
    page = await store.search(SearchQuery(parse_query(q), **filters))
    return [loads_stored(item.body) for item in page.items]


async def found_contents(store: Store, q: str, **filters) -> list:
    return [hit["message"]["content"] for hit in await search(store, q, **filters)]


async def test_a_message_is_found_as_soon_as_its_append_is_answered(backend_store):
    session = await new_session(backend_store)
    await add_texts(backend_store, session.id, "the invoice is overdue")

    assert await found_contents(backend_store, "invoice") == ["the invoice is overdue"]


async def test_every_word_must_occur_in_any_order_any_case_accents_ignored(backend_store):
    session = await new_session(backend_store)
    await add_texts(backend_store, session.id, "Rendez-vous au Café de Flore", "a cafe of another kind", "Flore only")

    assert await found_contents(backend_store, "FLORE café") == ["Rendez-vous au Café de Flore"]
    both = ["Rendez-vous au Café de Flore", "a cafe of another kind"]
    assert sorted(await found_contents(backend_store, "cafe")) == both


async def test_a_quoted_phrase_needs_its_words_side_by_side(backend_store):
    session = await new_session(backend_store)
    await add_texts(backend_store, session.id, "due next friday", "friday is next")

    assert await found_contents(backend_store, '"next friday"') == ["due next friday"]
    assert sorted(await found_contents(backend_store, "next friday")) == ["due next friday", "friday is next"]


async def test_a_star_makes_a_prefix(backend_store):
    session = await new_session(backend_store)
    await add_texts(backend_store, session.id, "invoices were sent", "an invoicing system", "in voice")

    assert sorted(await found_contents(backend_store, "invoic*")) == ["an invoicing system", "invoices were sent"]
    assert await found_contents(backend_store, "invoic") == []
    assert await found_contents(backend_store, '"were sen"*') == ["invoices were sent"]


async def test_tool_calls_names_and_arguments_and_text_parts_are_searched(backend_store):
    session = await new_session(backend_store)
    call = {"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"order": "A-7731"}'}}
    use = {"type": "tool_use", "id": "t1", "name": "fetch_weather", "input": {"city": "Reykjavík"}}
    await backend_store.add_messages(
        session.id,
        [
            message(None, "assistant", tool_calls=[call]),
            message([{"type": "text", "text": "the weather, then"}, use], "assistant"),
            message([{"type": "tool_result", "tool_use_id": "t1", "content": "sleet and wind"}], "user"),
        ],
    )

    assert len(await search(backend_store, "lookup_order")) == 1
    assert len(await search(backend_store, "A-7731")) == 1
    assert len(await search(backend_store, "reykjavik fetch_weather")) == 1
    assert len(await search(backend_store, "sleet")) == 1
    assert len(await search(backend_store, "weather")) == 1


async def test_filters_narrow_the_hits(backend_store):
    alice = await new_session(backend_store, "planner", user_id="alice")
    bob = await new_session(backend_store, "coder", user_id="bob")
    await add_texts(backend_store, alice.id, "budget review", role="user")
    await add_texts(backend_store, alice.id, "budget approved", role="assistant")
    await add_texts(backend_store, bob.id, "budget code", role="user")

    assert len(await search(backend_store, "budget")) == 3
    assert await found_contents(backend_store, "budget", session_id=bob.id) == ["budget code"]
    alices = ["budget approved", "budget review"]
    assert sorted(await found_contents(backend_store, "budget", user_id="alice")) == alices
    assert await found_contents(backend_store, "budget", agent_name="coder") == ["budget code"]
    assert await found_contents(backend_store, "budget", user_id="alice", role="assistant") == ["budget approved"]


async def test_nothing_is_found_once_the_session_is_deleted_or_its_history_cleared(backend_store):
    kept, deleted, cleared = [await new_session(backend_store) for _ in range(3)]
    for session in (kept, deleted, cleared):
        await add_texts(backend_store, session.id, f"marmalade from {session.id}")

    await backend_store.delete_session(deleted.id)
    await backend_store.clear_history(cleared.id)

    assert await found_contents(backend_store, "marmalade") == [f"marmalade from {kept.id}"]


async def test_the_better_match_comes_first(backend_store):
    session = await new_session(backend_store)
    await add_texts(backend_store, session.id, "apple " + "filler " * 50, "apple apple apple pie")

    hits = await search(backend_store, "apple")

    assert hits[0]["message"]["content"] == "apple apple apple pie"
    assert hits[0]["score"] > hits[1]["score"] > 0


async def test_snippet_is_plain_text_with_the_matched_words_highlighted(backend_store):
    session = await new_session(backend_store)
    text = "Intro. " * 60 + "The Déjà Vu deadline is on the fifth." + " Outro." * 60
    await add_texts(backend_store, session.id, text)

    [hit] = await search(backend_store, 'deja "vu deadline"')

    snippet = hit["snippet"]
    assert "Déjà Vu deadline" in snippet and len(snippet) <= 170
    marked = [snippet[start:end] for start, end in hit["highlights"]]
    assert marked == ["Déjà", "Vu", "deadline"]
    assert hit["message"]["content"] == text


async def test_pages_follow_one_another_without_repeats(backend_store):
    session = await new_session(backend_store)
    await add_texts(backend_store, session.id, *(f"note {n} about turnips" for n in range(25)))

    seen = []
    for offset in (0, 10, 20):
        page = await backend_store.search(SearchQuery(parse_query("turnips"), limit=10, offset=offset))
        seen += [loads_stored(item.body)["message"]["id"] for item in page.items]
        assert page.has_more == (offset < 20)
    assert len(seen) == len(set(seen)) == 25


# Engine syntax of both backends, SQL, and odd text: each is only text to search for.
HOSTILE = [
    "a OR b",
    "NOT x",
    "NEAR(a b)",
    "a AND",
    "(",
    ")",
    '"',
    '""',
    "*",
    "a*b",
    "^start",
    "col:word",
    "{a b}:c",
    "a & b",
    "a | b",
    "!a",
    "a <-> b",
    "a:*",
    "'",
    "''",
    "'; DROP TABLE messages; --",
    "\\",
    "%",
    "_",
    "\x00",
    "🙂 emoji",
    "ǅ ß ﬁ",
    "a" * 1000,
    " ".join(["w"] * 200),
    "-",
    "+x -y",
    "\u0301",
    "١٢٣",
]


@pytest.mark.parametrize("q", HOSTILE, ids=range(len(HOSTILE)))
async def test_no_query_is_an_error(backend_store, q):
    session = await new_session(backend_store)
    await add_texts(backend_store, session.id, "a b x y w start word c emoji 123 \\ %")

    hits = await search(backend_store, q)

    assert isinstance(hits, list)
    assert (await found_contents(backend_store, "start")) != []  # the table is still there


async def test_every_hit_holds_every_query_word(backend_store):
    session = await new_session(backend_store)
    texts = ["red green blue", "red green", "green blue", "blue red", "Green, RED and bluish"]
    await add_texts(backend_store, session.id, *texts)

    for q in ("red green", "green blu*", '"green blue"', "red"):
        terms = parse_query(q)
        for content in await found_contents(backend_store, q):
            words = fold(content)
            assert all(word.rstrip("*") in words for term in terms for word in term.words), (q, content)


async def test_a_message_too_plain_to_index_is_still_stored_and_read(backend_store):
    session = await new_session(backend_store)
    [added] = await backend_store.add_messages(session.id, [message({"no": "text"})])

    assert (await backend_store.get_message(added.id)).content == {"no": "text"}
    assert await search(backend_store, json.dumps({"no": "text"})) == []
