"""An S3 that stops answering without refusing (a network partition): every write that does not need it goes on.

A release of artifact bytes waits for S3 (up to its timeouts), and so does an
upload; neither holds up the SQLite writer, so messages, state and sessions
are written and answered meanwhile.
"""

from __future__ import annotations

import asyncio
import base64

from tests.conftest import create_session
from tests.s3temp import bucket_url, start_with_its_bucket
from vault.app import create_app
from vault.config import Config


async def upload(client, data: bytes):
    body = {"name": "kept.bin", "content_base64": base64.b64encode(data).decode()}
    return await client.post("/storage/artifacts", json=body)


async def test_writes_go_on_while_a_release_waits_for_a_stalled_s3(aiohttp_client, db_path, s3_server):
    settings = Config(db_path=db_path, artifact_url=bucket_url())
    await start_with_its_bucket(s3_server, settings)
    client = await aiohttp_client(create_app(settings))
    session = await create_session(client)
    created = await upload(client, b"bytes kept in S3" * 1000)
    assert created.status == 201, await created.text()
    artifact_id = (await created.json())["id"]

    s3_server.pause()
    try:
        # The record goes at once; the release of its bytes then waits on S3.
        deleting = asyncio.create_task(client.delete(f"/storage/artifacts/{artifact_id}"))
        uploading = asyncio.create_task(upload(client, b"other bytes" * 100))
        await asyncio.sleep(1)

        for n in range(5):
            message = {"session_id": session["id"], "role": "user", "content": f"meanwhile {n}"}
            appended = await client.post("/storage/history", json=message)
            assert appended.status == 201, await appended.text()
        patched = await client.patch(f"/storage/state/{session['id']}", json={"data": {"a": 1}})
        assert patched.status == 200

        # Both were still waiting on S3 while those were answered.
        assert not deleting.done() and not uploading.done()
    finally:
        s3_server.resume()
    deleted = await deleting
    assert deleted.status == 200, await deleted.text()
    assert (await client.get(f"/storage/artifacts/{artifact_id}")).status == 404
    assert (await uploading).status in (201, 503)
