"""Requests aiohttp's parser refuses before any middleware: answered as JSON by the runner `vault serve` uses."""

from __future__ import annotations

import logging

import pytest

from tests.raw_http import raw_request, send_raw

HOST = "127.0.0.1"


def _assert_json_error(answer, status: int, code: str) -> dict:
    assert answer.status == status, answer
    assert answer.headers["content-type"].startswith("application/json"), answer
    body = answer.json()
    assert set(body) == {"detail", "error"} and body["error"] == code, body
    return body


# Rule: a request line over the limit is a JSON 400 that does not echo the request, in the answer or the log.
async def test_a_request_line_over_the_limit_is_a_json_error(served, caplog):
    caplog.set_level(logging.DEBUG)
    answer = await send_raw(HOST, served, raw_request("GET", "/storage/" + "a" * 20_000))
    body = _assert_json_error(answer, 400, "bad_request")
    assert "too long" in body["detail"] and "aaaa" not in body["detail"]
    assert not any("aaaa" in record.getMessage() or record.exc_info for record in caplog.records)


# Rule: so is a header line over the limit.
async def test_a_header_over_the_limit_is_a_json_error(served):
    answer = await send_raw(HOST, served, raw_request("GET", "/health", b"X-Big: " + b"b" * 20_000))
    _assert_json_error(answer, 400, "bad_request")


# Rule: a Content-Encoding the service does not decode (br, deflate) is a JSON 415, not plain text.
@pytest.mark.parametrize("encoding", [b"br", b"deflate"])
async def test_an_encoding_the_parser_refuses_is_a_json_415(served, encoding):
    request = raw_request(
        "POST",
        "/storage/sessions",
        b"Content-Type: application/json",
        b"Content-Encoding: " + encoding,
        body=b'{"agent_name": "a"}',
    )
    body = _assert_json_error(await send_raw(HOST, served, request), 415, "unsupported_media_type")
    assert "Content-Encoding" in body["detail"] and "install" not in body["detail"]


# Rule: requests that are not HTTP at all get the JSON error body too.
@pytest.mark.parametrize("request_bytes", [b"G\x00T / HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"])
async def test_garbage_is_a_json_400(served, request_bytes):
    _assert_json_error(await send_raw(HOST, served, request_bytes), 400, "bad_request")


# Rule: ordinary requests behave the same behind VaultRunner.
async def test_ordinary_requests_still_work(served):
    answer = await send_raw(HOST, served, raw_request("GET", "/health"))
    assert answer.status == 200
