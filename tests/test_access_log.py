"""Access lines: written in batches, and the same line whether or not a LogRecord is made for it."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from vault import logs

TEXT_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


@pytest.fixture
def handler_for():
    made = []

    def make(json_lines: bool) -> tuple[logs.AccessBatchingHandler, io.StringIO]:
        stream = io.StringIO()
        handler = logs.AccessBatchingHandler(stream, json_lines=json_lines)
        made.append(handler)
        return handler, stream

    yield make
    for handler in made:
        handler.close()


def _through_logging(handler: logging.Handler, message: str, fields: dict) -> None:
    record = logging.LogRecord(logs.ACCESS_LOGGER, logging.INFO, "", 0, "%s", (message,), None)
    record.fields = fields
    handler.handle(record)


@pytest.mark.parametrize("json_lines", [False, True])
def test_the_direct_line_is_the_line_logging_would_write(handler_for, json_lines):
    fields = {"method": "GET", "route": "/x/{id}", "status": 200, "duration_ms": 1.25, "request_id": "abc\\x1b"}
    message = "GET /x/{id} 200 1.2ms id=abc\\x1b (not_ready: été)"
    direct, direct_out = handler_for(json_lines)
    direct.access(message, fields)
    direct.flush()
    logged, logged_out = handler_for(json_lines)
    _through_logging(logged, message, fields)
    logged.flush()

    [direct_line] = direct_out.getvalue().splitlines()
    [logged_line] = logged_out.getvalue().splitlines()
    if json_lines:
        direct_doc, logged_doc = json.loads(direct_line), json.loads(logged_line)
        for doc in (direct_doc, logged_doc):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", doc.pop("time"))
        assert direct_doc == logged_doc
        assert list(json.loads(direct_line)) == list(json.loads(logged_line))
    else:
        assert TEXT_STAMP.match(direct_line) and TEXT_STAMP.match(logged_line)
        assert TEXT_STAMP.sub("", direct_line) == TEXT_STAMP.sub("", logged_line)


def test_access_lines_wait_for_a_batch_and_other_lines_go_at_once_after_them(handler_for):
    handler, stream = handler_for(False)
    handler.access("GET / 200 0.1ms id=1", {})
    handler.access("GET / 200 0.1ms id=2", {})
    assert stream.getvalue() == ""  # waiting for their batch

    warning = logging.LogRecord("vault.server", logging.WARNING, "", 0, "the disk is full", (), None)
    handler.handle(warning)
    lines = stream.getvalue().splitlines()
    expected = ["GET / 200 0.1ms id=1", "GET / 200 0.1ms id=2", "the disk is full"]
    assert [line.split(": ", 1)[1] for line in lines] == expected

    handler.access("GET / 200 0.1ms id=3", {})
    handler.flush()
    assert stream.getvalue().splitlines()[-1].endswith("id=3")


def test_a_full_batch_is_written_at_once(handler_for):
    handler, stream = handler_for(False)
    for index in range(logs.ACCESS_BATCH_LINES):
        handler.access(f"GET / 200 0.1ms id={index}", {})
    assert len(stream.getvalue().splitlines()) == logs.ACCESS_BATCH_LINES


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("req-0123abcd", "req-0123abcd"),
        ("été 東京", "été 東京"),
        ("a\x1b[31mred", "a\\x1b[31mred"),
        ("line\nforged", "line\\x0aforged"),
        ("a\u2028b\x85c", "a\\x2028b\\x85c"),
        # Not printable, but not a control character either: kept as it is.
        ("zero\u200bwidth", "zero\u200bwidth"),
    ],
)
def test_escape_replaces_control_characters_only(value, shown):
    assert logs.escape(value) == shown
