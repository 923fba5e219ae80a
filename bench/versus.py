"""Two builds of The Vault, or one at two log levels, measured round by round on the same workloads.

    python bench/versus.py --baseline /path/to/checkout [--rounds 5] [--seconds 5]
    python bench/versus.py --log-levels [--rounds 5] [--seconds 5]

With --baseline, `vault serve` of this checkout and of another one (with its
own .venv, e.g. an earlier commit) run side by side, each on its own database
and pinned to core 0; with --log-levels, this checkout twice, at
LOG_LEVEL=warning and at info. wrk on core 1 drives one server at a time, and
each round measures every workload on both, one right after the other (which
goes first alternates by round), so a ratio is taken between runs seconds
apart: on a shared machine that is the steady comparison (bench/run.py
measures one build per run). Workloads:
single-message appends and cache GETs (64 connections), batch appends of
1,000 messages (4 connections, as bench/run.py). Figures are the CPU each
request costs the server (all its threads) and requests/s, medians over the
rounds; a ratio is the baseline's CPU per request over the other's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers
import wrk
from run import BATCH_CONNECTIONS, CACHE_KEYS, MESSAGE_TEXT, SESSIONS, sessions_on

# (workload, connections, items a request carries)
WORKLOADS = (("append", 64, 1), ("batch append", BATCH_CONNECTIONS, 1000), ("cache GET", 64, 1))


def scripts_for(server: servers.Server, work: Path, name: str) -> dict[str, Path]:
    sessions = sessions_on(server, SESSIONS)
    for index in range(CACHE_KEYS):
        servers.call("PUT", f"{server.url}/storage/cache/k{index}", {"value": {"result": index}})
    message = lambda sid: json.dumps({"session_id": sid, "role": "user", "content": MESSAGE_TEXT})  # noqa: E731
    batch = lambda sid: json.dumps(  # noqa: E731
        {"session_id": sid, "messages": [{"role": "user", "content": MESSAGE_TEXT}] * 1000}
    )
    return {
        "append": wrk.lua_script(
            work, f"append-{name}", method="POST", paths=["/storage/history"], bodies=[message(s) for s in sessions]
        ),
        "batch append": wrk.lua_script(
            work,
            f"batch-{name}",
            method="POST",
            paths=["/storage/history/batch"],
            bodies=[batch(s) for s in sessions[:8]],
        ),
        "cache GET": wrk.lua_script(
            work, f"get-{name}", method="GET", paths=[f"/storage/cache/k{i}" for i in range(CACHE_KEYS)]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--baseline", type=Path, help="a checkout of The Vault with its own .venv")
    which.add_argument("--log-levels", action="store_true", help="this checkout at warning (baseline) and at info")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    args = parser.parse_args()
    wrk.ensure_wrk()

    with tempfile.TemporaryDirectory(prefix="vault-bench-versus-") as folder:
        work = Path(folder)
        core = args.server_core
        if args.log_levels:
            names = ("warning", "info")
            started = [
                servers.vault(level, core, work / f"{level}.db", work / f"{level}.log", LOG_LEVEL=level)
                for level in names
            ]
        else:
            names = ("baseline", "this")
            started = [
                servers.vault("baseline", core, work / "baseline.db", work / "baseline.log", args.baseline),
                servers.vault("this", core, work / "this.db", work / "this.log"),
            ]
        try:
            scripts = {name: scripts_for(server, work, name) for name, server in zip(names, started, strict=True)}
            figures: dict[tuple[str, str], list[wrk.Measured]] = {}
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number} of {args.rounds}", flush=True)
                # Which server goes first alternates from round to round: on a shared core the
                # second of two runs a few seconds apart is not measured like the first.
                order = list(zip(names, started, strict=True))
                if round_number % 2 == 0:
                    order.reverse()
                for workload, connections, _ in WORKLOADS:
                    for name, server in order:
                        measured = wrk.measure(
                            server,
                            server.url,
                            core=args.load_core,
                            connections=connections,
                            seconds=args.seconds,
                            script=scripts[name][workload],
                        )
                        figures.setdefault((workload, name), []).append(measured)
        finally:
            for server in started:
                server.stop()
    print(render(figures, names, args))


def render(figures: dict[tuple[str, str], list[wrk.Measured]], names: tuple[str, str], args) -> str:
    base, other = names
    lines = [
        "",
        f"| workload | {base}: CPU us per item | {other}: CPU us per item | CPU ratio ({base} / {other}),"
        f" per round | {base}: items/s | {other}: items/s |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for workload, _, items in WORKLOADS:
        first, second = figures[(workload, base)], figures[(workload, other)]
        ratios = [a.cpu_us / b.cpu_us for a, b in zip(first, second, strict=True)]
        cells = [
            workload,
            f"{statistics.median(m.cpu_us for m in first) / items:.1f}",
            f"{statistics.median(m.cpu_us for m in second) / items:.1f}",
            f"{statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})",
            f"{statistics.median(m.result.requests_per_second for m in first) * items:,.0f}",
            f"{statistics.median(m.result.requests_per_second for m in second) * items:,.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"\n{args.rounds} rounds x {args.seconds} s per workload and server, medians")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
