"""Inputs at the edges of what the OpenAPI description allows: the server and the description agree."""

from __future__ import annotations

import re
import sys
from urllib.parse import quote

import pytest

from tests.conftest import create_session
from vault.inputs import Name
from vault.openapi.parameters import IF_MATCH
from vault.openapi.schemas import FIELD_RULES
from vault.openapi.spec import openapi_spec

WIDE = "😀"  # four bytes of UTF-8, twelve characters percent-encoded


# Rule: every key up to the documented 1024 characters can be used, even when its request line passes 8 KiB.
async def test_the_longest_cache_key_works(client):
    key = WIDE * 1024
    url = "/storage/cache/" + quote(key, safe="")
    assert len(url) > 12_000

    response = await client.put(url, json={"value": 1})
    assert response.status == 200, await response.text()
    response = await client.get(url)
    assert response.status == 200
    assert (await response.json())["key"] == key
    response = await client.delete(url)
    assert response.status == 200


# Rule: a JSON number without a fraction is an integer, as JSON Schema counts it; a fraction stays a 422.
@pytest.mark.parametrize(("ttl", "status"), [(3600.0, 200), (1e3, 200), (1.5, 422), (0.0, 422)])
async def test_a_whole_float_is_an_integer(client, ttl, status):
    response = await client.put("/storage/cache/float-ttl", json={"value": 1, "ttl": ttl})
    assert response.status == status, await response.text()
    if status == 200:
        assert (await response.json())["ttl"] == int(ttl)


@pytest.mark.parametrize("content_type", ["text/plain;\ncharset=utf-8", "text/plain;\r\ncharset=x", "a/b;\x85c=d"])
@pytest.mark.parametrize("stored", [True, False])
# Rule: a content_type allows only spaces and tabs around ";", so it can always go out as a header (was a 500).
async def test_a_content_type_with_a_line_break_is_refused(client, content_type, stored):
    body = {"name": "notes.txt", "content_type": content_type}
    if stored:
        body["content"] = "hello"
    response = await client.post("/storage/artifacts", json=body)
    assert response.status == 422, await response.text()
    assert (await response.json())["errors"][0]["loc"] == ["body", "content_type"]


# Rule: a content_type with parameters still works end to end.
async def test_a_content_type_with_parameters_is_served_as_given(client):
    body = {"name": "notes.txt", "content": "hello", "content_type": 'text/plain;\tcharset="utf-8"'}
    response = await client.post("/storage/artifacts", json=body)
    assert response.status == 201, await response.text()
    artifact = await response.json()
    response = await client.get(f"/storage/artifacts/{artifact['id']}/content")
    assert response.status == 200
    assert response.headers["Content-Type"] == 'text/plain;\tcharset="utf-8"'


# Rule: the description's "not only blanks" means what the server's str.strip() means, in any regex dialect.
def test_the_name_pattern_matches_what_strip_keeps():
    pattern = re.compile(FIELD_RULES[Name]["pattern"])
    disagree = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if (pattern.search(chr(code)) is None) != (chr(code).strip() == "")
    ]
    assert disagree == []


@pytest.mark.parametrize("blank", ["\x85", "\x1c\x1d", " \u3000 "])
async def test_a_name_of_blanks_is_refused(client, blank):
    response = await client.post("/storage/sessions", json={"agent_name": blank})
    assert response.status == 422


# Rule: the If-Match pattern in the description takes what the server takes.
@pytest.mark.parametrize(("value", "taken"), [('"3"', True), ('W/"3"', True), ("3", True), ("*", True),
                                              ("abc", False), ('"²"', False), ('"-1"', False), ('""', False),
                                              ('"' + "9" * 30 + '"', False), ("'1'", False)])  # fmt: skip
async def test_if_match_pattern_and_server_agree(client, value, taken):
    assert (re.search(IF_MATCH.schema["pattern"], value) is not None) == taken
    session = await create_session(client)
    response = await client.put(f"/storage/state/{session['id']}", json={"data": {}}, headers={"If-Match": value})
    # '"3"' is a fine ETag that does not match version 0.
    assert response.status in ((200, 412) if taken else (422,)), await response.text()


# Rule: an empty query value counts as absent, and the description says so (allowEmptyValue).
async def test_empty_query_values_count_as_absent(client):
    await create_session(client, user_id="u1")
    response = await client.get("/storage/sessions?limit=&offset=&user_id=&status=&agent_name=")
    assert response.status == 200
    assert len(await response.json()) == 1

    optional = [
        (path, method, param["name"])
        for path, methods in openapi_spec()["paths"].items()
        for method, operation in methods.items()
        for param in operation.get("parameters", [])
        if param["in"] == "query" and not param.get("required")
    ]
    assert optional
    missing = [entry for entry in optional if not _param(*entry).get("allowEmptyValue")]
    assert missing == []


def _param(path: str, method: str, name: str) -> dict:
    operation = openapi_spec()["paths"][path][method]
    return next(param for param in operation["parameters"] if param["name"] == name)


# Rule: a batch has at least one item, in the description as on the server.
@pytest.mark.parametrize(("path", "field", "component"), [
    ("/storage/history/batch", "messages", "MessageBatch"),
    ("/storage/metrics/batch", "metrics", "MetricBatch"),
])  # fmt: skip
async def test_an_empty_batch_is_refused(client, path, field, component):
    body = {field: []}
    if field == "messages":
        body["session_id"] = (await create_session(client))["id"]
    response = await client.post(path, json=body)
    assert response.status == 422
    assert [error["loc"] for error in (await response.json())["errors"]] == [["body", field]]
    assert openapi_spec()["components"]["schemas"][component]["properties"][field]["minItems"] == 1
