"""The Vault's benchmark: the real server, wrk, and baselines measured beside it.

    python bench/run.py [--rounds 3] [--seconds 5] [--messages 1000000] [--log-level warning]

Starts `vault serve` on a temporary database, a bare aiohttp app (the
ceiling: parses the same JSON, stores nothing) and The Vault with group
commit off (the naive baseline), each pinned to core 0, and drives them one
at a time with wrk (64 connections; 4 for batch appends) pinned to core 1. Every figure is the
median over the rounds; every ratio is taken within a round, against the
baseline measured right beside it, then the median ratio is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from attrs import define, field

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
import wrk

SESSIONS = 64
# Batch appends are measured for throughput with a few uploads in flight, as a
# loader sends them: 64 bodies of 1,000 messages each in flight would take the
# server several seconds per round of answers (64 x 1,000 messages queued), so a
# run of a few seconds would end before most of them are answered.
BATCH_CONNECTIONS = 4
CACHE_KEYS = 1000
MESSAGE_TEXT = "x" * 250  # with its JSON envelope, a 300-byte request body
STATE_DOC = {"memory": [f"fact number {i} about the task at hand" for i in range(40)], "context": "y" * 300}


@define
class Row:
    name: str
    target: str
    vault: list[wrk.Result] = field(factory=list)
    baseline: list[wrk.Result] = field(factory=list)
    ratios: list[float] = field(factory=list)
    # Baseline CPU per request over The Vault's: the throughput ratio a quiet core would give.
    cpu_ratios: list[float] = field(factory=list)
    vault_cpu_us: list[float] = field(factory=list)

    def add(self, vault_run: wrk.Measured, baseline_run: wrk.Measured | None) -> None:
        self.vault.append(vault_run.result)
        self.vault_cpu_us.append(vault_run.cpu_us)
        if baseline_run is not None:
            self.baseline.append(baseline_run.result)
            self.ratios.append(vault_run.result.requests_per_second / baseline_run.result.requests_per_second)
            self.cpu_ratios.append(baseline_run.cpu_us / vault_run.cpu_us)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def load_history(url: str, session_id: str, count: int, label: str) -> None:
    """Append `count` messages through the batch endpoint, 1,000 a request, 4 requests at a time."""
    batch = {"session_id": session_id, "messages": [{"role": "user", "content": MESSAGE_TEXT}] * 1000}
    body = json.dumps(batch).encode()
    requests = count // 1000
    done = 0
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:

        async def worker(share: int) -> None:
            nonlocal done
            for _ in range(share):
                async with http.post(
                    f"{url}/storage/history/batch", data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    assert response.status == 201, await response.text()
                done += 1
                if done % 100 == 0:
                    rate = done * 1000 / (time.monotonic() - started)
                    print(f"\r  loading {label}: {done * 1000:,} / {count:,} ({rate:,.0f} msg/s)", end="", flush=True)

        await asyncio.gather(*(worker(requests // 4 + (1 if i < requests % 4 else 0)) for i in range(4)))
    print()


def sessions_on(server: servers.Server, count: int) -> list[str]:
    return [
        servers.call("POST", f"{server.url}/storage/sessions", {"agent_name": f"bench{i}"})["id"] for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark The Vault against baselines measured in the same run.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=1_000_000, help="size of the big session")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument(
        "--vault-checkout",
        type=Path,
        help="measure The Vault of another checkout (with its own .venv), e.g. an earlier commit, against the same"
        " baselines",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        help="The Vault's LOG_LEVEL: warning (no line per request, the default here) or info (the service's"
        " default: an access line per request)",
    )
    args = parser.parse_args()
    wrk.ensure_wrk()

    with tempfile.TemporaryDirectory(prefix="vault-bench-") as folder:
        work = Path(folder)
        log = work / "servers.log"
        core = args.server_core
        print(f"starting the servers (each pinned to core {core}; wrk on core {args.load_core})")
        level = args.log_level
        vault = servers.vault("vault", core, work / "vault.db", log, args.vault_checkout, LOG_LEVEL=level)
        naive = servers.vault(
            "naive", core, work / "naive.db", log, args.vault_checkout, VAULT_WRITE_BATCH_MAX="1", LOG_LEVEL=level
        )
        ceiling = servers.ceiling(core, log)
        try:
            report = measure(args, work, vault, naive, ceiling)
        finally:
            for server in (vault, naive, ceiling):
                server.stop()
    print(report)


def _message_body(session_id: str) -> str:
    return json.dumps({"session_id": session_id, "role": "user", "content": MESSAGE_TEXT})


def single_request_scripts(work: Path, sessions: list[str], cache_keys: int) -> dict[str, Path]:
    """wrk scripts of the single-request workloads: appends and state writes across `sessions`,
    cache reads and writes across keys k0..k{cache_keys - 1}."""
    state_paths = [f"/storage/state/{s}" for s in sessions]
    cache_paths = [f"/storage/cache/k{i}" for i in range(cache_keys)]
    return {
        "post": wrk.lua_script(
            work, "post", method="POST", paths=["/storage/history"], bodies=[_message_body(s) for s in sessions]
        ),
        "put-state": wrk.lua_script(
            work, "put-state", method="PUT", paths=state_paths, bodies=[json.dumps({"data": STATE_DOC})]
        ),
        "patch-state": wrk.lua_script(
            work,
            "patch-state",
            method="PATCH",
            paths=state_paths,
            bodies=[json.dumps({"data": {"context": f"step {i}", "counter": i}}) for i in range(16)],
        ),
        "get-cache": wrk.lua_script(work, "get-cache", method="GET", paths=cache_paths),
        "put-cache": wrk.lua_script(
            work,
            "put-cache",
            method="PUT",
            paths=cache_paths,
            bodies=[json.dumps({"value": {"result": "cached data", "n": i}, "ttl": 3600}) for i in range(16)],
        ),
    }


def measure(args, work: Path, vault: servers.Server, naive: servers.Server, ceiling: servers.Server) -> str:
    def run(server: servers.Server, path: str, script: Path | None = None, connections: int = 0) -> wrk.Measured:
        return wrk.measure(
            server,
            server.url + path,
            core=args.load_core,
            connections=connections or args.connections,
            seconds=args.seconds,
            script=script,
        )

    vault_sessions = sessions_on(vault, SESSIONS)
    naive_sessions = sessions_on(naive, SESSIONS)
    big = sessions_on(vault, 1)[0]
    mid = sessions_on(vault, 1)[0]
    asyncio.run(load_history(vault.url, big, args.messages, "the big session"))
    asyncio.run(load_history(vault.url, mid, 10_000, "the 10,000-message session"))
    rss_after_load = vault.peak_rss_mib()
    for index in range(CACHE_KEYS):
        servers.call("PUT", f"{vault.url}/storage/cache/k{index}", {"value": {"result": index}})

    scripts = single_request_scripts(work, vault_sessions, CACHE_KEYS)
    scripts["post-naive"] = wrk.lua_script(
        work,
        "post-naive",
        method="POST",
        paths=["/storage/history"],
        bodies=[_message_body(s) for s in naive_sessions],
    )
    scripts["batch"] = wrk.lua_script(
        work,
        "batch",
        method="POST",
        paths=["/storage/history/batch"],
        bodies=[
            json.dumps({"session_id": s, "messages": [{"role": "user", "content": MESSAGE_TEXT}] * 1000})
            for s in vault_sessions[:8]
        ],
    )
    state_doc_bytes = len(json.dumps({"data": STATE_DOC}))

    rows = {
        "post": Row("POST /storage/history (300 B, 64 sessions) vs ceiling", ">= 0.60"),
        "naive": Row("POST /storage/history vs naive (group commit off)", ">= 2.0"),
        "get": Row(f"GET /storage/history?limit=50 ({args.messages:,}-message session) vs ceiling", ">= 0.70"),
        "batch": Row(
            f"POST /storage/history/batch (1,000 messages, {BATCH_CONNECTIONS} connections): messages/s", ">= 50,000"
        ),
        "put-state": Row(f"PUT /storage/state ({state_doc_bytes:,} B document) vs POST ceiling", ">= 0.60"),
        "patch-state": Row("PATCH /storage/state (merge patch) vs POST ceiling", ">= 0.60"),
        "get-cache": Row("GET /storage/cache/{key} vs GET ceiling (small object)", ">= 0.70"),
        "put-cache": Row("PUT /storage/cache/{key} vs PUT ceiling", ">= 0.60"),
        "depth": Row(f"newest 50: 10,000-message session / {args.messages:,}-message session, time", "<= 1.3"),
    }
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number} of {args.rounds}", flush=True)
        post_ceiling = run(ceiling, "/storage/history", scripts["post"])
        post = run(vault, "", scripts["post"])
        rows["post"].add(post, post_ceiling)
        rows["naive"].add(post, run(naive, "", scripts["post-naive"]))
        rows["get"].add(run(vault, f"/storage/history?session_id={big}&limit=50"), run(ceiling, "/list"))
        batch = run(vault, "", scripts["batch"], BATCH_CONNECTIONS)
        per_message = wrk.Result(
            batch.result.requests_per_second * 1000, batch.result.p50_ms, batch.result.p99_ms, batch.result.non_2xx
        )
        rows["batch"].add(wrk.Measured(per_message, batch.cpu_us / 1000), None)
        put_ceiling = run(ceiling, "/x", scripts["put-state"])
        rows["put-state"].add(run(vault, "", scripts["put-state"]), post_ceiling)
        rows["patch-state"].add(run(vault, "", scripts["patch-state"]), post_ceiling)
        rows["get-cache"].add(run(vault, "", scripts["get-cache"]), run(ceiling, "/small"))
        rows["put-cache"].add(run(vault, "", scripts["put-cache"]), put_ceiling)
        deep = run(vault, f"/storage/history?session_id={big}&limit=50")
        shallow = run(vault, f"/storage/history?session_id={mid}&limit=50")
        # A time ratio: the big session's time per request over the small one's.
        rows["depth"].vault.append(deep.result)
        rows["depth"].vault_cpu_us.append(deep.cpu_us)
        rows["depth"].ratios.append(shallow.result.requests_per_second / deep.result.requests_per_second)
        rows["depth"].cpu_ratios.append(deep.cpu_us / shallow.cpu_us)
    return render(rows, rss_after_load, args)


def render(rows: dict[str, Row], rss_after_load: float, args) -> str:
    lines = [
        "",
        "| workload | The Vault req/s | baseline req/s | ratio | CPU us/request | CPU ratio | target | p99 ms | met |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for key, row in rows.items():
        vault_rps = median([r.requests_per_second for r in row.vault])
        base_rps = median([r.requests_per_second for r in row.baseline])
        p99 = median([r.p99_ms for r in row.vault])
        errors = sum(r.non_2xx for r in row.vault)
        cpu_text = f"{median(row.vault_cpu_us):,.1f}"
        cpu_ratio = median(row.cpu_ratios) if row.cpu_ratios else None
        if key == "batch":
            ratio_text, value = "", vault_rps
            verdict = "yes" if value >= 50_000 else "NO"
            vault_text = f"{vault_rps:,.0f} msg/s"
            cpu_text += " per message"
        else:
            value = median(row.ratios)
            ratio_text = f"{value:.2f}"
            verdict = _verdict(key, value, cpu_ratio, float(row.target.split()[-1]))
            vault_text = f"{vault_rps:,.0f}"
        base_text = f"{base_rps:,.0f}" if row.baseline else ""
        cpu_ratio_text = "" if cpu_ratio is None else f"{cpu_ratio:.2f}"
        note = "" if not errors else f" ({errors} non-2xx)"
        cells = [row.name, vault_text, base_text, ratio_text, cpu_text, cpu_ratio_text, row.target, f"{p99:.1f}"]
        lines.append("| " + " | ".join(cells) + " | " + verdict + note + " |")
    single_writes = [rows[k] for k in ("post", "put-state", "patch-state", "put-cache")]
    worst_p99 = max(median([r.p99_ms for r in row.vault]) for row in single_writes)
    lines.append("")
    lines.append(f"p99 of single-message writes, worst row: {worst_p99:.1f} ms (target <= 25 ms)")
    lines.append(
        f"peak RSS of the server after loading {args.messages:,} messages: {rss_after_load:.0f} MiB (target <= 150 MiB)"
    )
    lines.append(
        f"rounds: {args.rounds} x {args.seconds} s per measurement, {args.connections} connections,"
        f" LOG_LEVEL={args.log_level}"
    )
    lines.append(
        "CPU us/request: the server's CPU time (all threads) over the requests wrk completed; CPU ratio: the"
        " baseline's CPU per request over The Vault's, which is the throughput ratio on a core neither shares."
    )
    return "\n".join(lines)


def _verdict(key: str, ratio: float, cpu_ratio: float | None, target: float) -> str:
    """Met by the throughput ratio, and (in brackets) by the CPU ratio where the two disagree."""
    met = (lambda value: value <= target) if key == "depth" else (lambda value: value >= target)
    by_rate = "yes" if met(ratio) else "NO"
    if cpu_ratio is None or met(cpu_ratio) == met(ratio):
        return by_rate
    return f"{by_rate} (CPU: {'yes' if met(cpu_ratio) else 'NO'})"


if __name__ == "__main__":
    main()
