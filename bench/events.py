"""The change feed: how soon a write's event reaches 100 subscribers, memory with 1,000, and what it costs appends.

    python bench/events.py [--baseline /path/to/a/checkout/without/the/feed] [--rounds 3]

`vault serve` (SQLite) runs on core 0, this script and wrk on core 1.

- Latency: 100 SSE subscribers (`types=message.created&after=now`) stay
  open while one writer appends 200 messages one at a time, 20 ms apart.
  For each event at each subscriber: the time it arrived minus the time the
  write's answer arrived (negative when the event came first). p50 and p95
  over every (event, subscriber) pair of a round; the table gives the median
  round.
- Memory: the server's resident set (VmRSS) before and with 1,000 idle
  subscribers open.
- Appends: single-message POST /storage/history with wrk (64 connections)
  on this build and, with --baseline, on a checkout from before the feed
  (run from its own folder and .venv), alternating, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
import wrk
from run import MESSAGE_TEXT, sessions_on

SUBSCRIBERS = 100
IDLE_SUBSCRIBERS = 1000
WRITES = 200
WRITE_GAP_SECONDS = 0.02


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _subscribe(http: aiohttp.ClientSession, url: str, arrivals: dict[str, float], ready: asyncio.Event) -> None:
    params = {"types": "message.created", "after": "now"}
    async with http.get(f"{url}/storage/events", params=params, headers={"Accept": "text/event-stream"}) as response:
        await response.content.readline()  # the ": connected" comment: subscribed
        ready.set()
        async for raw in response.content:
            if raw.startswith(b"data: "):
                arrived = time.perf_counter()
                event = json.loads(raw[6:])
                arrivals[event["data"]["id"]] = arrived


async def latency_round(url: str, session_id: str) -> tuple[float, float]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
        arrivals = [{} for _ in range(SUBSCRIBERS)]
        readies = [asyncio.Event() for _ in range(SUBSCRIBERS)]
        tasks = [asyncio.create_task(_subscribe(http, url, arrivals[i], readies[i])) for i in range(SUBSCRIBERS)]
        await asyncio.gather(*(ready.wait() for ready in readies))
        answered: dict[str, float] = {}
        for n in range(WRITES):
            body = {"session_id": session_id, "role": "user", "content": f"{MESSAGE_TEXT} {n}"}
            async with http.post(f"{url}/storage/history", json=body) as response:
                message = await response.json()
                answered[message["id"]] = time.perf_counter()
            await asyncio.sleep(WRITE_GAP_SECONDS)
        deadline = time.monotonic() + 10
        while any(len(seen) < WRITES for seen in arrivals) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    delays = [(seen[mid] - at) * 1000 for seen in arrivals for mid, at in answered.items() if mid in seen]
    missing = SUBSCRIBERS * WRITES - len(delays)
    if missing:
        raise RuntimeError(f"{missing} events never arrived")
    return percentile(delays, 0.5), percentile(delays, 0.95)


async def subscribers_open(http: aiohttp.ClientSession, url: str) -> float:
    metrics = await (await http.get(f"{url}/metrics")).text()
    return float(next(line for line in metrics.splitlines() if line.startswith("vault_feed_subscribers ")).split()[1])


async def idle_rss(server: servers.Server) -> tuple[float, float]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
        # Streams whose client left end at their next keep-alive (15 s at most): wait them out.
        while await subscribers_open(http, server.url):
            await asyncio.sleep(0.5)
        before = rss_mib(server.process.pid)
        responses = []
        for _ in range(IDLE_SUBSCRIBERS):
            response = await http.get(
                f"{server.url}/storage/events", params={"after": "now"}, headers={"Accept": "text/event-stream"}
            )
            await response.content.readline()
            responses.append(response)
        await asyncio.sleep(1)
        with_them = rss_mib(server.process.pid)
        assert await subscribers_open(http, server.url) == IDLE_SUBSCRIBERS
        for response in responses:
            response.close()
    return before, with_them


def append_rates(servers_by_name: dict[str, servers.Server], work: Path, args) -> dict[str, list[float]]:
    scripts, rates = {}, {name: [] for name in servers_by_name}
    for name, server in servers_by_name.items():
        bodies = [
            json.dumps({"session_id": s, "role": "user", "content": MESSAGE_TEXT}) for s in sessions_on(server, 64)
        ]
        scripts[name] = wrk.lua_script(work, f"append-{name}", method="POST", paths=["/storage/history"], bodies=bodies)
    for _ in range(args.rounds):
        for name, server in servers_by_name.items():
            result = wrk.run(
                server.url + "/", core=args.load_core, connections=64, seconds=args.seconds, script=scripts[name]
            )
            rates[name].append(result.requests_per_second)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description="Change feed latency, memory and append cost.")
    parser.add_argument("--baseline", help="a checkout of The Vault before the change feed, with its .venv")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    args = parser.parse_args()
    # A thousand streams need as many sockets on both ends.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    os.sched_setaffinity(0, {args.load_core})
    started: list[servers.Server] = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        try:
            this = servers.vault("this", args.server_core, work / "this.db", work / "this.log")
            started.append(this)
            session_id = sessions_on(this, 1)[0]
            rounds = [asyncio.run(latency_round(this.url, session_id)) for _ in range(args.rounds)]
            p50 = statistics.median(r[0] for r in rounds)
            p95 = statistics.median(r[1] for r in rounds)
            print(f"latency, write answer to event at each of {SUBSCRIBERS} subscribers (ms):", flush=True)
            print(f"  rounds (p50, p95): {[(round(a, 2), round(b, 2)) for a, b in rounds]}", flush=True)
            before, with_idle = asyncio.run(idle_rss(this))
            print(f"RSS: {before:.1f} MiB before, {with_idle:.1f} MiB with {IDLE_SUBSCRIBERS} idle subscribers")
            table = [
                "| figure | value |",
                "|---|---|",
                f"| write answer to event, p50 ({SUBSCRIBERS} subscribers, median round) | {p50:.1f} ms |",
                f"| write answer to event, p95 ({SUBSCRIBERS} subscribers, median round) | {p95:.1f} ms |",
                f"| server RSS, no subscriber | {before:.0f} MiB |",
                f"| server RSS, {IDLE_SUBSCRIBERS} idle subscribers | {with_idle:.0f} MiB |",
            ]
            if args.baseline:
                baseline = servers.Server(
                    "baseline",
                    [str(Path(args.baseline) / ".venv" / "bin" / "python"), "-m", "vault", "serve"],
                    args.server_core,
                    {"DB_PATH": str(work / "baseline.db")},
                    work / "baseline.log",
                    # Its own folder, so `python -m vault` imports the baseline's code.
                    cwd=Path(args.baseline),
                )
                started.append(baseline)
                rates = append_rates({"this": this, "baseline": baseline}, work, args)
                print(f"append rates: {rates}", flush=True)
                this_rate, base_rate = statistics.median(rates["this"]), statistics.median(rates["baseline"])
                table += [
                    f"| single appends/s, before the feed (median of {args.rounds}) | {base_rate:.0f} |",
                    f"| single appends/s, with the feed (median of {args.rounds}) | {this_rate:.0f}"
                    f" ({this_rate / base_rate:.2f} of before) |",
                ]
            print("\n".join(table))
        finally:
            for server in started:
                server.stop()


if __name__ == "__main__":
    main()
