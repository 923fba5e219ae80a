"""Requests a new user or an attacker sends: each is answered as the contract says, never with a 500."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import create_session
from tests.raw_http import raw_request, send_raw
from vault.app import create_app
from vault.config import Config

BOUNDARY = "vaultboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
HUGE_NUMBER = "1" + "0" * 5000


@pytest.fixture
async def keyed_client(aiohttp_client, db_path):
    return await aiohttp_client(create_app(Config(db_path=db_path, api_keys=("the-key",))))


def _error(answer_json: dict, code: str) -> None:
    assert set(answer_json) >= {"detail", "error"}, answer_json
    assert answer_json["error"] == code, answer_json


# Rule: an Authorization header whose bytes are not UTF-8 is a wrong key: 401, never a 500.
@pytest.mark.parametrize("offered", [b"Bearer \xe9", b"Bearer the-key\xff", b"Bearer \xc3\x28"])
async def test_a_key_that_is_not_utf8_is_unauthorized(keyed_client, offered):
    request = raw_request("GET", "/storage/sessions", b"Authorization: " + offered)
    answer = await send_raw(keyed_client.host, keyed_client.port, request)
    assert answer.status == 401, answer
    _error(answer.json(), "unauthorized")


# Rule: a range whose numbers have thousands of digits is judged by their value: past the end is a 416.
async def test_a_range_with_a_huge_number_is_unsatisfiable(client):
    response = await client.post("/storage/artifacts", json={"name": "a.txt", "content": "hello"})
    artifact_id = (await response.json())["id"]
    url = f"/storage/artifacts/{artifact_id}/content"
    response = await client.get(url, headers={"Range": f"bytes={HUGE_NUMBER}-"})
    assert response.status == 416, await response.text()
    assert response.headers["Content-Range"] == "bytes */5"
    # A huge last position or suffix is the whole content, as a smaller one past the end is.
    for header in (f"bytes=1-{HUGE_NUMBER}", f"bytes=-{HUGE_NUMBER}", f"bytes=0{HUGE_NUMBER[1:]}1-1"):
        response = await client.get(url, headers={"Range": header})
        assert response.status == 206, (header[:20], await response.text())
    response = await client.get(url, headers={"Range": f"bytes=1-{HUGE_NUMBER}"})
    assert await response.read() == b"ello"


def _multipart(*part_header_lines: bytes, content: bytes = b"hello") -> bytes:
    head = [f"--{BOUNDARY}".encode(), *part_header_lines]
    return b"\r\n".join([*head, b"", content, f"--{BOUNDARY}--".encode(), b""])


DISPOSITION = b'Content-Disposition: form-data; name="file"; filename="a.txt"'
BAD_PART_HEADERS = {
    "nul in a filename": [b'Content-Disposition: form-data; name="file"; filename="a\x00.txt"'],
    "del in a filename": [b'Content-Disposition: form-data; name="file"; filename="a\x7f.txt"'],
    "bare cr in a filename": [b'Content-Disposition: form-data; name="file"; filename="a\r.txt"'],
    "a line without a colon": [DISPOSITION, b"no colon here"],
    "a line too long": [DISPOSITION, b"X-Long: " + b"x" * 9000],
    "thousands of headers": [DISPOSITION, *(f"X-H{n}: v".encode() for n in range(5000))],
    "obs-fold": [DISPOSITION, b"X-Folded: one", b" two"],
    "a space before the colon": [DISPOSITION, b"Content-Type : text/plain"],
    "a control character in the type": [DISPOSITION, b"Content-Type: text/pl\x01ain"],
}


# Rule: a multipart part whose headers are malformed is a 400 naming the problem, and its bytes stay out of the log.
@pytest.mark.parametrize("lines", BAD_PART_HEADERS.values(), ids=BAD_PART_HEADERS.keys())
async def test_malformed_part_headers_are_a_400(client, caplog, lines):
    caplog.set_level(logging.DEBUG)
    body = _multipart(*lines)
    response = await client.post("/storage/artifacts", data=body, headers={"Content-Type": MULTIPART})
    assert response.status == 400, await response.text()
    answer = await response.json()
    _error(answer, "bad_request")
    assert "part" in answer["detail"] and "header" in answer["detail"], answer
    assert all(ord(char) >= 0x20 for char in answer["detail"]), answer
    logged = "\n".join(record.getMessage() + str(record.exc_info) for record in caplog.records)
    assert "a\x00" not in logged and "xxxxxxxx" not in logged and "X-H4000" not in logged
    listed = await client.get("/storage/artifacts")
    assert await listed.json() == []


# Rule: a Content-Encoding the service does not decode is a 415 JSON error; the body is never decoded.
@pytest.mark.parametrize("encoding", ["foo", "compress", "gzip, foo", "identity;q=0"])
async def test_an_unknown_content_encoding_is_a_415(client, encoding):
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    response = await client.post("/storage/sessions", data=b'{"agent_name": "a"}', headers=headers)
    assert response.status == 415, await response.text()
    _error(await response.json(), "unsupported_media_type")
    assert "Content-Encoding" in (await response.json())["detail"]


# Rule: the encodings the service does decode still work.
@pytest.mark.parametrize("encoding", ["identity", "gzip", "GZip"])
async def test_known_content_encodings_are_decoded(client, encoding):
    import gzip

    body = b'{"agent_name": "a"}'
    if encoding.lower() == "gzip":
        body = gzip.compress(body)
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    response = await client.post("/storage/sessions", data=body, headers=headers)
    assert response.status == 201, await response.text()


# Rule: a query parameter given twice, or one the route does not take, is a 422 naming each, as body fields are.
@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("limit=1&limit=x", ["limit"]),
        ("limit=1&limit=1", ["limit"]),
        ("colour=red", ["colour"]),
        ("status=active&status=ended&colour=red&limit=0", ["status", "limit", "colour"]),
    ],
)
async def test_repeated_and_unknown_query_parameters_are_a_422(client, query, names):
    response = await client.get(f"/storage/sessions?{query}")
    assert response.status == 422, await response.text()
    answer = await response.json()
    _error(answer, "validation_error")
    assert sorted(error["loc"][1] for error in answer["errors"]) == sorted(names)
    assert all(error["loc"][0] == "query" for error in answer["errors"])


# Rule: every list route refuses an unknown parameter, and still takes each documented one.
async def test_each_list_route_knows_its_parameters(client):
    session = await create_session(client)
    known = {
        "/storage/sessions": "agent_name=a&user_id=u&status=active&limit=5&offset=0",
        "/storage/history": f"session_id={session['id']}&limit=5&offset=0&role=user",
        "/storage/artifacts": f"session_id={session['id']}&type=t&limit=5&offset=0",
        "/storage/metrics": "entity_type=t&entity_name=n&session_id=s&metric_name=m&limit=5&offset=0",
        "/storage/metrics/rollups": "metric_name=m&bucket=hour&entity_name=n&entity_type=t&limit=5&offset=0",
    }
    for route, query in known.items():
        response = await client.get(f"{route}?{query}")
        assert response.status == 200, (route, await response.text())
        response = await client.get(f"{route}?{query}&bogus=1")
        assert response.status == 422, (route, await response.text())
        assert (await response.json())["errors"] == [{"loc": ["query", "bogus"], "msg": "is not a parameter here"}]
