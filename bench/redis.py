"""The cache and state on Redis beside the same in SQLite and in PostgreSQL, one instance and two, in one run.

    python bench/redis.py [--url postgresql://...] [--redis redis://127.0.0.1:6379/0] [--rounds 3]

Starts The Vault on SQLite, on SQLite with VAULT_CACHE_URL and VAULT_STATE_URL
pointing at Redis, on PostgreSQL (two instances) and on PostgreSQL with Redis
(two instances), each pinned to core 0, and drives them with wrk on core 1,
round after round so every column sees the same machine. Two instances are
driven at once, half the connections each, and their figures added. Redis
and PostgreSQL run unpinned: on a two-core machine they share both cores with
the rest, so the figures compare the homes under the same limits. Every key
the run writes to Redis is under a prefix of its own, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
import wrk
from postgres import drive, drop_database, render, scratch_database
from run import STATE_DOC, sessions_on

CACHE_KEYS = 1000


def workloads(work: Path, column: str, sessions: list[str]) -> dict[str, tuple[str, Path]]:
    """Each workload as (path, wrk script); the cache keys written by PUT are the ones GET reads."""
    name = column.replace(" ", "-").replace(",", "").replace("+", "plus")
    state_paths = [f"/storage/state/{s}" for s in sessions]
    cache_paths = [f"/storage/cache/k{i}" for i in range(CACHE_KEYS)]
    return {
        "GET /storage/cache/{key}": ("/", wrk.lua_script(work, f"{name}-cache-get", method="GET", paths=cache_paths)),
        "PUT /storage/cache/{key}": (
            "/",
            wrk.lua_script(
                work,
                f"{name}-cache-put",
                method="PUT",
                paths=cache_paths,
                bodies=[json.dumps({"value": {"result": 1, "note": "x" * 100}, "ttl": 3600})],
            ),
        ),
        "PUT /storage/state (2 KB)": (
            "/",
            wrk.lua_script(
                work, f"{name}-state-put", method="PUT", paths=state_paths, bodies=[json.dumps({"data": STATE_DOC})]
            ),
        ),
        "PATCH /storage/state (one key)": (
            "/",
            wrk.lua_script(
                work,
                f"{name}-state-patch",
                method="PATCH",
                paths=state_paths,
                bodies=[json.dumps({"data": {"step": n}}) for n in range(10)],
            ),
        ),
    }


def prepare(server: servers.Server) -> list[str]:
    sessions = sessions_on(server, 64)
    for index in range(CACHE_KEYS):
        servers.call("PUT", f"{server.url}/storage/cache/k{index}", {"value": {"result": index}})
    return sessions


def remove_prefix(redis_url: str, prefix: str) -> None:
    """Delete every key the run wrote (redis-cli, so the bench needs no client library of its own)."""
    keys = subprocess.run(
        ["redis-cli", "-u", redis_url, "--scan", "--pattern", f"{prefix}*"], capture_output=True, text=True
    ).stdout.split()
    for start in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "-u", redis_url, "DEL", *keys[start : start + 500]], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="The cache and state on Redis, SQLite and PostgreSQL.")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    args = parser.parse_args()
    wrk.ensure_wrk()
    prefix = f"vault-bench-{os.getpid()}:"
    on_redis = {"VAULT_CACHE_URL": args.redis, "VAULT_STATE_URL": args.redis, "VAULT_REDIS_PREFIX": prefix}
    database_url, name = scratch_database(args.url)
    started: list[servers.Server] = []
    try:
        with tempfile.TemporaryDirectory(prefix="vault-bench-redis-") as folder:
            work = Path(folder)
            log = work / "servers.log"

            def start(label: str, db: str, **env: str) -> servers.Server:
                server = servers.vault(label, args.server_core, work / db, log, **env)
                started.append(server)
                return server

            pg = {"VAULT_DATABASE_URL": database_url, "VAULT_ARTIFACT_DIR": str(work / "artifacts")}
            sqlite = start("sqlite", "vault.db")
            sqlite_redis = start("sqlite+redis", "vault-redis.db", **on_redis)
            pg_1, pg_2 = start("pg-1", "unused.db", **pg), start("pg-2", "unused.db", **pg)
            pg_redis_1 = start("pg+redis-1", "unused.db", **pg, **on_redis)
            pg_redis_2 = start("pg+redis-2", "unused.db", **pg, **on_redis)
            # The PostgreSQL instances share one database (and the Redis ones one Redis): sessions made
            # through the first serve both. With Redis, state and cache go to Redis, sessions to PostgreSQL.
            pg_sessions, pg_redis_sessions = prepare(pg_1), prepare(pg_redis_1)
            columns = {
                "SQLite": ([sqlite.url], prepare(sqlite)),
                "SQLite + Redis": ([sqlite_redis.url], prepare(sqlite_redis)),
                "PostgreSQL, 1": ([pg_1.url], pg_sessions),
                "PostgreSQL, 2": ([pg_1.url, pg_2.url], pg_sessions),
                "PostgreSQL + Redis, 1": ([pg_redis_1.url], pg_redis_sessions),
                "PostgreSQL + Redis, 2": ([pg_redis_1.url, pg_redis_2.url], pg_redis_sessions),
            }
            figures: dict[tuple[str, str], list[wrk.Result]] = {}
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number} of {args.rounds}", flush=True)
                for column, (urls, sessions) in columns.items():
                    for workload, (path, script) in workloads(work, column, sessions).items():
                        figures.setdefault((workload, column), []).append(drive(urls, path, script, args))
            print(render(figures, list(columns), args))
    finally:
        for server in started:
            server.stop()
        drop_database(args.url, name)
        remove_prefix(args.redis, prefix)


if __name__ == "__main__":
    main()
