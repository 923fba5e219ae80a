"""Bad input: whatever a client sends, the answer is a JSON 4xx error, never a 500."""

from __future__ import annotations

import gzip
import json
from typing import Any, NamedTuple

import pytest
from yarl import URL

from tests.conftest import create_session
from vault.app import create_app
from vault.config import Config

PLACEHOLDER = "{session_id}"
UNKNOWN_SESSION = "session_00000000000000deadbeef00"


class Endpoint(NamedTuple):
    """A JSON endpoint and a body it accepts; PLACEHOLDER stands for a real session id."""

    method: str
    path: str
    body: dict[str, Any]

    def bind(self, session_id: str) -> Endpoint:
        body = json.loads(json.dumps(self.body).replace(PLACEHOLDER, session_id))
        return Endpoint(self.method, self.path.replace(PLACEHOLDER, session_id), body)


JSON_ENDPOINTS = {
    "create session": Endpoint("POST", "/storage/sessions", {"agent_name": "a"}),
    "update session": Endpoint("PUT", "/storage/sessions/{session_id}", {"status": "paused"}),
    "patch session": Endpoint("PATCH", "/storage/sessions/{session_id}", {"metadata": {"a": 1}}),
    "add message": Endpoint("POST", "/storage/history", {"session_id": PLACEHOLDER, "role": "user", "content": "hi"}),
    "add messages": Endpoint(
        "POST", "/storage/history/batch", {"session_id": PLACEHOLDER, "messages": [{"role": "user", "content": "hi"}]}
    ),
    "put state": Endpoint("PUT", "/storage/state/{session_id}", {"data": {"a": 1}}),
    "patch state": Endpoint("PATCH", "/storage/state/{session_id}", {"data": {"a": 1}}),
    "set cache": Endpoint("PUT", "/storage/cache/some/key", {"value": 1, "ttl": 60}),
    "record metric": Endpoint("POST", "/storage/metrics", {"entity_name": "e", "metric_name": "m", "value": 1}),
    "record metrics": Endpoint(
        "POST", "/storage/metrics/batch", {"metrics": [{"entity_name": "e", "metric_name": "m", "value": 1}]}
    ),
    "create artifact": Endpoint("POST", "/storage/artifacts", {"name": "a", "session_id": PLACEHOLDER}),
}


@pytest.fixture(params=sorted(JSON_ENDPOINTS))
async def endpoint(request, client) -> Endpoint:
    session = await create_session(client)
    return JSON_ENDPOINTS[request.param].bind(session["id"])


async def send(client, endpoint: Endpoint, data: bytes, content_type: str | None = "application/json"):
    if content_type is None:
        return await client.request(endpoint.method, endpoint.path, data=data, skip_auto_headers=["Content-Type"])
    return await client.request(endpoint.method, endpoint.path, data=data, headers={"Content-Type": content_type})


def with_extra(endpoint: Endpoint, raw_value: str) -> bytes:
    """The endpoint's valid body with one more member whose value is `raw_value`, verbatim."""
    text = json.dumps(endpoint.body)
    return (text[:-1] + f', "extra": {raw_value}}}').encode()


async def expect_error(response, status: int, error: str | None = None) -> dict[str, Any]:
    """The contract's error: the status, a JSON body with `detail` and `error`; 422 names fields."""
    text = await response.text()
    assert response.status < 500, f"a client error answered {response.status}: {text}"
    assert response.status == status, text
    assert response.content_type == "application/json"
    body = json.loads(text)
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["error"], str)
    assert body["error"]
    if error is not None:
        assert body["error"] == error
    if status == 422:
        assert body["errors"], "a 422 names at least one field"
        for item in body["errors"]:
            assert isinstance(item["loc"], list)
            assert item["loc"]
            assert isinstance(item["msg"], str)
    return body


def locs(body: dict[str, Any]) -> list[list[Any]]:
    return sorted((error["loc"] for error in body["errors"]), key=str)


# -- the endpoints themselves accept their valid bodies, so each rejection below is about the input


async def test_the_valid_body_is_accepted(client, endpoint):
    response = await send(client, endpoint, json.dumps(endpoint.body).encode())
    assert response.status in (200, 201), await response.text()


# -- bodies that are not JSON


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": ',
        b"{'a': 1}",
        b"{,}",
        b'{"a": 1,}',
        b"nul",
        b'{"a": 1} trailing',
        b'{"a": 1}{"b": 2}',
        b"\xef\xbb\xbf{}",
        b"\xff\xfe{\x00}\x00",
        b'{"a": "\xc3\x28"}',
        b'{"a": "\x00"}',
        b"{\"a\": 'single'}",
        b'{"a": 01}',
        b'{"a": .5}',
        b'{"a": +1}',
        b'{"a": 0x10}',
        b'{"a": undefined}',
        b'{"a": "\\x41"}',
    ],
    ids=repr,
)
async def test_malformed_json_is_400(client, endpoint, data):
    await expect_error(await send(client, endpoint, data), 400, "invalid_json")


@pytest.mark.parametrize("data", [b"", b" ", b"\n\t \r\n"], ids=repr)
async def test_empty_body_is_400(client, endpoint, data):
    await expect_error(await send(client, endpoint, data), 400)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "text/json",
        None,
    ],
)
async def test_wrong_content_type_is_415(client, endpoint, content_type):
    response = await send(client, endpoint, json.dumps(endpoint.body).encode(), content_type)
    await expect_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("data", [b"[]", b'[{"a": 1}]', b'"text"', b"7", b"null", b"true"], ids=repr)
async def test_top_level_not_an_object_is_422(client, endpoint, data):
    body = await expect_error(await send(client, endpoint, data), 422, "validation_error")
    assert locs(body) == [["body"]]


async def test_top_level_array_of_the_valid_body_is_422(client, endpoint):
    response = await send(client, endpoint, json.dumps([endpoint.body]).encode())
    await expect_error(response, 422)


# -- JSON the service cannot keep


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "[1e999]"])
async def test_non_finite_numbers_are_400(client, endpoint, literal):
    await expect_error(await send(client, endpoint, with_extra(endpoint, literal)), 400, "invalid_json")


@pytest.mark.parametrize(
    "literal",
    [
        r'"\ud800"',
        r'"\udfff"',
        r'"\uDC00"',
        r'"\uD800"',
        r'"a\ud800b"',
        r'"\ud800\u0041"',
        r'"\ude00\ud83d"',
        r'{"\ud800": 1}',
        r'["ok", "\udbff"]',
    ],
)
async def test_lone_surrogates_are_400(client, endpoint, literal):
    await expect_error(await send(client, endpoint, with_extra(endpoint, literal)), 400, "invalid_json")


# Rule: Python refuses to parse integers past 4300 digits; that is a client error, not a 500.
@pytest.mark.parametrize("digits", [5000, 100_000])
async def test_integers_with_thousands_of_digits_are_400(client, endpoint, digits):
    await expect_error(await send(client, endpoint, with_extra(endpoint, "9" * digits)), 400, "invalid_json")


@pytest.mark.parametrize("depth", [101, 200])
async def test_nesting_past_100_levels_is_422(client, endpoint, depth):
    nested = "[" * depth + "]" * depth
    body = await expect_error(await send(client, endpoint, with_extra(endpoint, nested)), 422)
    assert locs(body) == [["body"]]


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"a": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}",
        b"[" * 100_000,
        b"{" * 100_000,
    ],
    ids=["arrays", "objects", "unclosed arrays", "unclosed objects"],
)
async def test_nesting_100000_deep_is_a_client_error(client, endpoint, data):
    response = await send(client, endpoint, data)
    assert 400 <= response.status < 500
    await expect_error(response, response.status)


async def test_unknown_field_is_422_naming_it(client, endpoint):
    body = await expect_error(await send(client, endpoint, with_extra(endpoint, "1")), 422, "validation_error")
    assert locs(body) == [["body", "extra"]]


# Rule: a body that cannot be decompressed is the client's error (400), never a 500.
@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
async def test_body_that_does_not_decompress_is_400(client, endpoint, encoding):
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding, "Connection": "close"}
    response = await client.request(endpoint.method, endpoint.path, data=b"not compressed at all", headers=headers)
    await expect_error(response, 400)
    # The service goes on answering.
    assert (await client.get("/health")).status == 200


async def test_a_compressed_body_is_read(client):
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    response = await client.post("/storage/sessions", data=gzip.compress(b'{"agent_name": "zipped"}'), headers=headers)
    assert response.status == 201, await response.text()
    assert (await response.json())["agent_name"] == "zipped"


# -- fields: wrong types, missing, out of range; each bad field is named

SESSION = PLACEHOLDER
BAD_TIMESTAMPS = [
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-03-01T25:00:00Z",
    "2026-03-01T12:00:00+25:00",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+05:00",
    "0000-01-01T00:00:00Z",
    "yesterday",
    "",
    " ",
    "1700000000",
    "2026-03-01T12:00:00" + "0" * 100,
]

FIELD_CASES = [
    # cache
    ("PUT", "/storage/cache/k", {"value": 1, "ttl": "7"}, [["body", "ttl"]]),
    ("PUT", "/storage/cache/k", {"value": 1, "ttl": 10**30}, [["body", "ttl"]]),
    ("PUT", "/storage/cache/k", {"value": 1, "ttl": True}, [["body", "ttl"]]),
    ("PUT", "/storage/cache/k", {"value": 1, "ttl": 1.5}, [["body", "ttl"]]),
    ("PUT", "/storage/cache/k", {"value": 1, "ttl": 0}, [["body", "ttl"]]),
    ("PUT", "/storage/cache/k", {"value": 1, "ttl": -1}, [["body", "ttl"]]),
    ("PUT", "/storage/cache/k", {"ttl": 5}, [["body", "value"]]),
    ("PUT", "/storage/cache/k", {"value": 1, "key": 7}, [["body", "key"]]),
    ("PUT", "/storage/cache/k", {"value": 1, "expires_at": "2030-01-01"}, [["body", "expires_at"]]),
    # sessions
    ("POST", "/storage/sessions", {}, [["body", "agent_name"]]),
    ("POST", "/storage/sessions", {"agent_name": 7}, [["body", "agent_name"]]),
    ("POST", "/storage/sessions", {"agent_name": None}, [["body", "agent_name"]]),
    ("POST", "/storage/sessions", {"agent_name": ""}, [["body", "agent_name"]]),
    ("POST", "/storage/sessions", {"agent_name": "a", "user_id": 7}, [["body", "user_id"]]),
    ("POST", "/storage/sessions", {"agent_name": "a", "status": "gone"}, [["body", "status"]]),
    ("POST", "/storage/sessions", {"agent_name": "a", "metadata": "{}"}, [["body", "metadata"]]),
    (
        "POST",
        "/storage/sessions",
        {"agent_name": 7, "status": "gone", "metadata": [], "bogus": 1},
        [["body", "agent_name"], ["body", "bogus"], ["body", "metadata"], ["body", "status"]],
    ),
    ("PUT", "/storage/sessions/{session_id}", {"status": True}, [["body", "status"]]),
    ("PUT", "/storage/sessions/{session_id}", {"agent_name": "renamed"}, [["body", "agent_name"]]),
    # history
    ("POST", "/storage/history", {"role": "user", "content": "hi"}, [["body", "session_id"]]),
    ("POST", "/storage/history", {"session_id": 7, "role": "user"}, [["body", "session_id"]]),
    ("POST", "/storage/history", {"session_id": SESSION, "role": "robot"}, [["body", "role"]]),
    ("POST", "/storage/history", {"session_id": SESSION, "role": "user", "content": 7}, [["body", "content"]]),
    ("POST", "/storage/history", {"session_id": SESSION, "role": "user", "content": [1]}, [["body", "content"]]),
    ("POST", "/storage/history", {"session_id": SESSION, "role": "tool", "tool_calls": {}}, [["body", "tool_calls"]]),
    (
        "POST",
        "/storage/history/batch",
        {"session_id": SESSION, "messages": [{"role": "user"}, {"role": "robot"}]},
        [["body", "messages", 1, "role"]],
    ),
    # state
    ("PUT", "/storage/state/{session_id}", {}, [["body", "data"]]),
    ("PUT", "/storage/state/{session_id}", {"data": []}, [["body", "data"]]),
    ("PUT", "/storage/state/{session_id}", {"data": "x"}, [["body", "data"]]),
    ("PUT", "/storage/state/{session_id}", {"data": None}, [["body", "data"]]),
    ("PATCH", "/storage/state/{session_id}", {"data": {}, "version": 3}, [["body", "version"]]),
    # metrics
    ("POST", "/storage/metrics", {"entity_name": "e", "metric_name": "m"}, [["body", "value"]]),
    ("POST", "/storage/metrics", {"entity_name": "e", "metric_name": "m", "value": True}, [["body", "value"]]),
    ("POST", "/storage/metrics", {"entity_name": "e", "metric_name": "m", "value": "7"}, [["body", "value"]]),
    ("POST", "/storage/metrics", {"entity_name": "e", "metric_name": "m", "value": None}, [["body", "value"]]),
    ("POST", "/storage/metrics", {"entity_name": "e", "metric_name": "m", "value": 10**400}, [["body", "value"]]),
    ("POST", "/storage/metrics", {"entity_name": 7, "metric_name": "m", "value": 1}, [["body", "entity_name"]]),
    (
        "POST",
        "/storage/metrics",
        {"entity_name": "e", "metric_name": "m", "value": 1, "labels": {"a": 1}},
        [["body", "labels"]],
    ),
    (
        "POST",
        "/storage/metrics/batch",
        {"metrics": [{"entity_name": "e", "metric_name": "m", "value": 1}, {"metric_name": "m", "value": "x"}]},
        [["body", "metrics", 1, "entity_name"], ["body", "metrics", 1, "value"]],
    ),
    *(
        (
            "POST",
            "/storage/metrics",
            {"entity_name": "e", "metric_name": "m", "value": 1, "timestamp": stamp},
            [["body", "timestamp"]],
        )
        for stamp in [*BAD_TIMESTAMPS, 1700000000, 1.5, True, ["2026-03-01"]]
    ),
    # artifacts
    ("POST", "/storage/artifacts", {}, [["body", "name"]]),
    ("POST", "/storage/artifacts", {"name": 7}, [["body", "name"]]),
    ("POST", "/storage/artifacts", {"name": "a", "size": "7"}, [["body", "size"]]),
    ("POST", "/storage/artifacts", {"name": "a", "size": 10**30}, [["body", "size"]]),
    ("POST", "/storage/artifacts", {"name": "a", "size": -1}, [["body", "size"]]),
    ("POST", "/storage/artifacts", {"name": "a", "metadata": None}, [["body", "metadata"]]),
]


def describe(case: tuple[str, str, dict[str, Any], list[list[Any]]]) -> str:
    method, path, body, _ = case
    return f"{method} {path} {json.dumps(body)[:60]}"


@pytest.mark.parametrize(("method", "path", "body", "expected"), FIELD_CASES, ids=[describe(c) for c in FIELD_CASES])
async def test_bad_fields_are_422_naming_each(client, method, path, body, expected):
    target = Endpoint(method, path, body).bind((await create_session(client))["id"])
    response = await client.request(target.method, target.path, json=target.body)
    body = await expect_error(response, 422, "validation_error")
    assert locs(body) == sorted(expected, key=str)


# -- huge integers where any JSON is allowed are kept exactly

BIG = {"big": 10**30, "negative": -(10**30), "list": [2**64, 2**63]}


async def test_huge_integers_in_session_metadata_are_kept(client):
    session = await create_session(client, metadata=BIG)
    response = await client.get(f"/storage/sessions/{session['id']}")
    assert (await response.json())["metadata"] == BIG


async def test_huge_integers_in_message_metadata_are_kept(client):
    session = await create_session(client)
    response = await client.post(
        "/storage/history", json={"session_id": session["id"], "role": "user", "content": "x", "metadata": BIG}
    )
    assert response.status == 201
    message = await response.json()
    fetched = await client.get(f"/storage/history/{message['id']}")
    assert (await fetched.json())["metadata"] == BIG


async def test_huge_integers_in_state_and_cache_are_kept(client):
    session = await create_session(client)
    response = await client.put(f"/storage/state/{session['id']}", json={"data": BIG})
    assert response.status == 200
    response = await client.get(f"/storage/state/{session['id']}")
    assert (await response.json())["data"] == BIG

    response = await client.put("/storage/cache/big", json={"value": BIG})
    assert response.status == 200
    response = await client.get("/storage/cache/big")
    assert (await response.json())["value"] == BIG


async def test_a_surrogate_pair_is_a_character_not_an_error(client):
    response = await client.post(
        "/storage/sessions",
        data=rb'{"agent_name": "\ud83d\ude00", "metadata": {"\ud83d\udd11": "\u00e9"}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201, await response.text()
    session = await response.json()
    assert session["agent_name"] == "😀"
    assert session["metadata"] == {"🔑": "é"}


# -- query strings

LIST_ENDPOINTS = [
    "/storage/sessions",
    "/storage/metrics",
    "/storage/artifacts",
    "/storage/history?session_id={session_id}",
]
BAD_LIMITS = ["0", "1001", "-1", "abc", "1.5", "1e3", "0x10", "1_000", "--5", "²", "\uff15", str(10**30), "9" * 5000]
BAD_OFFSETS = ["-1", "abc", "1.5", "--5", "²", str(10**30)]


async def get_with(client, path: str, **params: str):
    session = await create_session(client)
    url = URL(path.replace(PLACEHOLDER, session["id"]))
    return await client.get(url.update_query(params))


# Rule: a number the query parser cannot read ("²", "--5") is a 422, never a 500.
@pytest.mark.parametrize("path", LIST_ENDPOINTS)
@pytest.mark.parametrize("limit", BAD_LIMITS)
async def test_bad_limit_is_422(client, path, limit):
    body = await expect_error(await get_with(client, path, limit=limit), 422, "validation_error")
    assert locs(body) == [["query", "limit"]]


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
@pytest.mark.parametrize("limit", ["1", "1000"])
async def test_limit_bounds_are_accepted(client, path, limit):
    response = await get_with(client, path, limit=limit)
    assert response.status == 200, await response.text()


# Rule: a number the query parser cannot read ("²", "--5") is a 422, never a 500.
@pytest.mark.parametrize("path", [p for p in LIST_ENDPOINTS if "history" not in p])
@pytest.mark.parametrize("offset", BAD_OFFSETS)
async def test_bad_offset_is_422(client, path, offset):
    body = await expect_error(await get_with(client, path, offset=offset), 422, "validation_error")
    assert locs(body) == [["query", "offset"]]


@pytest.mark.parametrize("name", ["start_time", "end_time"])
@pytest.mark.parametrize("stamp", [stamp for stamp in BAD_TIMESTAMPS if stamp.strip()])
async def test_bad_time_in_a_metrics_query_is_422(client, name, stamp):
    body = await expect_error(await get_with(client, "/storage/metrics", **{name: stamp}), 422, "validation_error")
    assert locs(body) == [["query", name]]


async def test_every_bad_query_parameter_is_named(client):
    response = await get_with(client, "/storage/metrics", limit="0", offset="-1", start_time="soon", end_time="later")
    body = await expect_error(response, 422, "validation_error")
    assert locs(body) == sorted(
        [["query", "limit"], ["query", "offset"], ["query", "start_time"], ["query", "end_time"]], key=str
    )


# Rule: a history cursor that is no seq number nor message ("²", 30 digits) is a 422, never a 500.
@pytest.mark.parametrize("cursor", ["after", "before"])
@pytest.mark.parametrize("value", ["²", "msg_unknown", str(10**30), "-1"])
async def test_bad_history_cursor_is_422(client, cursor, value):
    response = await get_with(client, "/storage/history?session_id={session_id}", **{cursor: value})
    body = await expect_error(response, 422, "validation_error")
    assert locs(body) == [["query", cursor]]


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/storage/sessions", {"status": "gone"}, ["query", "status"]),
        ("/storage/history?session_id={session_id}", {"role": "robot"}, ["query", "role"]),
        ("/storage/history", {}, ["query", "session_id"]),
    ],
)
async def test_other_bad_query_values_are_422(client, path, params, loc):
    body = await expect_error(await get_with(client, path, **params), 422, "validation_error")
    assert locs(body) == [loc]


@pytest.mark.parametrize("value", ["%ED%A0%80", "%00", "%FF%FE", "x" * 5000])
@pytest.mark.parametrize("path", ["/storage/sessions", "/storage/metrics", "/storage/artifacts"])
async def test_odd_filter_values_are_not_server_errors(client, path, value):
    name = "agent_name" if "sessions" in path else "entity_name" if "metrics" in path else "type"
    response = await client.get(URL(f"{path}?{name}={value}", encoded=True))
    text = await response.text()
    assert response.status < 500, text
    if response.status >= 400:
        await expect_error(response, response.status)


# -- headers and paths


# Rule: an If-Match that is not a plain version number ('"²"' included) is a 422, never a 500.
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("value", ["abc", '"abc"', '"²"', '"-1"', '"1.5"', '"' + "9" * 30 + '"', '""', "'1'"])
async def test_bad_if_match_is_422(client, method, value):
    session = await create_session(client)
    response = await client.request(
        method, f"/storage/state/{session['id']}", json={"data": {}}, headers={"If-Match": value}
    )
    body = await expect_error(response, 422, "validation_error")
    assert locs(body) == [["header", "If-Match"]]


@pytest.mark.parametrize(
    "path",
    [
        "/storage/sessions/%ED%A0%80",
        "/storage/sessions/%00",
        "/storage/state/%ED%A0%80",
        "/storage/artifacts/%FF",
        "/storage/metrics/%ED%A0%80",
        "/storage/history/%ED%A0%80",
        "/storage/cache/%ED%A0%80%00",
        "/storage/sessions/" + "x" * 5000,
    ],
)
async def test_odd_ids_in_paths_are_404(client, path):
    await expect_error(await client.get(URL(path, encoded=True)), 404, "not_found")


async def test_unknown_route_is_a_json_404(client):
    await expect_error(await client.get("/storage/nothing-here"), 404, "not_found")


async def test_wrong_method_is_a_json_405_with_allow(client):
    response = await client.post("/storage/state/session_x", json={"data": {}})
    await expect_error(response, 405, "method_not_allowed")
    assert "PUT" in response.headers["Allow"]


# -- size


@pytest.fixture
async def small_client(aiohttp_client, db_path):
    return await aiohttp_client(create_app(Config(db_path=db_path, max_body_bytes=1024)))


@pytest.mark.parametrize("name", sorted(JSON_ENDPOINTS))
async def test_oversized_body_is_a_json_413(small_client, name):
    target = JSON_ENDPOINTS[name].bind(UNKNOWN_SESSION)
    body = json.dumps({**target.body, "padding": "x" * 2048}).encode()
    response = await send(small_client, target, body)
    await expect_error(response, 413, "payload_too_large")


async def test_oversized_chunked_body_is_a_json_413(small_client):
    async def chunks():
        yield b'{"agent_name": "a", "metadata": {"padding": "'
        for _ in range(64):
            yield b"x" * 64
        yield b'"}}'

    response = await small_client.post("/storage/sessions", data=chunks(), headers={"Content-Type": "application/json"})
    await expect_error(response, 413, "payload_too_large")


async def test_a_body_just_under_the_cap_is_accepted(small_client):
    prefix = b'{"agent_name": "a", "metadata": {"padding": "'
    suffix = b'"}}'
    body = prefix + b"x" * (1024 - len(prefix) - len(suffix)) + suffix
    assert len(body) == 1024
    response = await small_client.post("/storage/sessions", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 201, await response.text()
