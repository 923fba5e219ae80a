"""What a request costs the server in instructions, counted by callgrind: steady where timings are not.

    python bench/instructions.py [--baseline /path/to/checkout] [--requests 100]
    python bench/instructions.py --under-load [--baseline /path/to/checkout] [--seconds 5]

On a shared machine the CPU time a request takes moves by a tenth or more
from one run to the next, so a change worth a few percent cannot be told from
noise in bench/versus.py without many rounds. The instructions it takes move
far less. Each build's `vault serve` runs under valgrind's callgrind on a
fresh database. After a warm-up, the counters are zeroed (callgrind_control
-z), requests are sent, and the counters are dumped (-d): the server's
instructions, all threads, over those requests; the least of three such
windows is kept.

By default the requests go one at a time, a fixed number of them: each
build's work for one request. `--under-load` sends them as bench/run.py does,
from wrk with 64 connections for a few seconds (wrk on core 1, the server on
core 0), and divides by the requests wrk completed: what a request costs
when a commit carries many writes and the loop wakes for many requests at
once. It counts bench/ceiling.py the same way, and its ratio (the ceiling's
instructions over The Vault's) is the counted form of bench/run.py's ratios.

Messages are counted once the service has trained its dictionary for them
(the job runs a minute after start-up), as on any database in use.

Instructions are not time (a cache miss costs more than an add, and the
kernel's work is not counted), so this compares work; rates and ratios to
the ceiling in time stay with bench/run.py and bench/versus.py. valgrind is
Debian's `valgrind` package.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
import wrk
from run import MESSAGE_TEXT, STATE_DOC, single_request_scripts

# Under callgrind the server runs some fifty times slower: start-up takes a while.
START_SECONDS = 300
# The job that trains dictionaries runs every minute; training takes a while under callgrind too.
DICTIONARY_SECONDS = 600
WARM_UP = 5
# Each workload is counted this many times over; the least count is kept (CountedServer.instructions).
WINDOWS = 3
BATCH_MESSAGES = 1000
# Under load: as bench/run.py drives the server.
CONNECTIONS = 64
SESSIONS = 64
CACHE_KEYS = 100


class CountedServer:
    """A server under callgrind (a bench/servers.py Server), with one keep-alive connection."""

    def __init__(self, work: Path, name: str, program: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.db_path = work / f"{name}.db"
        self.dumps = work / f"{name}.callgrind"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.dumps}", *program]
        # The service's defaults (SQLite, compression on, no keys), whatever this shell has set for it.
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("VAULT_") and key not in ("DATABASE_URL", "DB_PATH")
        }
        self.server = servers.Server(
            name,
            command,
            0,
            {"DB_PATH": str(self.db_path), **env},
            work / f"{name}.log",
            cwd=cwd,
            start_seconds=START_SECONDS,
            inherited=inherited,
        )
        self.http = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=600)

    @classmethod
    def vault(cls, checkout: Path, work: Path, name: str) -> CountedServer:
        """`vault serve` of a checkout."""
        python = checkout / ".venv" / "bin" / "python"
        # Run from the checkout, so `python -m vault` imports its code and not this one's.
        return cls(work, name, [str(python), "-m", "vault", "serve"], checkout, {})

    @classmethod
    def ceiling(cls, work: Path) -> CountedServer:
        """bench/ceiling.py, with this checkout's Python."""
        program = [sys.executable, str(servers.ROOT / "bench" / "ceiling.py"), "{port}"]
        return cls(work, "ceiling", program, servers.ROOT, {})

    def call(self, method: str, path: str, body: object | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        self.http.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = self.http.getresponse()
        payload = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return json.loads(payload or b"null")

    def instructions(self, requests: int, send: Callable[[int], None]) -> float:
        """Instructions the server spent per request on `requests` calls of `send(index)`: the least of WINDOWS.

        The service's jobs (a pass over the tables every few minutes, say) run
        by the clock, and one that falls inside a window adds to it; they
        never take away, so the least window is the requests' own work.
        """
        for index in range(WARM_UP):
            send(index)

        def window(first: int) -> int:
            for index in range(first, first + requests):
                send(index)
            return requests

        return min(self._counted(lambda n=n: window(WARM_UP + n * requests)) for n in range(WINDOWS))

    def under_load(self, path: str, script: Path | None, seconds: int) -> float:
        """Instructions the server spent per request under wrk (CONNECTIONS), the least of WINDOWS."""
        wrk.run(self.server.url + path, core=1, connections=CONNECTIONS, seconds=1, script=script)

        def window() -> int:
            result = wrk.run(self.server.url + path, core=1, connections=CONNECTIONS, seconds=seconds, script=script)
            if result.non_2xx or not result.requests:
                raise RuntimeError(f"{path or script}: {result.non_2xx} answers not 2xx of {result.requests}")
            return result.requests

        return min(self._counted(window) for _ in range(WINDOWS))

    def _counted(self, send: Callable[[], int]) -> float:
        """Instructions per request over one window: counters zeroed, `send()` (which says how many
        requests it made), counters dumped."""
        self._control("-z")
        requests = send()
        before = set(self.dumps.parent.glob(f"{self.dumps.name}.*"))
        self._control("-d")
        return _total(self._new_dump(before)) / requests

    def _control(self, option: str) -> None:
        # valgrind names its control pipes after $HOST, which this script sets for the server's
        # address: callgrind_control needs the same. When it cannot reach the server it still
        # answers "OK" and exits 0, with the error on stderr.
        command = ["callgrind_control", option, str(self.server.process.pid)]
        done = subprocess.run(command, env=self.server.env, check=True, capture_output=True, text=True)
        if "error" in done.stderr.lower() or "error" in done.stdout.lower():
            raise RuntimeError(f"callgrind_control {option} failed: {done.stderr or done.stdout}")

    def _new_dump(self, before: set[Path]) -> Path:
        """The dump callgrind_control asked for, once callgrind has written it whole (its last line, totals)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            made = set(self.dumps.parent.glob(f"{self.dumps.name}.*")) - before
            if made:
                (dump,) = made
                if "\ntotals:" in dump.read_text():
                    return dump
            time.sleep(0.5)
        raise RuntimeError("callgrind wrote no dump")

    def wait_for_dictionary(self, kind: str) -> None:
        """Until the server's job has trained a dictionary for `kind` (it runs a minute after start-up)."""
        deadline = time.monotonic() + DICTIONARY_SECONDS
        while time.monotonic() < deadline:
            with contextlib.closing(sqlite3.connect(f"{self.db_path.as_uri()}?mode=ro", uri=True)) as db:
                if db.execute("SELECT 1 FROM compression_dictionaries WHERE kind = ?", (kind,)).fetchone():
                    return
            time.sleep(2)
        raise RuntimeError(f"no {kind} dictionary was trained")

    def stop(self) -> None:
        self.http.close()
        self.server.stop()


def _total(dump: Path) -> int:
    """The dump's `summary:`, callgrind's own count of what ran since the counters were zeroed.

    `totals:` (the sum of the cost lines written) was up to 1.3% higher than it
    in a first window after zeroing, and the same afterwards: summary is the
    one kept, in every window alike.
    """
    for line in dump.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary in {dump}")


def measure(server: CountedServer, requests: int) -> dict[str, float]:
    """Instructions a request for each workload, on one server."""
    session = server.call("POST", "/storage/sessions", {"agent_name": "instructions"})["id"]
    message = {"session_id": session, "role": "user", "content": MESSAGE_TEXT}
    batch = {"session_id": session, "messages": [{"role": "user", "content": MESSAGE_TEXT}] * BATCH_MESSAGES}
    for index in range(100):
        server.call("PUT", f"/storage/cache/k{index}", {"value": {"result": index}})
    # Messages are packed with a dictionary once the service has one, as on any database in use
    # for more than a minute: the thousand messages it needs, then the job's next run.
    for _ in range(2):
        server.call("POST", "/storage/history/batch", batch)
    server.wait_for_dictionary("messages")
    return {
        "POST /storage/history": server.instructions(
            requests, lambda _: server.call("POST", "/storage/history", message)
        ),
        f"POST /storage/history/batch, per message ({BATCH_MESSAGES:,} a request)": server.instructions(
            max(requests // 20, 2), lambda _: server.call("POST", "/storage/history/batch", batch)
        )
        / BATCH_MESSAGES,
        "GET /storage/cache/{key}": server.instructions(
            requests, lambda index: server.call("GET", f"/storage/cache/k{index % 100}")
        ),
        "PUT /storage/state": server.instructions(
            requests, lambda _: server.call("PUT", f"/storage/state/{session}", {"data": STATE_DOC})
        ),
    }


LOADED_WORKLOADS = (
    "POST /storage/history",
    "GET /storage/history?limit=50",
    "PUT /storage/state",
    "PATCH /storage/state",
    "GET /storage/cache/{key}",
    "PUT /storage/cache/{key}",
)


def measure_under_load(server: CountedServer, work: Path, seconds: int) -> dict[str, float]:
    """Instructions a request for each of bench/run.py's single-request workloads, under wrk."""
    sessions = [server.call("POST", "/storage/sessions", {"agent_name": f"load{i}"})["id"] for i in range(SESSIONS)]
    window = server.call("POST", "/storage/sessions", {"agent_name": "window"})["id"]
    batch = {"session_id": window, "messages": [{"role": "user", "content": MESSAGE_TEXT}] * BATCH_MESSAGES}
    for _ in range(2):
        server.call("POST", "/storage/history/batch", batch)
    for index in range(CACHE_KEYS):
        server.call("PUT", f"/storage/cache/k{index}", {"value": {"result": index}})
    server.wait_for_dictionary("messages")
    scripts = single_request_scripts(work, sessions, CACHE_KEYS)
    return dict(
        zip(
            LOADED_WORKLOADS,
            (
                server.under_load("", scripts["post"], seconds),
                server.under_load(f"/storage/history?session_id={window}&limit=50", None, seconds),
                server.under_load("", scripts["put-state"], seconds),
                server.under_load("", scripts["patch-state"], seconds),
                server.under_load("", scripts["get-cache"], seconds),
                server.under_load("", scripts["put-cache"], seconds),
            ),
            strict=True,
        )
    )


def ceiling_under_load(ceiling: CountedServer, work: Path, seconds: int) -> dict[str, float]:
    """The ceiling's instructions a request, for each workload as bench/run.py pairs them."""
    scripts = single_request_scripts(work, [f"session_{i:026d}" for i in range(SESSIONS)], CACHE_KEYS)
    post = ceiling.under_load("", scripts["post"], seconds)
    return dict(
        zip(
            LOADED_WORKLOADS,
            (
                post,
                ceiling.under_load("/list", None, seconds),
                post,  # bench/run.py sets state writes beside the POST ceiling
                post,
                ceiling.under_load("/small", None, seconds),
                ceiling.under_load("", scripts["put-state"], seconds),
            ),
            strict=True,
        )
    )


def main_under_load(builds: dict[str, Path], seconds: int) -> None:
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vault-bench-instructions-") as folder:
        print("counting the ceiling (bench/ceiling.py)", flush=True)
        ceiling = CountedServer.ceiling(Path(folder))
        try:
            figures["ceiling"] = ceiling_under_load(ceiling, Path(folder), seconds)
        finally:
            ceiling.stop()
        for name, checkout in builds.items():
            print(f"counting {name} ({checkout})", flush=True)
            server = CountedServer.vault(checkout, Path(folder), name)
            try:
                figures[name] = measure_under_load(server, Path(folder), seconds)
            finally:
                server.stop()
    print(render_under_load(figures, seconds))


def render_under_load(figures: dict[str, dict[str, float]], seconds: int) -> str:
    builds = [name for name in figures if name != "ceiling"]
    header = "| workload | ceiling | " + " | ".join(builds) + " | ceiling / this |"
    if "baseline" in builds:
        header += " ceiling / baseline | baseline / this |"
    lines = [header, "|---|" + "---:|" * (header.count("|") - 2)]
    for workload in LOADED_WORKLOADS:
        ceiling, this = figures["ceiling"][workload], figures["this"][workload]
        row = f"| {workload} | {ceiling:,.0f} | " + " | ".join(f"{figures[b][workload]:,.0f}" for b in builds)
        row += f" | {ceiling / this:.3f} |"
        if "baseline" in builds:
            baseline = figures["baseline"][workload]
            row += f" {ceiling / baseline:.3f} | {baseline / this:.3f} |"
        lines.append(row)
    lines.append(
        f"\ninstructions a request under wrk ({CONNECTIONS} connections, {seconds} s), the least of {WINDOWS} windows;"
        " state writes are set beside the ceiling's POST, as bench/run.py sets them"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of The Vault with its own .venv")
    parser.add_argument("--requests", type=int, default=100, help="requests counted per workload")
    parser.add_argument("--under-load", action="store_true", help="under wrk, beside the ceiling")
    parser.add_argument("--seconds", type=int, default=5, help="length of each window under load")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed: apt-get install valgrind")
    builds = {"this": servers.ROOT}
    if args.baseline is not None:
        builds = {"baseline": args.baseline.resolve(), **builds}
    if args.under_load:
        main_under_load(builds, args.seconds)
        return
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vault-bench-instructions-") as folder:
        for name, checkout in builds.items():
            print(f"counting {name} ({checkout})", flush=True)
            server = CountedServer.vault(checkout, Path(folder), name)
            try:
                figures[name] = measure(server, args.requests)
            finally:
                server.stop()
    print(render(figures, args.requests))


def render(figures: dict[str, dict[str, float]], requests: int) -> str:
    names = list(figures)
    header = "| workload | " + " | ".join(f"{name}: instructions" for name in names)
    header += " | baseline / this |" if len(names) == 2 else " |"
    lines = [header, "|---|" + "---:|" * (len(names) + (len(names) == 2))]
    for workload in figures[names[-1]]:
        counts = [figures[name][workload] for name in names]
        row = f"| {workload} | " + " | ".join(f"{count:,.0f}" for count in counts)
        row += f" | {counts[0] / counts[1]:.3f} |" if len(counts) == 2 else " |"
        lines.append(row)
    lines.append(
        f"\nthe least of {WINDOWS} windows of {requests} requests a workload ({max(requests // 20, 2)} batches),"
        " one at a time, after a warm-up"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
