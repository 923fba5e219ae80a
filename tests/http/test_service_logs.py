"""What the service logs: times, reasons for its own errors, requests cut short, library chatter."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest

from vault import logs
from vault.appkeys import STORE
from vault.logs import JsonFormatter

ISO_MILLIS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


def _access_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == logs.ACCESS_LOGGER]


# Rule: a JSON log line's time is ISO 8601 in UTC with milliseconds and the offset, as the API's times are.
def test_json_log_time_has_milliseconds_and_offset():
    record = logging.LogRecord("vault", logging.INFO, __file__, 1, "hello", (), None)
    record.created = 1_700_000_000.25
    line = json.loads(JsonFormatter().format(record))
    assert line["time"] == "2023-11-14T22:13:20.250+00:00"
    assert ISO_MILLIS_UTC.fullmatch(line["time"])


# Rule: APScheduler's INFO chatter (jobs added, each run) is shown only at LOG_LEVEL=debug.
@pytest.mark.parametrize(("level", "shown"), [("info", logging.WARNING), ("warning", logging.WARNING), ("debug", 0)])
def test_scheduler_logs_are_quiet_unless_debugging(level, shown):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(level, "text")
        scheduler = logging.getLogger("apscheduler.scheduler")
        assert scheduler.getEffectiveLevel() == (shown or logging.DEBUG)
        assert scheduler.isEnabledFor(logging.INFO) == (level == "debug")
    finally:
        root.handlers[:], level_before = saved
        root.setLevel(level_before)
        logging.getLogger("apscheduler").setLevel(logging.NOTSET)


# Rule: a 503 is logged with its reason, so the log says why the service refused.
async def test_a_503_is_logged_with_its_reason(client, caplog):
    caplog.set_level(logging.INFO, logger=logs.ACCESS_LOGGER)
    await client.app[STORE].close()
    response = await client.post("/storage/sessions", json={"agent_name": "a"})
    assert response.status == 503
    code = (await response.json())["error"]
    [line] = _access_lines(caplog)
    assert "503" in line.getMessage() and f"({code}: " in line.getMessage()
    assert line.fields["reason"].startswith(f"{code}: ")
    response = await client.get("/ready")
    assert response.status == 503
    assert "(not_ready: " in _access_lines(caplog)[-1].getMessage()


# Rule: a client error is not logged with a reason: the client has its answer, and its input stays out of the log.
async def test_a_4xx_has_no_reason_in_the_log(client, caplog):
    caplog.set_level(logging.INFO, logger=logs.ACCESS_LOGGER)
    response = await client.get("/storage/sessions/session_nope")
    assert response.status == 404
    [line] = _access_lines(caplog)
    assert "reason" not in line.fields and "(" not in line.getMessage()


# Rule: a client that goes away mid-upload is logged as gone (499), not as a server error, and leaves nothing behind.
# (The test server cancels the handler when its client goes away; `vault serve` lets its read fail instead.)
@pytest.mark.parametrize("server", ["test server", "vault serve"])
async def test_a_client_gone_mid_upload_is_not_a_server_error(client, served, caplog, tmp_path, server):
    caplog.set_level(logging.INFO)
    port = client.port if server == "test server" else served
    head = (
        b"POST /storage/artifacts HTTP/1.1\r\nHost: vault\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        b"Content-Length: 10000000\r\n\r\n--b\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'
    )
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + b"x" * 300_000)
    await writer.drain()
    await _wait_for(lambda: any(tmp_path.glob("artifacts/tmp/*")))  # the upload has begun
    writer.close()
    await _wait_for(lambda: _access_lines(caplog))
    [line] = _access_lines(caplog)
    assert line.fields["status"] == 499 and line.fields["reason"].startswith("client_gone")
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert not list(tmp_path.glob("artifacts/tmp/*"))
    listed = await client.get("/storage/artifacts")
    assert await listed.json() == []


async def _wait_for(condition) -> None:
    async with asyncio.timeout(30):
        while not condition():
            await asyncio.sleep(0.01)
