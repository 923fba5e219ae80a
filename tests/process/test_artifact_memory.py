"""A 512 MiB artifact through the real server: memory stays flat both ways."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp
import pytest
from vault.store.blobfs import FilesystemBlobStore

from tests.artifact_places import PLACES, artifact_url
from tests.process.rss import peak_rss

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
ARTIFACT_BYTES = 512 * MIB
GROWTH_LIMIT = 64 * MIB


def block(n: int) -> bytes:
    """A reproducible MiB, the n-th one of the artifact (a seed repeated: it is kept packed, frame by frame)."""
    seed = hashlib.sha256(n.to_bytes(8, "big")).digest()
    return seed * (MIB // len(seed))


async def blocks(count: int, digest):
    for n in range(count):
        data = block(n)
        digest.update(data)
        yield data


async def upload(http: aiohttp.ClientSession, url: str, count: int) -> tuple[dict, str]:
    digest = hashlib.sha256()
    writer = aiohttp.MultipartWriter("form-data")
    part = writer.append(blocks(count, digest))
    part.set_content_disposition("form-data", name="file", filename="big.bin")
    async with http.post(f"{url}/storage/artifacts", data=writer) as response:
        assert response.status == 201, await response.text()
        return await response.json(), digest.hexdigest()


async def download(http: aiohttp.ClientSession, url: str, artifact_id: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    async with http.get(f"{url}/storage/artifacts/{artifact_id}/content") as response:
        assert response.status == 200
        async for chunk in response.content.iter_chunked(MIB):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@pytest.fixture(params=PLACES)
def artifact_settings(request) -> dict[str, str]:
    """The settings that put artifact bytes on disk (none: the default), or in a bucket on moto's server."""
    url = artifact_url(request)
    if url is None:
        return {}
    return {"VAULT_ARTIFACT_URL": url, **request.getfixturevalue("s3_env").environment}


@pytest.mark.timeout(300)
async def test_a_512_mib_artifact_leaves_peak_rss_flat(vault_process, artifact_settings, capsys):
    # Rule: artifact bodies are streamed to and from disk or S3, never held in memory.
    vault = vault_process(VAULT_MAX_ARTIFACT_BYTES=str(ARTIFACT_BYTES + MIB), **artifact_settings)
    await vault.start()
    pid = vault.process.pid
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        # Warm up: the first upload and download bring in whatever they import and allocate once.
        warm, _ = await upload(http, vault.url, 2)
        await download(http, vault.url, warm["id"])
        before = peak_rss(pid)

        artifact, sent_sha = await upload(http, vault.url, ARTIFACT_BYTES // MIB)
        after_upload = peak_rss(pid)
        size, received_sha = await download(http, vault.url, artifact["id"])
        after_download = peak_rss(pid)

    assert (artifact["size"], artifact["sha256"]) == (ARTIFACT_BYTES, sent_sha)
    assert (size, received_sha) == (ARTIFACT_BYTES, sent_sha)
    with capsys.disabled():
        print(
            f"\npeak RSS of the server ({'s3' if artifact_settings else 'disk'}): {before / MIB:.1f} MiB before,"
            f" {after_upload / MIB:.1f} MiB after a"
            f" {ARTIFACT_BYTES // MIB} MiB upload, {after_download / MIB:.1f} MiB after its download"
            f" (+{(after_download - before) / MIB:.1f} MiB)"
        )
    assert after_download - before < GROWTH_LIMIT
    if not artifact_settings:
        blobs = FilesystemBlobStore(Path(vault.db_path).parent / "artifacts")
        assert blobs.packed_path(sent_sha).is_file()
        assert await blobs.size(sent_sha) == ARTIFACT_BYTES
