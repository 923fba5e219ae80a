"""`vault serve` start and stop, as an operator reads them in the log."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sqlite3
import subprocess
import sys

import pytest

from vault import collector

pytestmark = pytest.mark.slow


def _log(vault) -> str:
    return vault.log_path.read_text()


# Rule: "listening" is logged once the port is bound, and the stop is logged with its duration.
async def test_start_and_stop_are_logged_in_order(vault_process):
    vault = vault_process()
    await vault.start()
    assert "listening on 127.0.0.1:" in _log(vault)
    assert vault.terminate() == 0
    lines = _log(vault).splitlines()
    listening = next(i for i, line in enumerate(lines) if "listening on" in line)
    stopping = next(i for i, line in enumerate(lines) if "stopping: finishing requests in flight" in line)
    stopped = next(i for i, line in enumerate(lines) if " stopped in " in line)
    assert listening < stopping < stopped
    # APScheduler's own INFO lines (each job added, the start) stay out at the default level.
    assert "apscheduler" not in _log(vault)


# Rule: the served process collects garbage rarely and without startup's objects (vault.collector), and says so.
async def test_the_collector_is_set_for_serving_before_listening(vault_process):
    vault = vault_process()
    await vault.start()
    lines = _log(vault).splitlines()
    assert vault.terminate() == 0
    tuned = next(i for i, line in enumerate(lines) if "garbage collector: young collections every" in line)
    listening = next(i for i, line in enumerate(lines) if "listening on" in line)
    assert tuned < listening
    match = re.search(r"every (\d+) allocations; (\d+) objects of startup frozen", lines[tuned])
    assert match is not None, lines[tuned]
    assert int(match[1]) == collector.YOUNG_THRESHOLD
    # The modules, the app and its routes at least: tens of thousands of objects.
    assert int(match[2]) > 10_000


# Rule: a port that cannot be bound is one clear line and a non-zero exit, with no "listening" before it.
def test_a_failed_bind_is_one_line_and_a_failure(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"HOST": "127.0.0.1", "PORT": str(port), "DB_PATH": str(tmp_path / "vault.db"), "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            [sys.executable, "-m", "vault", "serve"], env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode != 0
    output = (done.stdout + done.stderr).strip().splitlines()
    assert output == [f"vault: cannot listen on 127.0.0.1:{port}: Address already in use"], output


# Rule: an upload cut off by the stop is logged as cut short by the stop (not a 500), and leaves nothing behind.
async def test_an_upload_cut_off_by_sigterm_is_not_a_server_error(vault_process, tmp_path):
    vault = vault_process(VAULT_SHUTDOWN_TIMEOUT="1")
    await vault.start()
    head = (
        b"POST /storage/artifacts HTTP/1.1\r\nHost: vault\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        b"Content-Length: 10000000\r\n\r\n--b\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", vault.port)
    writer.write(head + b"x" * 300_000)
    await writer.drain()
    async with asyncio.timeout(30):
        while not any((tmp_path / "artifacts" / "tmp").glob("*")):
            await asyncio.sleep(0.01)  # the upload has begun
    vault.process.send_signal(signal.SIGTERM)
    # A second signal while stopping is noted, and does not cut the stop short.
    async with asyncio.timeout(30):
        while "stopping:" not in _log(vault):
            await asyncio.sleep(0.01)
    vault.process.send_signal(signal.SIGTERM)
    assert await reader.read() == b""  # the connection is closed without an answer
    writer.close()
    assert vault.process.wait(timeout=60) == 0
    log = _log(vault)
    assert "POST /storage/artifacts 499" in log and "shutting_down: the service stopped" in log
    assert " 500 " not in log and "ERROR" not in log and "Traceback" not in log
    assert "already stopping" in log and " stopped in " in log
    assert not list((tmp_path / "artifacts" / "tmp").glob("*"))
    with sqlite3.connect(vault.db_path) as db:
        assert db.execute("SELECT count(*) FROM artifacts").fetchone() == (0,)
