"""Artifact bytes stored in the service, through both clients."""

from __future__ import annotations

import hashlib

import pytest

from vault.client import NotFound, PayloadTooLarge
from vault.client.records import Content
from vault.models import Artifact

# The shared service's cap (VAULT_MAX_ARTIFACT_BYTES in conftest).
CAP = 1024 * 1024


async def test_upload_and_download_bytes(vault, unique):
    session = await vault.create_session(unique)
    data = bytes(range(256)) * 40
    artifact = await vault.upload_artifact(
        "chart.png", data, session_id=session.id, type="image", metadata={"width": 640}
    )
    assert isinstance(artifact, Artifact)
    assert (artifact.size, artifact.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert (artifact.content_type, artifact.type, artifact.metadata) == ("image/png", "image", {"width": 640})

    content = await vault.download_artifact(artifact.id)
    assert isinstance(content, Content)
    assert (content.data, content.content_type, content.filename) == (data, "image/png", "chart.png")
    assert content.etag == f'"{artifact.sha256}"'
    assert (await vault.download_artifact(artifact.id, start=10, end=19)).data == data[10:20]
    assert (await vault.download_artifact(artifact.id, start=len(data) - 5)).data == data[-5:]

    await vault.delete_artifact(artifact.id)
    with pytest.raises(NotFound):
        await vault.download_artifact(artifact.id)


async def test_text_is_sent_as_utf8(vault):
    artifact = await vault.upload_artifact("notes.txt", "grüße", content_type="text/markdown")
    assert artifact.content_type == "text/markdown"
    assert (await vault.download_artifact(artifact.id)).data == "grüße".encode()


async def test_a_file_streamed_up_and_down(vault, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(hashlib.sha256(b"seed").digest() * 20_000)
    artifact = await vault.upload_artifact("source.bin", file=source)
    assert artifact.size == source.stat().st_size

    target = tmp_path / "copy.bin"
    assert await vault.download_artifact_to(artifact.id, target) == artifact.size
    assert target.read_bytes() == source.read_bytes()
    assert not (tmp_path / "copy.bin.part").exists()


async def test_a_reference_has_no_content_to_download(vault, tmp_path):
    reference = await vault.create_artifact("elsewhere.pdf", path="s3://bucket/elsewhere.pdf")
    with pytest.raises(NotFound) as caught:
        await vault.download_artifact(reference.id)
    assert caught.value.code == "no_content"
    with pytest.raises(NotFound):
        await vault.download_artifact_to(reference.id, tmp_path / "never.pdf")
    assert list(tmp_path.iterdir()) == []


async def test_over_the_cap_is_refused_and_nothing_stored(vault, unique):
    session = await vault.create_session(unique)
    with pytest.raises(PayloadTooLarge) as caught:
        await vault.upload_artifact("huge.bin", b"\0" * (CAP + 1), session_id=session.id)
    assert caught.value.status == 413
    assert await vault.list_artifacts(session_id=session.id) == []


async def test_data_or_file_but_not_both(vault, tmp_path):
    with pytest.raises(TypeError):
        await vault.upload_artifact("x", b"1", file=tmp_path / "x")
    with pytest.raises(TypeError):
        await vault.upload_artifact("x")
