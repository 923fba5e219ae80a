"""Where each request's CPU goes: a per-request budget for every workload of bench/run.py.

    python bench/budget.py [--seconds 8] [--messages 100000]

Starts `vault serve` (its defaults; LOG_LEVEL=warning) on a fresh database
pinned to core 0, loads a session, then drives each workload with wrk on core
1 while py-spy samples the server (all threads, on-CPU samples only). Each
sample is put in the first layer its stack shows, read from the innermost
frame outwards (LAYERS), and a layer's share of the samples times the CPU
each request cost (the server's CPU time over the requests served) is its
budget in microseconds. py-spy is in the `bench` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
import wrk
from run import CACHE_KEYS, MESSAGE_TEXT, STATE_DOC, load_history, sessions_on

# (layer, path fragments of the frames that belong to it), innermost first: a
# sample belongs to the first layer any of its frames names, from the leaf out.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "SQL (statements, commit)",
        (
            "store/sqlite/reads.py",
            "store/sqlite/writes.py",
            "store/sqlite/search.py",
            "store/sqlite/windows.py",
            "store/sqlite/idempotency.py",
            "_run_batch",
            "PageFill.read",
        ),
    ),
    ("zstd (pack, unpack)", ("store/core/packing.py",)),
    ("JSON (parse, encode)", ("vault/jsonutil.py", "json/", "bodies.py")),
    ("validation (cattrs)", ("cattrs/", "vault/converter.py", "<cattrs generated", "vault/inputs.py")),
    ("response writing", ("aiohttp/web_response.py", "aiohttp/http_writer.py", "_writelines")),
    (
        "middleware",
        (
            "vault/middleware.py",
            "vault/security.py",
            "vault/response_compression.py",
            "vault/request_decoding.py",
            "vault/read_positions.py",
            "aiohttp/web_middlewares.py",
            "vault/telemetry.py",
            "prometheus_client/",
            "vault/logs.py",
        ),
    ),
    (
        "hop to the store and back",
        (
            "aiosqlite/",
            "store/sqlite/writer.py",
            "store/sqlite/readers.py",
            "asyncio/queues.py",
            "threading.py",
            "store/sqlite/connection.py",
        ),
    ),
    ("event loop and sockets", ("vault/server.py", "asyncio/", "uvloop")),
    ("handler and store logic", ("handlers/", "store/", "vault/")),
    ("HTTP parsing and routing", ("aiohttp/",)),
]


def layer_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for layer, marks in LAYERS:
            if any(mark in frame for mark in marks):
                return layer
    return "other"


def profile(pid: int, seconds: int, out: Path) -> subprocess.Popen:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [
            "taskset",
            "-c",
            "1",
            spy,
            "record",
            "-p",
            str(pid),
            "-r",
            "250",
            "-d",
            str(seconds),
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def shares(raw: Path) -> dict[str, float]:
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            counts[layer_of(stack)] += int(count)
    total = sum(counts.values()) or 1
    return {layer: counts[layer] / total for layer in [name for name, _ in LAYERS] + ["other"]}


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-request CPU budgets of The Vault's workloads.")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    wrk.ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="vault-budget-") as folder:
        work = Path(folder)
        vault = servers.vault("vault", 0, work / "vault.db", work / "servers.log")
        try:
            table = measure(vault, work, args)
        finally:
            vault.stop()
    print(table)


def measure(vault: servers.Server, work: Path, args) -> str:
    sessions = sessions_on(vault, 64)
    big = sessions_on(vault, 1)[0]
    asyncio.run(load_history(vault.url, big, args.messages, "the big session"))
    for index in range(CACHE_KEYS):
        servers.call("PUT", f"{vault.url}/storage/cache/k{index}", {"value": {"result": index}})
    message = [json.dumps({"session_id": s, "role": "user", "content": MESSAGE_TEXT}) for s in sessions]
    workloads = {
        "GET /health": ("/health", None),
        "POST /storage/history": (
            "",
            wrk.lua_script(work, "b-post", method="POST", paths=["/storage/history"], bodies=message),
        ),
        "GET /storage/history?limit=50": (f"/storage/history?session_id={big}&limit=50", None),
        "PUT /storage/state": (
            "",
            wrk.lua_script(
                work,
                "b-put",
                method="PUT",
                paths=[f"/storage/state/{s}" for s in sessions],
                bodies=[json.dumps({"data": STATE_DOC})],
            ),
        ),
        "GET /storage/cache/{key}": (
            "",
            wrk.lua_script(work, "b-cache", method="GET", paths=[f"/storage/cache/k{i}" for i in range(CACHE_KEYS)]),
        ),
    }
    rows = []
    for name, (path, script) in workloads.items():
        raw = work / f"{len(rows)}.txt"
        spy = profile(vault.process.pid, args.seconds, raw)
        measured = wrk.measure(vault, vault.url + path, core=1, connections=64, seconds=args.seconds, script=script)
        spy.wait()
        rows.append((name, measured.result, measured.cpu_us, shares(raw)))
    layers = [name for name, _ in LAYERS] + ["other"]  # in the table, as in LAYERS
    lines = ["| layer | " + " | ".join(name for name, *_ in rows) + " |", "|---|" + "---:|" * len(rows)]
    for layer in layers:
        lines.append(f"| {layer} | " + " | ".join(f"{cpu * split[layer]:.0f}" for _, _, cpu, split in rows) + " |")
    lines.append("| **CPU per request, us** | " + " | ".join(f"**{cpu:.0f}**" for _, _, cpu, _ in rows) + " |")
    lines.append(
        "| requests/s | " + " | ".join(f"{result.requests_per_second:,.0f}" for _, result, _, _ in rows) + " |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
