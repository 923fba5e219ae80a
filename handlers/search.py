"""Search: /storage/search, messages found by their words, best first."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import QueryReader, offset_next, rendered_page_response, store_of

from vault.models import ROLES, SearchHit
from vault.openapi.operation import READ_ERRORS, Operation, described, page_reply
from vault.openapi.parameters import LIMIT, OFFSET, Param, choice, text_filter
from vault.queries import SearchQuery
from vault.search import parse_query

routes = web.RouteTableDef()

# Long enough for any question a person or an agent asks; the engines' work grows with the terms.
MAX_QUERY_CHARS = 1000

QUERY = Param(
    "q",
    "query",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_QUERY_CHARS,
        "examples": ['deadline "next friday" invoic*'],
    },
    'Words that must all occur (any order, any case, accents ignored), `"quoted phrases"` and `word*` '
    "prefixes. Every other character is text: no query is a syntax error.",
    required=True,
)


@routes.get("/storage/search")
@described(
    Operation(
        "GET",
        "/storage/search",
        "search",
        "Search messages, best match first",
        "search",
        page_reply(
            SearchHit,
            "Hits, best first: `score` (higher is better), `snippet` (plain text around the best match), "
            "`highlights` (`[start, end)` character offsets of matched words in the snippet) and the whole "
            "`message`. Searched: message text (string content, text parts of list content) and tool calls' "
            "names and arguments; a message is found once its append is answered, never once it is gone.",
        ),
        params=(
            QUERY,
            text_filter("session_id", "Only this session's messages."),
            text_filter("agent_name", "Only messages of this agent's sessions."),
            text_filter("user_id", "Only messages of this user's sessions."),
            choice("role", ROLES, "Only messages with this role."),
            LIMIT,
            OFFSET,
        ),
        errors=READ_ERRORS,
    ),
)
async def search(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    q = reader.free_text("q", MAX_QUERY_CHARS)
    query = SearchQuery(
        terms=parse_query(q or ""),
        session_id=reader.text("session_id"),
        agent_name=reader.text("agent_name"),
        user_id=reader.text("user_id"),
        role=reader.choice("role", ROLES),
        limit=reader.limit(),
        offset=reader.offset(),
    )
    reader.done()
    page = await store_of(request).search(query)
    return rendered_page_response(request, page, offset_next(page, query.limit, query.offset))
