"""SQLite beside PostgreSQL (one and two instances), in the same run.

    python bench/postgres.py [--url postgresql://postgres@127.0.0.1:5432/postgres] [--rounds 3]

Creates a scratch database on the PostgreSQL server, starts The Vault on
SQLite and twice on that database, each pinned to core 0, and drives them
with wrk on core 1. Two instances are driven at once, half the connections
each, and their figures added. PostgreSQL's own processes run unpinned, so
on a two-core machine they share both cores with the rest: the figures
compare the backends under the same limits, not what a bigger machine gives.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
import wrk
from run import MESSAGE_TEXT, STATE_DOC, load_history, sessions_on

CACHE_KEYS = 1000


def scratch_database(url: str, suffix: str = "") -> tuple[str, str]:
    """Create an empty database beside the given one; return its URL and name."""
    name = f"vault_bench_{os.getpid()}{suffix}"
    subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {name}"], check=True)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(url: str, name: str) -> None:
    subprocess.run(["psql", url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


def workloads(work: Path, sessions: list[str], big: str) -> dict[str, tuple[str, Path | None]]:
    """Each workload as (path, wrk script)."""
    message = [json.dumps({"session_id": s, "role": "user", "content": MESSAGE_TEXT}) for s in sessions]
    return {
        "POST /storage/history": (
            "/storage/history",
            wrk.lua_script(work, f"pg-post-{big}", method="POST", paths=["/storage/history"], bodies=message),
        ),
        "GET /storage/history?limit=50": (f"/storage/history?session_id={big}&limit=50", None),
        "PUT /storage/state (2 KB)": (
            "/",
            wrk.lua_script(
                work,
                f"pg-state-{big}",
                method="PUT",
                paths=[f"/storage/state/{s}" for s in sessions],
                bodies=[json.dumps({"data": STATE_DOC})],
            ),
        ),
        "GET /storage/cache/{key}": (
            "/",
            wrk.lua_script(
                work, f"pg-cache-{big}", method="GET", paths=[f"/storage/cache/k{i}" for i in range(CACHE_KEYS)]
            ),
        ),
    }


def prepare(server: servers.Server, messages: int) -> tuple[list[str], str]:
    sessions = sessions_on(server, 64)
    big = sessions_on(server, 1)[0]
    asyncio.run(load_history(server.url, big, messages, f"{server.name}'s big session"))
    for index in range(CACHE_KEYS):
        servers.call("PUT", f"{server.url}/storage/cache/k{index}", {"value": {"result": index}})
    return sessions, big


def drive(urls: list[str], path: str, script: Path | None, args) -> wrk.Result:
    """Drive one or more instances at once, splitting the connections; add up the figures."""
    share = args.connections // len(urls)
    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(
            pool.map(
                lambda url: wrk.run(
                    url + path, core=args.load_core, connections=share, seconds=args.seconds, script=script
                ),
                urls,
            )
        )
    return wrk.Result(
        sum(r.requests_per_second for r in results),
        max(r.p50_ms for r in results),
        max(r.p99_ms for r in results),
        sum(r.non_2xx for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="SQLite beside PostgreSQL, one and two instances.")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument(
        "--vault-checkout", type=Path, help="measure another checkout's Vault (with its own .venv), e.g. an earlier one"
    )
    args = parser.parse_args()
    wrk.ensure_wrk()
    database_url, name = scratch_database(args.url)
    started: list[servers.Server] = []
    try:
        with tempfile.TemporaryDirectory(prefix="vault-bench-pg-") as folder:
            work = Path(folder)
            log = work / "servers.log"
            core = args.server_core
            sqlite = servers.vault("sqlite", core, work / "vault.db", log, args.vault_checkout)
            started.append(sqlite)
            pg_env = {"VAULT_DATABASE_URL": database_url, "VAULT_ARTIFACT_DIR": str(work / "artifacts")}
            first = servers.vault("postgres-1", core, work / "unused.db", log, args.vault_checkout, **pg_env)
            started.append(first)
            second = servers.vault("postgres-2", core, work / "unused.db", log, args.vault_checkout, **pg_env)
            started.append(second)
            sqlite_setup = prepare(sqlite, args.messages)
            pg_setup = prepare(first, args.messages)
            columns = {
                "SQLite": ([sqlite.url], sqlite_setup),
                "PostgreSQL, 1 instance": ([first.url], pg_setup),
                "PostgreSQL, 2 instances": ([first.url, second.url], pg_setup),
            }
            figures: dict[tuple[str, str], list[wrk.Result]] = {}
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number} of {args.rounds}", flush=True)
                for column, (urls, (sessions, big)) in columns.items():
                    for workload, (path, script) in workloads(work, sessions, big).items():
                        figures.setdefault((workload, column), []).append(drive(urls, path, script, args))
            print(render(figures, list(columns), args))
    finally:
        for server in started:
            server.stop()
        drop_database(args.url, name)


def render(figures: dict[tuple[str, str], list[wrk.Result]], columns: list[str], args) -> str:
    lines = [
        "",
        "| workload | " + " | ".join(f"{c} req/s (p99 ms)" for c in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for workload in dict.fromkeys(w for w, _ in figures):
        cells = []
        for column in columns:
            results = figures[(workload, column)]
            rps = statistics.median(r.requests_per_second for r in results)
            p99 = statistics.median(r.p99_ms for r in results)
            errors = sum(r.non_2xx for r in results)
            cells.append(f"{rps:,.0f} ({p99:.0f})" + (f" [{errors} non-2xx]" if errors else ""))
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    lines.append("")
    note = f"medians of {args.rounds} rounds x {args.seconds} s, {args.connections} connections in all"
    if getattr(args, "messages", 0):
        note += f"; history windows read from a {args.messages:,}-message session"
    lines.append(note)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
