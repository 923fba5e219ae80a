"""What a request costs the server in instructions, counted by callgrind: steady where timings are not.

    python bench/instructions.py [--baseline /path/to/checkout] [--requests 100]

On a shared machine the CPU time a request takes moves by a tenth or more
from one run to the next, so a change worth a few percent cannot be told from
noise in bench/versus.py without many rounds. The instructions it takes move
far less. Each build's `vault serve` runs under valgrind's callgrind on a
fresh database. After a warm-up, the counters are zeroed (callgrind_control
-z), a fixed number of requests is sent one at a time, and the counters are
dumped (-d): the server's instructions, all threads, over those requests;
the least of three such windows is kept.

Messages are counted once the service has trained its dictionary for them
(the job runs a minute after start-up), as on any database in use.

Instructions are not time (a cache miss costs more than an add), and one
request at a time is not 64 in flight (each commit carries one write), so
this compares two builds' work; rates and ratios to the ceiling stay with
bench/run.py and bench/versus.py. valgrind is Debian's `valgrind` package.
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
from run import MESSAGE_TEXT, STATE_DOC

# Under callgrind the server runs some fifty times slower: start-up takes a while.
START_SECONDS = 300
# The job that trains dictionaries runs every minute; training takes a while under callgrind too.
DICTIONARY_SECONDS = 600
WARM_UP = 5
# Each workload is counted this many times over; the least count is kept (CountedServer.instructions).
WINDOWS = 3
BATCH_MESSAGES = 1000


class CountedServer:
    """`vault serve` of a checkout under callgrind (a bench/servers.py Server), with one keep-alive connection."""

    def __init__(self, checkout: Path, work: Path, name: str) -> None:
        self.db_path = work / f"{name}.db"
        self.dumps = work / f"{name}.callgrind"
        python = checkout / ".venv" / "bin" / "python"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.dumps}", str(python), "-m", "vault"]
        # The service's defaults (SQLite, compression on, no keys), whatever this shell has set for it.
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("VAULT_") and key not in ("DATABASE_URL", "DB_PATH")
        }
        # Run from the checkout, so `python -m vault` imports its code and not this one's.
        self.server = servers.Server(
            name,
            [*command, "serve"],
            0,
            {"DB_PATH": str(self.db_path)},
            work / f"{name}.log",
            cwd=checkout,
            start_seconds=START_SECONDS,
            inherited=inherited,
        )
        self.http = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=600)

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
        counts = []
        for window in range(WINDOWS):
            self._control("-z")
            for index in range(requests):
                send(WARM_UP + window * requests + index)
            before = set(self.dumps.parent.glob(f"{self.dumps.name}.*"))
            self._control("-d")
            counts.append(_total(self._new_dump(before)) / requests)
        return min(counts)

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of The Vault with its own .venv")
    parser.add_argument("--requests", type=int, default=100, help="requests counted per workload")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed: apt-get install valgrind")
    builds = {"this": servers.ROOT}
    if args.baseline is not None:
        builds = {"baseline": args.baseline.resolve(), **builds}
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vault-bench-instructions-") as folder:
        for name, checkout in builds.items():
            print(f"counting {name} ({checkout})", flush=True)
            server = CountedServer(checkout, Path(folder), name)
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
