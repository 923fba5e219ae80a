"""Search over a million messages: query latency on SQLite and PostgreSQL, and what the index costs appends.

    python bench/search.py --baseline /path/to/a/checkout/without/search [--messages 1000000]

Builds a corpus with a fixed seed (words drawn from a Zipf law over common
English words and 30,000 made-up ones, some messages with tool calls), loads
it through the batch endpoint into `vault serve` on SQLite and on
PostgreSQL, then asks two-word queries (one of the 50 most common words, one
ranked 2,000 to 10,000) with limit=20, one at a time, and reports their
latency. Single-message appends are driven with wrk (server on core 0, wrk
on core 1, 64 connections) on this build and on the baseline checkout
(the same code before search, run from its own venv), alternating, in the
same run; this build runs them with VAULT_COMPRESSION=off, since the
baseline has no compression either, so the index is the one difference.
Every figure is a median over rounds or a percentile over queries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from itertools import accumulate
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
import wrk
from corpus import COMMON, SYLLABLES
from postgres import drop_database, scratch_database
from run import MESSAGE_TEXT, sessions_on

SEED = 20261130
BATCH = 1000
QUERIES = 300


def vocabulary(rng: random.Random) -> list[str]:
    made_up = {"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(40_000)}
    return list(COMMON) + sorted(made_up - set(COMMON))[:30_000]


def messages(rng: random.Random, words: list[str], count: int):
    """`count` messages, in batches of BATCH."""
    weights = list(accumulate(1 / (rank + 1) ** 1.07 for rank in range(len(words))))
    batch = []
    for n in range(count):
        text = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(8, 160)))
        if n % 10 == 3:
            call = {
                "id": f"c{n}",
                "type": "function",
                "function": {"name": "web_search", "arguments": json.dumps({"q": text[:60]})},
            }
            batch.append({"role": "assistant", "content": None, "tool_calls": [call]})
        else:
            batch.append({"role": "user" if n % 2 else "assistant", "content": text})
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def load(url: str, sessions: list[str], count: int, label: str) -> float:
    """Load the corpus through the batch endpoint, 4 requests at a time; answer messages per second."""
    rng = random.Random(SEED)
    words = vocabulary(rng)
    bodies = asyncio.Queue(maxsize=8)
    done = 0
    started = time.monotonic()

    async def produce() -> None:
        for index, batch in enumerate(messages(rng, words, count)):
            body = json.dumps({"session_id": sessions[index % len(sessions)], "messages": batch}).encode()
            await bodies.put(body)
            await asyncio.sleep(0)
        for _ in range(4):
            await bodies.put(None)

    async with aiohttp.ClientSession() as http:

        async def send() -> None:
            nonlocal done
            while (body := await bodies.get()) is not None:
                async with http.post(
                    f"{url}/storage/history/batch", data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    assert response.status == 201, await response.text()
                done += BATCH
                if done % 50_000 == 0:
                    rate = done / (time.monotonic() - started)
                    print(f"\r  loading {label}: {done:,} / {count:,} ({rate:,.0f} msg/s)", end="", flush=True)

        await asyncio.gather(produce(), *(send() for _ in range(4)))
    print()
    return done / (time.monotonic() - started)


def queries() -> list[str]:
    rng = random.Random(SEED + 1)
    words = vocabulary(random.Random(SEED))
    return [f"{rng.choice(words[:50])} {rng.choice(words[2000:10000])}" for _ in range(QUERIES)]


async def query_latencies(url: str) -> tuple[list[float], float]:
    """Each query's latency in ms, one at a time (after one warm-up pass), and the mean hits per query."""
    latencies = []
    hits = 0
    async with aiohttp.ClientSession() as http:
        for attempt in range(2):
            for q in queries():
                started = time.perf_counter()
                async with http.get(f"{url}/storage/search", params={"q": q, "limit": "20"}) as response:
                    body = await response.json()
                    assert response.status == 200, body
                if attempt:
                    latencies.append((time.perf_counter() - started) * 1000)
                    hits += len(body)
    return latencies, hits / QUERIES


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def append_rounds(this: servers.Server, baseline: servers.Server, work: Path, args) -> tuple[list, list]:
    """Requests/s and CPU per request of each server, round by round."""
    results: dict[str, list[wrk.Measured]] = {"this": [], "baseline": []}
    scripts = {}
    for name, server in (("this", this), ("baseline", baseline)):
        bodies = [
            json.dumps({"session_id": s, "role": "user", "content": MESSAGE_TEXT}) for s in sessions_on(server, 64)
        ]
        scripts[name] = wrk.lua_script(work, f"append-{name}", method="POST", paths=["/storage/history"], bodies=bodies)
    for _ in range(args.rounds):
        for name, server in (("this", this), ("baseline", baseline)):
            measured = wrk.measure(
                server,
                server.url + "/",
                core=args.load_core,
                connections=64,
                seconds=args.seconds,
                script=scripts[name],
            )
            results[name].append(measured)
    return results["this"], results["baseline"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Search latency over a million messages; the index's cost to appends.")
    parser.add_argument("--baseline", required=True, help="a checkout of The Vault before search, with its .venv")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    args = parser.parse_args()
    wrk.ensure_wrk()
    database_url, name = scratch_database(args.url)
    started: list[servers.Server] = []
    try:
        with tempfile.TemporaryDirectory(prefix="vault-bench-search-") as folder:
            work = Path(folder)
            log = work / "servers.log"
            baseline_python = str(Path(args.baseline) / ".venv" / "bin" / "python")
            # Compression off: the baseline predates it, so the index is the only difference.
            this = servers.vault("this", args.server_core, work / "append.db", log, VAULT_COMPRESSION="off")
            baseline = servers.Server(
                "baseline",
                [baseline_python, "-m", "vault", "serve"],
                args.server_core,
                {"DB_PATH": str(work / "base.db")},
                log,
                # Run from its own folder, so `python -m vault` imports the baseline's code and not this one's.
                cwd=Path(args.baseline),
            )
            started += [this, baseline]
            this_runs, baseline_runs = append_rounds(this, baseline, work, args)

            sqlite = servers.vault("sqlite", args.server_core, work / "search.db", log)
            pg_env = {"VAULT_DATABASE_URL": database_url, "VAULT_ARTIFACT_DIR": str(work / "artifacts")}
            postgres = servers.vault("postgres", args.server_core, work / "unused.db", log, **pg_env)
            started += [sqlite, postgres]
            figures = {}
            for label, server in (("SQLite", sqlite), ("PostgreSQL", postgres)):
                load_rate = asyncio.run(load(server.url, sessions_on(server, 1000), args.messages, label))
                latencies, mean_hits = asyncio.run(query_latencies(server.url))
                figures[label] = (load_rate, latencies, mean_hits)
            print(render(this_runs, baseline_runs, figures, args))
    finally:
        for server in started:
            server.stop()
        drop_database(args.url, name)


def render(this_runs, baseline_runs, figures, args) -> str:
    pairs = list(zip(this_runs, baseline_runs, strict=True))
    ratios = [a.result.requests_per_second / b.result.requests_per_second for a, b in pairs]
    # Baseline CPU per request over this build's: the throughput ratio on a core neither shares.
    cpu_ratios = [b.cpu_us / a.cpu_us for a, b in pairs]
    lines = [
        "",
        f"single-message append (wrk, 64 connections, {args.rounds} rounds x {args.seconds} s, medians):",
        f"  with the index {statistics.median(a.result.requests_per_second for a in this_runs):,.0f}/s"
        f" ({statistics.median(a.cpu_us for a in this_runs):.0f} us CPU a request),"
        f" before search {statistics.median(b.result.requests_per_second for b in baseline_runs):,.0f}/s"
        f" ({statistics.median(b.cpu_us for b in baseline_runs):.0f} us),"
        f" ratio {statistics.median(ratios):.2f} (rounds {', '.join(f'{r:.2f}' for r in ratios)}),"
        f" CPU ratio {statistics.median(cpu_ratios):.2f} (rounds {', '.join(f'{r:.2f}' for r in cpu_ratios)})",
        "",
        "| backend | batch append, msg/s | p50 ms | p95 ms | p99 ms | hits per query (limit 20) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, (load_rate, latencies, mean_hits) in figures.items():
        lines.append(
            f"| {label} | {load_rate:,.0f} | {percentile(latencies, 0.5):.1f} | {percentile(latencies, 0.95):.1f}"
            f" | {percentile(latencies, 0.99):.1f} | {mean_hits:.1f} |"
        )
    lines.append(f"\n{args.messages:,} messages in 1,000 sessions; {QUERIES} two-word queries, one at a time")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
