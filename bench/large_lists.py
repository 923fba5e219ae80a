"""Does listing sessions with large metadata stall the service?

Starts `vault serve` (one core) on a fresh SQLite file, stores `--sessions`
sessions each with about `--kb` KB of metadata, then, `--rounds` times, reads
the whole list (`limit=1000`, following Link: rel="next") while another client
asks /health as fast as it answers. Prints the seconds and bytes of the list,
its pages, the slowest /health answer meanwhile and the server's peak RSS.

    python bench/large_lists.py [--sessions 40] [--kb 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
from servers import Server


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def read_all(http: aiohttp.ClientSession, base: str) -> tuple[int, int]:
    """Bytes and pages of the whole list."""
    url, size, pages = f"{base}/storage/sessions?limit=1000", 0, 0
    while url:
        async with http.get(url) as response:
            size += len(await response.read())
            pages += 1
            link = response.headers.get("Link", "")
        url = base + link.removeprefix("<").removesuffix('>; rel="next"') if link else ""
    return size, pages


async def slowest_health(http: aiohttp.ClientSession, base: str, stop: asyncio.Event) -> float:
    slowest = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        async with http.get(f"{base}/health") as response:
            await response.read()
        slowest = max(slowest, time.perf_counter() - started)
    return slowest


async def one_round(base: str) -> tuple[float, int, int, float]:
    async with aiohttp.ClientSession() as http:
        stop = asyncio.Event()
        health = asyncio.create_task(slowest_health(http, base, stop))
        started = time.perf_counter()
        size, pages = await read_all(http, base)
        seconds = time.perf_counter() - started
        stop.set()
        return seconds, size, pages, await health


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--kb", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        server = Server("vault", ["vault", "serve"], 0, {"DB_PATH": str(Path(folder) / "bench.db")}, log)
        try:
            body = json.dumps({"agent_name": "bench", "metadata": {"blob": "x" * (args.kb * 1000)}}).encode()
            for _ in range(args.sessions):
                request = urllib.request.Request(
                    f"{server.url}/storage/sessions", body, {"Content-Type": "application/json"}
                )
                urllib.request.urlopen(request).close()
            for number in range(1, args.rounds + 1):
                seconds, size, pages, slowest = asyncio.run(one_round(server.url))
                print(
                    f"round {number}: list {seconds:.3f} s, {size / 1e6:.1f} MB in {pages} pages;"
                    f" slowest /health meanwhile {slowest * 1000:.1f} ms"
                )
            print(f"server peak RSS {peak_rss_mib(server.process.pid):.0f} MiB")
        finally:
            server.process.terminate()
            server.process.wait()


if __name__ == "__main__":
    main()
