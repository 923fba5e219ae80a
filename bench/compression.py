"""Compression at rest: bytes on disk per message, and append and window throughput, off against zstd.

    python bench/compression.py [--conversations 400] [--rounds 3] [--seconds 5]

1. Bytes on disk. The corpus of bench/agent_corpus.py (seed 1) is written
   through the store into a fresh SQLite file three ways: compression off,
   zstd without a dictionary, and zstd with a dictionary trained on a second
   corpus (seed 2, written, trained on, deleted and vacuumed first). The file
   grows by (size after a TRUNCATE checkpoint - size before) / messages.
2. Throughput. Two servers, one with VAULT_COMPRESSION=off and one with zstd
   (on a database whose dictionary was trained as above), each pinned to core
   0 in turn, driven by wrk pinned to core 1: single-message appends from the
   corpus, and GET /storage/history?limit=50 on a preloaded session. Every
   figure is the median over the rounds; the ratio is taken within a round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

# bench/ last on the path: bench/redis.py would otherwise stand in for the redis package.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH] + [str(BENCH)]

import agent_corpus  # noqa: E402
import servers  # noqa: E402
import wrk  # noqa: E402
from attrs import evolve  # noqa: E402
from vault.store.blobfs import FilesystemBlobStore  # noqa: E402
from vault.store.sqlite import SQLiteStore  # noqa: E402

from vault.app import sqlite_settings  # noqa: E402
from vault.config import Config  # noqa: E402
from vault.converter import converter  # noqa: E402
from vault.inputs import BatchMessage, NewSession  # noqa: E402

SETTINGS = sqlite_settings(Config(db_path="bench.db"))


def _messages(conversation: list[dict]) -> list[BatchMessage]:
    return [converter.structure(message, BatchMessage) for message in conversation]


async def _write(store: SQLiteStore, corpus: list[list[dict]]) -> list[str]:
    sessions = []
    for conversation in corpus:
        session = await store.create_session(NewSession(agent_name="bench"))
        await store.add_messages(session.id, _messages(conversation))
        sessions.append(session.id)
    return sessions


def _checkpointed_size(path: Path, vacuum: bool = False) -> int:
    with sqlite3.connect(path) as conn:
        if vacuum:
            conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


async def build(path: Path, mode: str, corpus: list[list[dict]], training: list[list[dict]]) -> dict:
    """Write `corpus` into a new database at `path` the `mode` way; answer what it took."""
    settings = evolve(SETTINGS, compression=mode != "off")
    store = SQLiteStore(str(path), settings, blobs=FilesystemBlobStore(path.parent / f"{path.stem}-artifacts"))
    await store.start()
    try:
        if mode == "zstd+dictionary":
            trained_on = await _write(store, training)
            await store.train_dictionaries(force=True)
            for session_id in trained_on:
                await store.delete_session(session_id)
    finally:
        await store.close()
    before = _checkpointed_size(path, vacuum=True)
    store = SQLiteStore(str(path), settings, blobs=FilesystemBlobStore(path.parent / f"{path.stem}-artifacts"))
    await store.start()
    try:
        sessions = await _write(store, corpus)
        report = await store.measure_storage()
    finally:
        await store.close()
    after = _checkpointed_size(path)
    count = report.messages.count
    return {
        "mode": mode,
        "messages": count,
        "raw_per_message": report.messages.raw_bytes / count,
        "stored_per_message": report.messages.stored_bytes / count,
        "disk_per_message": (after - before) / count,
        "sessions": sessions,
    }


def throughput(args, work: Path, corpus: list[list[dict]], databases: dict[str, Path]) -> dict[str, dict]:
    bodies = [message for conversation in corpus for message in conversation][:500]
    figures: dict[str, dict[str, list[float]]] = {mode: {"append": [], "window": []} for mode in databases}
    ratios: dict[str, list[float]] = {"append": [], "window": []}
    # Off's CPU per request over zstd's: the throughput ratio on a core of their own (bench/servers.py).
    cpu_ratios: dict[str, list[float]] = {"append": [], "window": []}
    for _ in range(args.rounds):
        round_rps: dict[str, dict[str, float]] = {}
        round_cpu: dict[str, dict[str, float]] = {}
        for mode, path in databases.items():
            env = {"VAULT_COMPRESSION": "off" if mode == "off" else "zstd"}
            server = servers.vault(mode, args.server_core, path, work / f"{mode}.log", **env)
            try:
                session = servers.call("POST", f"{server.url}/storage/sessions", {"agent_name": "bench"})["id"]
                script = wrk.lua_script(
                    work,
                    f"append-{mode}",
                    method="POST",
                    paths=["/storage/history"],
                    bodies=[json.dumps({"session_id": session, **body}) for body in bodies],
                )
                cpu_us: dict[str, float] = {}

                def run(name: str, url: str, script: Path | None = None, server=server, cpu_us=cpu_us) -> wrk.Result:
                    measured = wrk.measure(
                        server,
                        url,
                        core=args.load_core,
                        connections=args.connections,
                        seconds=args.seconds,
                        script=script,
                    )
                    cpu_us[name] = measured.cpu_us
                    return measured.result

                append = run("append", f"{server.url}/storage/history", script)
                window = run("window", f"{server.url}/storage/history?session_id={args.window_sessions[mode]}&limit=50")
            finally:
                server.stop()
            round_rps[mode] = {"append": append.requests_per_second, "window": window.requests_per_second}
            round_cpu[mode] = cpu_us
            for name in ("append", "window"):
                figures[mode][name].append(round_rps[mode][name])
        for name in ("append", "window"):
            ratios[name].append(round_rps["zstd+dictionary"][name] / round_rps["off"][name])
            cpu_ratios[name].append(round_cpu["off"][name] / round_cpu["zstd+dictionary"][name])
    return {
        "medians": {mode: {k: statistics.median(v) for k, v in f.items()} for mode, f in figures.items()},
        "ratios": {k: statistics.median(v) for k, v in ratios.items()},
        "cpu_ratios": {k: statistics.median(v) for k, v in cpu_ratios.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument("--bytes-only", action="store_true", help="measure bytes on disk only, start no server")
    args = parser.parse_args()
    corpus = agent_corpus.corpus(1, args.conversations)
    training = agent_corpus.corpus(2, args.conversations)
    with tempfile.TemporaryDirectory(prefix="vault-compression-") as folder:
        work = Path(folder)
        built = {
            mode: asyncio.run(build(work / f"{mode}.db", mode, corpus, training))
            for mode in ("off", "zstd", "zstd+dictionary")
        }
        raw = built["off"]["raw_per_message"]
        print(f"corpus: {built['off']['messages']:,} messages, {raw:,.0f} bytes of JSON per message on average")
        print("| mode | stored bytes / message | stored / raw | file bytes / message (after checkpoint) |")
        print("|---|---|---|---|")
        for mode, found in built.items():
            disk, disk_off = found["disk_per_message"], built["off"]["disk_per_message"]
            print(
                f"| {mode} | {found['stored_per_message']:,.0f} | {found['stored_per_message'] / raw:.2f}x"
                f" | {disk:,.0f} ({disk / disk_off:.2f}x) |"
            )
        if args.bytes_only:
            return
        # The window reads the largest conversation written in each database.
        args.window_sessions = {
            mode: max(zip(built[mode]["sessions"], corpus, strict=True), key=lambda pair: len(pair[1]))[0]
            for mode in ("off", "zstd+dictionary")
        }
        measured = throughput(args, work, corpus, {m: work / f"{m}.db" for m in ("off", "zstd+dictionary")})
        print("| request | off (req/s) | zstd + dictionary (req/s) | ratio (median of rounds) | CPU ratio |")
        print("|---|---|---|---|---|")
        for name, label in (("append", "POST /storage/history (one message)"), ("window", "GET ?limit=50")):
            off = measured["medians"]["off"][name]
            packed = measured["medians"]["zstd+dictionary"][name]
            ratio, cpu_ratio = measured["ratios"][name], measured["cpu_ratios"][name]
            print(f"| {label} | {off:,.0f} | {packed:,.0f} | {ratio:.2f} | {cpu_ratio:.2f} |")


if __name__ == "__main__":
    main()
