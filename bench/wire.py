"""Compression on the wire: a 50-message history window in zstd, gzip and none, in one run.

    python bench/wire.py [--rounds 3] [--seconds 5] [--sessions 20]

Starts `vault serve` on a temporary database (pinned to core 0), loads
`--sessions` conversations of 50 messages from bench/corpus.py (fixed
seeds), then for each Accept-Encoding measures the bytes of each window on
the wire (Content-Length) and drives `GET /storage/history?limit=50` over
those sessions with wrk (16 connections, pinned to core 1). The codings take
turns within each round; figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
import servers
import wrk

WINDOW = 50
CODINGS = {"zstd": "zstd", "gzip": "gzip", "none": "identity"}


def load(url: str, sessions: int) -> list[str]:
    ids = []
    for seed in range(sessions):
        session = servers.call("POST", f"{url}/storage/sessions", {"agent_name": f"bench-{seed}"})
        messages = corpus.conversation(seed=seed, length=WINDOW)
        servers.call("POST", f"{url}/storage/history/batch", {"session_id": session["id"], "messages": messages})
        ids.append(session["id"])
    return ids


def window_bytes(url: str, session_id: str, accept: str) -> tuple[int, str | None]:
    """The window's size on the wire, and the coding it came in."""
    request = urllib.request.Request(
        f"{url}/storage/history?session_id={session_id}&limit={WINDOW}", headers={"Accept-Encoding": accept}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return len(response.read()), response.headers.get("Content-Encoding")


def script(folder: Path, name: str, paths: list[str], accept: str) -> Path:
    return wrk.lua_script(folder, name, method="GET", paths=paths, headers={"Accept-Encoding": accept})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = servers.vault("vault", 0, folder / "bench.db", folder / "vault.log")
        try:
            ids = load(server.url, args.sessions)
            paths = [f"/storage/history?session_id={sid}&limit={WINDOW}" for sid in ids]
            sizes = {name: [window_bytes(server.url, sid, accept) for sid in ids] for name, accept in CODINGS.items()}
            for name, measured in sizes.items():
                codings = {coding for _, coding in measured}
                assert codings == ({None} if name == "none" else {name}), (name, codings)
            scripts = {name: script(folder, name, paths, accept) for name, accept in CODINGS.items()}
            rates: dict[str, list[float]] = {name: [] for name in CODINGS}
            for round_ in range(args.rounds):
                for name in CODINGS:
                    result = wrk.run(server.url, core=1, connections=16, seconds=args.seconds, script=scripts[name])
                    assert result.non_2xx == 0
                    rates[name].append(result.requests_per_second)
                    print(f"round {round_ + 1} {name}: {result.requests_per_second:,.0f} req/s", flush=True)
        finally:
            server.stop()
    plain = statistics.median(size for size, _ in sizes["none"])
    print(
        f"\n{args.sessions} windows of {WINDOW} messages (bench/corpus.py, seeds 0..{args.sessions - 1});"
        f" medians over {args.rounds} rounds of {args.seconds} s"
    )
    print("| Accept-Encoding | bytes per window (median) | vs none | windows/s | MB/s of JSON served |")
    print("|---|---|---|---|---|")
    for name in CODINGS:
        size = statistics.median(s for s, _ in sizes[name])
        rate = statistics.median(rates[name])
        print(f"| {name} | {size:,.0f} | {size / plain:.2f}x | {rate:,.0f} | {rate * plain / 1e6:,.1f} |")
    print(json.dumps({name: statistics.median(rates[name]) for name in CODINGS}))


if __name__ == "__main__":
    main()
