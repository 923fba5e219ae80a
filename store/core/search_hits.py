"""A search hit as it is sent: score, snippet and highlights worked out here, the message spliced in as stored."""

from __future__ import annotations

from vault.jsonutil import dumps_text, loads_stored
from vault.models import RenderedHit
from vault.search import Term, searchable_text, snippet


def rendered_hit(body: str, score: float, terms: tuple[Term, ...]) -> RenderedHit:
    text, highlights = snippet(searchable_text(loads_stored(body)), terms)
    head = dumps_text({"score": round(score, 6), "snippet": text, "highlights": highlights})
    return RenderedHit(f'{head[:-1]},"message":{body}}}')
