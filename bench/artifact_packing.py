"""Artifact bytes packed at rest (VAULT_COMPRESSION=zstd) against kept as sent (off), in one run.

Starts two `vault serve` processes keeping artifact bytes in a folder (and,
with `--s3`, two more keeping them in a bucket on moto's server), one with
compression on and one off, and measures on each:

- stored / raw for a corpus of agent outputs (markdown reports, code, JSON
  search results, shell logs, HTML pages) and PNG-like images (deflate
  streams, which do not compress again), from `GET /storage/admin/storage`;
  the corpus's figures per kind come from the same packer, in process;
- upload and download MiB/s of one large artifact of such text (new content
  each round, so nothing is deduplicated);
- a range of 4 KiB at the end of it, and one in its middle (median ms).

    python bench/artifact_packing.py [--large-mib 100] [--rounds 3] [--s3]
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
import zlib
from collections import defaultdict
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agent_corpus import _code, _paragraph, _search_results, _sentence, _shell, _web_page
from artifact_throughput import CREDENTIALS, MIB, download, start_moto, upload
from servers import Server
from vault.store.blob_packing import Packer

RANGE_BYTES = 4096
RANGE_TRIES = 20


def _markdown(rng: random.Random) -> str:
    parts = []
    for section in range(rng.randint(4, 12)):
        parts.append(f"## {section + 1}. {_sentence(rng, 3, 7).rstrip('.')}\n\n")
        parts.append(_paragraph(rng, rng.randint(3, 9)) + "\n\n")
        if rng.random() < 0.5:
            parts.append("| name | value | note |\n|---|---|---|\n")
            parts.extend(
                f"| {_sentence(rng, 1, 2)} | {rng.random():.4f} | {_sentence(rng, 2, 5)} |\n" for _ in range(8)
            )
    return "".join(parts)


def _many(make, rng: random.Random, low: int, high: int) -> str:
    return "\n".join(make(rng) for _ in range(rng.randint(low, high)))


def _png_like(rng: random.Random) -> bytes:
    # A PNG's body is a deflate stream of pixel rows: noisy pixels, as in a photo or a chart's antialiasing.
    width, height = rng.randint(100, 400), rng.randint(100, 300)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + zlib.compress(rows, 6)


KINDS = {
    "markdown report": lambda rng: _many(_markdown, rng, 1, 6).encode(),
    "code": lambda rng: _many(_code, rng, 5, 80).encode(),
    "JSON results": lambda rng: json.dumps(
        [json.loads(_search_results(rng)) for _ in range(rng.randint(5, 60))]
    ).encode(),
    "shell log": lambda rng: _many(_shell, rng, 50, 500).encode(),
    "HTML page": lambda rng: _many(_web_page, rng, 5, 40).encode(),
    "PNG-like image": _png_like,
}


def artifact_corpus(seed: int, per_kind: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    return [(kind, make(rng)) for kind, make in KINDS.items() for _ in range(per_kind)]


def large_text(seed: int, size: int) -> bytes:
    """Distinct agent output (logs, JSON, code, prose) up to `size` bytes."""
    rng = random.Random(seed)
    makers = [make for kind, make in KINDS.items() if kind != "PNG-like image"]
    parts, total = [], 0
    while total < size:
        part = rng.choice(makers)(rng)
        parts.append(part)
        total += len(part)
    return b"".join(parts)[:size]


def packed_size(data: bytes) -> int:
    packer = Packer()
    packer.feed(data)
    packer.end()
    return packer.stored_size


async def load_corpus(url: str, corpus: list[tuple[str, bytes]]) -> dict:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        for _, data in corpus:
            await upload(http, url, data)
        async with http.get(f"{url}/storage/admin/storage", params={"fresh": "true"}) as response:
            assert response.status == 200, await response.text()
            return (await response.json())["artifacts"]


async def ranged(http: aiohttp.ClientSession, url: str, artifact_id: str, first: int) -> float:
    started = time.perf_counter()
    headers = {"Range": f"bytes={first}-{first + RANGE_BYTES - 1}"}
    async with http.get(f"{url}/storage/artifacts/{artifact_id}/content", headers=headers) as response:
        assert response.status == 206
        assert len(await response.read()) == RANGE_BYTES
    return (time.perf_counter() - started) * 1000


async def large(url: str, contents: list[bytes]) -> dict[str, float]:
    ups, downs, ends, middles = [], [], [], []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900)) as http:
        for data in contents:
            size = len(data)
            artifact_id, seconds = await upload(http, url, data)
            ups.append(size / MIB / seconds)
            downs.append(size / MIB / await download(http, url, artifact_id, size))
            ends += [await ranged(http, url, artifact_id, size - RANGE_BYTES) for _ in range(RANGE_TRIES)]
            middles += [await ranged(http, url, artifact_id, size // 2 + 12_345) for _ in range(RANGE_TRIES)]
            await http.delete(f"{url}/storage/artifacts/{artifact_id}")
    return {
        "up": statistics.median(ups),
        "down": statistics.median(downs),
        "end": statistics.median(ends),
        "middle": statistics.median(middles),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large-mib", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-kind", type=int, default=20, help="corpus artifacts of each kind")
    parser.add_argument("--s3", action="store_true", help="also on S3 (moto's server)")
    args = parser.parse_args()
    size = args.large_mib * MIB
    corpus = artifact_corpus(1, args.per_kind)
    # A new content each round, the same for every server.
    contents = [large_text(1000 + round_, size) for round_ in range(args.rounds)]

    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for kind, data in corpus:
        by_kind[kind][0] += len(data)
        by_kind[kind][1] += packed_size(data)

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        log = work / "servers.log"
        limit = {"VAULT_MAX_ARTIFACT_BYTES": str(size + MIB)}
        places = {"disk": {}}
        moto = None
        if args.s3:
            moto, endpoint = start_moto(log)
            places["s3 (moto)"] = {"AWS_ENDPOINT_URL_S3": endpoint, **CREDENTIALS}
        vault = [sys.executable, "-m", "vault", "serve"]
        rows = []
        try:
            for place, env in places.items():
                for mode in ("off", "zstd"):
                    name = f"{place}-{mode}"
                    settings = {**limit, **env, "DB_PATH": str(work / name / "v.db"), "VAULT_COMPRESSION": mode}
                    if env:
                        settings["VAULT_ARTIFACT_URL"] = f"s3://bench-{mode}/artifacts"
                    server = Server(name, vault, 0, settings, log)
                    try:
                        figures = asyncio.run(load_corpus(server.url, corpus))
                        timed = asyncio.run(large(server.url, contents))
                    finally:
                        server.stop()
                    rows.append((place, mode, figures, timed))
        finally:
            if moto is not None:
                moto.terminate()
                moto.wait()

    print(
        f"corpus: {len(corpus)} artifacts, {sum(len(d) for _, d in corpus) / MIB:.1f} MiB; packed in process, by kind"
    )
    print("| kind | artifacts | raw MiB | stored / raw |\n|---|---|---|---|")
    for kind, (raw, stored) in by_kind.items():
        print(f"| {kind} | {args.per_kind} | {raw / MIB:.1f} | {stored / raw:.2f}x |")
    print(f"\nthrough the service; {args.large_mib} MiB artifact of agent output, median of {args.rounds} rounds")
    print(
        "| blob store | VAULT_COMPRESSION | corpus stored / raw | upload MiB/s | download MiB/s"
        f" | {RANGE_BYTES // 1024} KiB range at the end (ms) | in the middle (ms) |"
    )
    print("|---|---|---|---|---|---|---|")
    for place, mode, figures, timed in rows:
        ratio = figures["stored_bytes"] / figures["raw_bytes"]
        print(
            f"| {place} | {mode} | {ratio:.2f}x | {timed['up']:,.0f} | {timed['down']:,.0f}"
            f" | {timed['end']:.1f} | {timed['middle']:.1f} |"
        )


if __name__ == "__main__":
    main()
