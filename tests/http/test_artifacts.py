"""Artifacts as JSON references: metadata about content stored elsewhere."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import create_session

UNKNOWN_SESSION = "session_00000000000000deadbeef00"
UNKNOWN_ARTIFACT = "artifact_00000000000000deadbeef00"


@pytest.fixture
async def session_id(client) -> str:
    return (await create_session(client))["id"]


async def create_artifact(client, **fields: Any) -> dict[str, Any]:
    response = await client.post("/storage/artifacts", json={"name": "report.pdf", **fields})
    assert response.status == 201, await response.text()
    artifact = await response.json()
    assert response.headers["Location"] == f"/storage/artifacts/{artifact['id']}"
    return artifact


async def list_artifacts(client, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/storage/artifacts", params={key: str(value) for key, value in params.items()})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert isinstance(body, list)
    return body


def names(artifacts: list[dict[str, Any]]) -> list[str]:
    return [artifact["name"] for artifact in artifacts]


async def assert_not_found(response) -> None:
    assert response.status == 404
    body = await response.json()
    assert body["error"] == "not_found"
    assert isinstance(body["detail"], str)


# -- create and read


async def test_create_a_reference_and_read_it_back(client, session_id):
    artifact = await create_artifact(
        client,
        session_id=session_id,
        name="chart.png",
        type="image",
        path="s3://bucket/charts/chart.png",
        size=2048,
        content_type="image/png",
        metadata={"width": 640, "tags": ["q3"]},
    )
    assert artifact["id"].startswith("artifact_")
    assert artifact == {
        "id": artifact["id"],
        "session_id": session_id,
        "name": "chart.png",
        "type": "image",
        "content_type": "image/png",
        "path": "s3://bucket/charts/chart.png",
        "size": 2048,
        "sha256": None,
        "metadata": {"width": 640, "tags": ["q3"]},
        "created_at": artifact["created_at"],
    }
    assert datetime.fromisoformat(artifact["created_at"]).utcoffset() == timedelta(0)

    response = await client.get(f"/storage/artifacts/{artifact['id']}")
    assert response.status == 200
    assert await response.json() == artifact


async def test_defaults(client):
    artifact = await create_artifact(client, name="notes.txt")
    assert artifact["session_id"] is None
    assert artifact["type"] == "file"
    assert artifact["path"] is None
    assert artifact["size"] is None
    assert artifact["metadata"] == {}


async def test_the_original_clients_fields(client, session_id):
    artifact = await create_artifact(
        client, session_id=session_id, name="out.csv", type="data", path="/data/out.csv", size=10, metadata={"a": 1}
    )
    assert (artifact["session_id"], artifact["name"], artifact["type"]) == (session_id, "out.csv", "data")
    assert (artifact["path"], artifact["size"], artifact["metadata"]) == ("/data/out.csv", 10, {"a": 1})


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("../../etc/passwd", "../../etc/passwd"),
        ("/etc/shadow", "/etc/shadow"),
        ("..\\..\\windows\\system32", "C:\\windows\\system32"),
        ("name with spaces; rm -rf /", "file:///etc/passwd"),
        ("отчёт 📄.pdf", "s3://bücket/ключ"),
        ("<script>alert(1)</script>", "javascript:alert(1)"),
    ],
)
async def test_names_and_paths_are_just_data(client, session_id, name, path):
    artifact = await create_artifact(client, session_id=session_id, name=name, path=path)
    assert (artifact["name"], artifact["path"]) == (name, path)
    fetched = await client.get(f"/storage/artifacts/{artifact['id']}")
    assert (await fetched.json())["name"] == name
    assert names(await list_artifacts(client, session_id=session_id)) == [name]


async def test_metadata_keeps_huge_integers_exactly(client):
    artifact = await create_artifact(client, metadata={"big": 10**30, "neg": -(10**25)})
    fetched = await client.get(f"/storage/artifacts/{artifact['id']}")
    assert (await fetched.json())["metadata"] == {"big": 10**30, "neg": -(10**25)}


@pytest.mark.parametrize("size", [0, 2**63 - 1])
async def test_size_bounds(client, size):
    assert (await create_artifact(client, size=size))["size"] == size


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"size": -1}, ["body", "size"]),
        ({"size": 2**63}, ["body", "size"]),
        ({"size": 1.5}, ["body", "size"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "   "}, ["body", "name"]),
        ({"name": "x" * 257}, ["body", "name"]),
        ({"type": ""}, ["body", "type"]),
        ({"metadata": []}, ["body", "metadata"]),
        ({"path": 7}, ["body", "path"]),
    ],
    ids=str,
)
async def test_invalid_fields_are_422(client, fields, loc):
    response = await client.post("/storage/artifacts", json={"name": "a", **fields})
    assert response.status == 422
    assert [error["loc"] for error in (await response.json())["errors"]] == [loc]
    assert await list_artifacts(client) == []


async def test_unknown_session_is_404_and_nothing_is_stored(client):
    response = await client.post("/storage/artifacts", json={"name": "a", "session_id": UNKNOWN_SESSION})
    await assert_not_found(response)
    assert await list_artifacts(client) == []


# -- list


async def test_list_is_newest_first(client):
    for name in ("first", "second", "third"):
        await create_artifact(client, name=name)
    assert names(await list_artifacts(client)) == ["third", "second", "first"]


async def test_list_by_session_and_type(client, session_id):
    other = (await create_session(client))["id"]
    await create_artifact(client, name="a", session_id=session_id, type="image")
    await create_artifact(client, name="b", session_id=session_id, type="code")
    await create_artifact(client, name="c", session_id=other, type="image")
    await create_artifact(client, name="d", session_id=session_id, type="image")
    await create_artifact(client, name="e", type="image")

    assert names(await list_artifacts(client, session_id=session_id)) == ["d", "b", "a"]
    assert names(await list_artifacts(client, type="image")) == ["e", "d", "c", "a"]
    assert names(await list_artifacts(client, session_id=session_id, type="image")) == ["d", "a"]
    assert names(await list_artifacts(client, session_id=other)) == ["c"]
    assert await list_artifacts(client, type="video") == []


# Reading of the contract: session_id here is a filter, so one that matches nothing gives an empty list.
async def test_list_by_unknown_session_is_empty(client):
    await create_artifact(client)
    assert await list_artifacts(client, session_id=UNKNOWN_SESSION) == []


async def test_list_pages_with_limit_offset_and_link(client):
    for n in range(5):
        await create_artifact(client, name=f"a{n}")
    response = await client.get("/storage/artifacts", params={"limit": "2"})
    pages = [names(await response.json())]
    while "Link" in response.headers:
        target, rel = response.headers["Link"].split(";", 1)
        assert rel.strip() == 'rel="next"'
        response = await client.get(target.strip().strip("<>"))
        assert response.status == 200
        pages.append(names(await response.json()))
    assert pages == [["a4", "a3"], ["a2", "a1"], ["a0"]]


# -- delete


async def test_delete(client, session_id):
    kept = await create_artifact(client, name="kept", session_id=session_id)
    gone = await create_artifact(client, name="gone", session_id=session_id)

    response = await client.delete(f"/storage/artifacts/{gone['id']}")
    assert response.status == 200
    assert await response.json() == {"status": "deleted", "artifact_id": gone["id"]}

    await assert_not_found(await client.get(f"/storage/artifacts/{gone['id']}"))
    await assert_not_found(await client.delete(f"/storage/artifacts/{gone['id']}"))
    assert [artifact["id"] for artifact in await list_artifacts(client, session_id=session_id)] == [kept["id"]]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_unknown_artifact_is_404(client, method):
    await assert_not_found(await client.request(method, f"/storage/artifacts/{UNKNOWN_ARTIFACT}"))


async def test_artifacts_go_with_their_session(client, session_id):
    owned = await create_artifact(client, name="owned", session_id=session_id)
    loose = await create_artifact(client, name="loose")
    response = await client.delete(f"/storage/sessions/{session_id}")
    assert response.status == 200
    await assert_not_found(await client.get(f"/storage/artifacts/{owned['id']}"))
    assert names(await list_artifacts(client)) == [loose["name"]]
