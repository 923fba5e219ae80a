"""Artifact upload and download throughput, bytes on disk against bytes in S3 (moto's server).

Starts moto's server and two `vault serve` processes, one keeping artifact
bytes in a folder, one in a bucket on that server. For each size, uploads
(multipart form, streamed) and downloads (streamed to nothing) one artifact
at a time, `--rounds` times, each round a new random content so no upload is
deduplicated. Prints a table of median MiB/s.

    python bench/artifact_throughput.py [--sizes 1,100] [--rounds 5]

moto keeps objects in its own process (in memory and temporary files), so the
S3 figures measure The Vault's S3 path against a local S3 API, not AWS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import Server, free_port

MIB = 1024 * 1024
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}


def start_moto(log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            ["taskset", "-c", "1", sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return process, endpoint
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto's server did not come up")


async def _chunks(data: bytes):
    for start in range(0, len(data), MIB):
        yield data[start : start + MIB]


async def upload(http: aiohttp.ClientSession, url: str, data: bytes) -> tuple[str, float]:
    writer = aiohttp.MultipartWriter("form-data")
    part = writer.append(_chunks(data))
    part.set_content_disposition("form-data", name="file", filename="bench.bin")
    started = time.perf_counter()
    async with http.post(f"{url}/storage/artifacts", data=writer) as response:
        body = await response.json()
        assert response.status == 201, body
    return body["id"], time.perf_counter() - started


async def download(http: aiohttp.ClientSession, url: str, artifact_id: str, size: int) -> float:
    started = time.perf_counter()
    received = 0
    async with http.get(f"{url}/storage/artifacts/{artifact_id}/content") as response:
        assert response.status == 200
        async for chunk in response.content.iter_chunked(MIB):
            received += len(chunk)
    assert received == size
    return time.perf_counter() - started


async def measure(url: str, size_mib: int, rounds: int) -> tuple[float, float]:
    """Median upload and download MiB/s."""
    ups, downs = [], []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        for _ in range(rounds):
            data = os.urandom(size_mib * MIB)
            artifact_id, seconds = await upload(http, url, data)
            ups.append(size_mib / seconds)
            downs.append(size_mib / await download(http, url, artifact_id, len(data)))
            await http.delete(f"{url}/storage/artifacts/{artifact_id}")
    return statistics.median(ups), statistics.median(downs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100", help="artifact sizes in MiB, comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        log = work / "servers.log"
        moto, endpoint = start_moto(log)
        limit = {"VAULT_MAX_ARTIFACT_BYTES": str((max(sizes) + 1) * MIB)}
        s3_env = {**limit, "VAULT_ARTIFACT_URL": "s3://bench/artifacts", "AWS_ENDPOINT_URL_S3": endpoint, **CREDENTIALS}
        vault = [sys.executable, "-m", "vault", "serve"]
        servers = {}
        try:
            servers["disk"] = Server("disk", vault, 0, {**limit, "DB_PATH": str(work / "disk" / "v.db")}, log)
            servers["s3 (moto)"] = Server("s3", vault, 0, {**s3_env, "DB_PATH": str(work / "s3" / "v.db")}, log)
            rows = []
            for size in sizes:
                for name, server in servers.items():
                    up, down = asyncio.run(measure(server.url, size, args.rounds))
                    rows.append((size, name, up, down))
        finally:
            for server in servers.values():
                server.stop()
            moto.terminate()
            moto.wait()

    print(f"median of {args.rounds} rounds, one artifact at a time, MiB/s")
    print("| size | artifact bytes | upload MiB/s | download MiB/s |\n|---|---|---|---|")
    for size, name, up, down in rows:
        print(f"| {size} MiB | {name} | {up:,.0f} | {down:,.0f} |")


if __name__ == "__main__":
    main()
