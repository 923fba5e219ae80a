"""Search through both clients, against the real service."""

from __future__ import annotations

from tests.client.harness import collect
from vault.models import Message, SearchHit
from vault.search import words_of


async def test_search_finds_pages_and_filters(vault, unique):
    session = await vault.create_session(unique)
    await vault.add_messages(session.id, [{"role": "user", "content": f"{unique} kohlrabi note {n}"} for n in range(5)])
    await vault.add_message(session.id, "assistant", f"{unique} kohlrabi answer")

    hits = await vault.search(f"{unique} kohlrabi", agent_name=unique, limit=3)

    assert len(hits) == 3 and all(isinstance(hit, SearchHit) for hit in hits)
    assert isinstance(hits[0].message, Message) and hits[0].score > 0
    wanted = {*words_of(unique), "kohlrabi"}
    assert all(hit.snippet[start:end].lower() in wanted for hit in hits for start, end in hit.highlights)
    every = await collect(vault.iter_search("kohlrabi", agent_name=unique, page_size=2))
    assert len({hit.message.id for hit in every}) == 6
    assistant = await vault.search("kohlrabi", session_id=session.id, role="assistant")
    assert [hit.message.content for hit in assistant] == [f"{unique} kohlrabi answer"]
