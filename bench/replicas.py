"""Reads on a replica against reads on the primary, and the write outage of a failover.

    python bench/replicas.py [--rounds 3] [--seconds 5] [--messages 20000] [--failovers 3]

Makes a private primary and a streaming standby (initdb, pg_basebackup -R and
pg_ctl from `pg_config --bindir`, as the postgres user when run as root, on
free ports), then:

1. GET /storage/history?limit=50 through two instances at once, first with
   reads on the primary alone, then with VAULT_DATABASE_REPLICA_URLS naming
   the standby; the instances are pinned to core 0 and wrk to core 1, and
   both servers run unpinned, as in bench/postgres.py.
2. The failover's write outage: one instance whose URL names both servers
   writes in a loop; the primary is stopped (`pg_ctl -m immediate stop`) and
   the standby promoted at once; the outage is the time from the stop to the
   first write answered 201. A fresh pair is made for each failover.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
import wrk
from postgres import render
from run import load_history, sessions_on

HISTORY = "GET /storage/history?limit=50"


class Cluster:
    """One PostgreSQL server of the bench's own, in a temporary folder."""

    def __init__(self, root: Path, name: str) -> None:
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        self.bindir = Path(bindir)
        self.folder = root / name
        self.folder.mkdir()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = servers.free_port()
        self.data = self.folder / "data"
        self.host = f"127.0.0.1:{self.port}"
        self.dsn = f"postgresql://postgres@{self.host}/postgres"

    def run(self, tool: str, *args: str) -> None:
        command = [*self.as_user, str(self.bindir / tool), *args]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder)

    def create(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def standby_of(self, primary: Cluster) -> None:
        self.run(
            "pg_basebackup", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
            "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def promote(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "promote")


def make_pair(root: Path, tag: str) -> tuple[Cluster, Cluster]:
    primary, standby = Cluster(root, f"primary-{tag}"), Cluster(root, f"standby-{tag}")
    primary.create()
    primary.start()
    standby.standby_of(primary)
    standby.start()
    return primary, standby


def caught_up(primary: Cluster, standby: Cluster) -> None:
    target = psql(primary, "SELECT pg_current_wal_lsn()")
    while psql(standby, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") != "t":
        time.sleep(0.1)


def psql(cluster: Cluster, query: str) -> str:
    found = subprocess.run(["psql", cluster.dsn, "-Atqc", query], capture_output=True, text=True, check=True)
    return found.stdout.strip()


def throughput(work: Path, args) -> str:
    primary, standby = make_pair(work, "reads")
    started: list[servers.Server] = []
    try:
        log = work / "servers.log"
        base = {"VAULT_DATABASE_URL": primary.dsn, "VAULT_ARTIFACT_DIR": str(work / "artifacts")}
        with_replica = {**base, "VAULT_DATABASE_REPLICA_URLS": standby.dsn}
        columns: dict[str, list[servers.Server]] = {}
        for column, env in (("reads on the primary", base), ("reads on 1 replica", with_replica)):
            pair = [servers.vault(f"{column} {i}", args.server_core, work / "unused.db", log, **env) for i in (1, 2)]
            started.extend(pair)
            columns[column] = pair
        first = columns["reads on the primary"][0]
        big = sessions_on(first, 1)[0]
        asyncio.run(load_history(first.url, big, args.messages, "the big session"))
        caught_up(primary, standby)
        figures: dict[tuple[str, str], list[wrk.Result]] = {}
        path = f"/storage/history?session_id={big}&limit=50"
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number} of {args.rounds}", flush=True)
            for column, pair in columns.items():
                share = args.connections // len(pair)
                figures.setdefault((HISTORY, column), []).append(_both(pair, path, share, args))
        for server in columns["reads on 1 replica"][:1]:
            metrics = urllib_text(server.url + "/metrics")
            print("\n".join(line for line in metrics.splitlines() if line.startswith("vault_database_reads")))
        return render(figures, list(columns), args)
    finally:
        for server in started:
            server.stop()
        standby.stop()
        primary.stop()


def _both(pair: list[servers.Server], path: str, share: int, args) -> wrk.Result:
    """Both instances driven at once, half the connections each; their figures added."""
    with ThreadPoolExecutor(len(pair)) as pool:
        results = list(
            pool.map(
                lambda s: wrk.run(s.url + path, core=args.load_core, connections=share, seconds=args.seconds), pair
            )
        )
    return wrk.Result(
        sum(r.requests_per_second for r in results),
        max(r.p50_ms for r in results),
        max(r.p99_ms for r in results),
        sum(r.non_2xx for r in results),
    )


def urllib_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


async def outage(url: str, session_id: str, fail) -> float:
    """Write in a loop; call `fail` (stop and promote) once writes flow; seconds from it to the next 201."""
    body = {"session_id": session_id, "role": "user", "content": "failover"}
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for _ in range(50):
            async with http.post(f"{url}/storage/history", json=body) as response:
                assert response.status == 201, await response.text()
        stopped = time.monotonic()
        await asyncio.to_thread(fail)
        while True:
            async with http.post(f"{url}/storage/history", json=body) as response:
                await response.read()
                if response.status == 201:
                    return time.monotonic() - stopped
                assert response.status == 503, response.status
            await asyncio.sleep(0.01)


def failovers(work: Path, args) -> list[float]:
    outages = []
    for number in range(1, args.failovers + 1):
        primary, standby = make_pair(work, f"failover-{number}")
        server = None
        try:
            env = {
                "VAULT_DATABASE_URL": f"postgresql://postgres@{primary.host},{standby.host}/postgres",
                "VAULT_DATABASE_REPLICA_URLS": standby.dsn,
                "VAULT_ARTIFACT_DIR": str(work / "artifacts"),
            }
            log = work / "servers.log"
            server = servers.vault(f"failover {number}", args.server_core, work / "unused.db", log, **env)
            session = sessions_on(server, 1)[0]

            def fail(primary: Cluster = primary, standby: Cluster = standby) -> None:
                primary.stop("immediate")
                standby.promote()

            seconds = asyncio.run(outage(server.url, session, fail))
            print(f"failover {number}: first write accepted {seconds:.2f} s after the primary stopped", flush=True)
            outages.append(seconds)
        finally:
            if server is not None:
                server.stop()
            standby.stop()
            primary.stop("immediate")
    return outages


def main() -> None:
    parser = argparse.ArgumentParser(description="Reads on a replica against the primary; a failover's outage.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--failovers", type=int, default=3)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    args = parser.parse_args()
    wrk.ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="vault-bench-replicas-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(work, account.pw_uid, account.pw_gid)
    try:
        table = throughput(work, args)
        outages = failovers(work, args)
        print(table)
        print(
            f"\nfailover write outage (primary stopped with -m immediate, standby promoted at once):"
            f" median {statistics.median(outages):.2f} s of {len(outages)}"
            f" ({', '.join(f'{o:.2f}' for o in outages)})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
