"""State: one versioned JSON object per session, with ETag, If-Match and merge patch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import create_session
from tests.redistemp import private_prefix
from vault.config import Config

UNKNOWN_SESSION = "session_00000000000000deadbeef00"


# Where state lives: every test here runs on the main database and on real Redis.
@pytest.fixture(params=["database", "redis"])
async def state_home(request) -> AsyncIterator[dict[str, str]]:
    if request.param == "database":
        yield {}
        return
    async with private_prefix() as (url, prefix):
        yield {"state_url": url, "redis_prefix": prefix}


@pytest.fixture
def config(db_path, state_home) -> Config:
    return Config(db_path=db_path, **state_home)


def state_url(session_id: str) -> str:
    return f"/storage/state/{session_id}"


def etag(version: int) -> str:
    return f'"{version}"'


@pytest.fixture
async def session_id(client) -> str:
    return (await create_session(client))["id"]


async def get_state(client, session_id: str) -> dict[str, Any]:
    response = await client.get(state_url(session_id))
    assert response.status == 200, await response.text()
    body = await response.json()
    assert response.headers["ETag"] == etag(body["version"])
    return body


async def write_state(
    client, method: str, session_id: str, data: dict[str, Any], *, if_match: str | None = None
) -> dict[str, Any]:
    headers = {} if if_match is None else {"If-Match": if_match}
    response = await client.request(method, state_url(session_id), json={"data": data}, headers=headers)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert response.headers["ETag"] == etag(body["version"])
    return body


async def put_state(client, session_id: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return await write_state(client, "PUT", session_id, data, **kwargs)


async def patch_state(client, session_id: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return await write_state(client, "PATCH", session_id, data, **kwargs)


def assert_utc(text: str) -> None:
    assert datetime.fromisoformat(text).utcoffset() == timedelta(0), text


# -- reading


async def test_new_session_has_empty_state_at_version_zero(client, session_id):
    response = await client.get(state_url(session_id))
    assert response.status == 200
    assert response.headers["ETag"] == '"0"'
    body = await response.json()
    assert body["session_id"] == session_id
    assert body["data"] == {}
    assert body["version"] == 0


async def test_original_client_reads_data_with_a_default(client, session_id):
    await put_state(client, session_id, {"step": 3})
    response = await client.get(state_url(session_id))
    assert response.status == 200
    assert (await response.json()).get("data", {}) == {"step": 3}


# -- PUT


async def test_put_replaces_the_data_and_bumps_the_version(client, session_id):
    first = await put_state(client, session_id, {"a": 1, "nested": {"b": [1, 2]}})
    assert first["data"] == {"a": 1, "nested": {"b": [1, 2]}}
    assert first["version"] == 1
    assert_utc(first["updated_at"])

    second = await put_state(client, session_id, {"z": True})
    assert second["data"] == {"z": True}
    assert second["version"] == 2

    assert await get_state(client, session_id) == second


async def test_put_keeps_every_json_value_exactly(client, session_id):
    data = {
        "big": 10**30,
        "negative": -(10**20),
        "float": 0.1,
        "text": "naïve ☃ 🔑",
        "null": None,
        "empty": {},
        "list": [None, True, False, 1, "x", {"k": []}],
    }
    await put_state(client, session_id, data)
    assert (await get_state(client, session_id))["data"] == data


async def test_put_with_empty_data_still_counts_as_a_write(client, session_id):
    state = await put_state(client, session_id, {})
    assert state["data"] == {}
    assert state["version"] == 1


# -- If-Match


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_if_match_with_the_current_version_succeeds(client, session_id, method):
    await put_state(client, session_id, {"a": 1})
    response = await client.request(method, state_url(session_id), json={"data": {"b": 2}}, headers={"If-Match": '"1"'})
    assert response.status == 200, await response.text()
    assert response.headers["ETag"] == '"2"'
    assert (await get_state(client, session_id))["version"] == 2


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_if_match_with_a_stale_version_is_412_with_the_current_state(client, session_id, method):
    await put_state(client, session_id, {"a": 1})
    current = await put_state(client, session_id, {"a": 2})

    response = await client.request(method, state_url(session_id), json={"data": {"a": 3}}, headers={"If-Match": '"1"'})

    assert response.status == 412
    assert response.headers["ETag"] == '"2"'
    body = await response.json()
    assert body["error"] == "precondition_failed"
    assert isinstance(body["detail"], str)
    assert body["current"] == current
    # Nothing changed.
    assert await get_state(client, session_id) == current


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_if_match_zero_writes_only_when_there_is_no_state_yet(client, session_id, method):
    created = await write_state(client, method, session_id, {"owner": "first"}, if_match='"0"')
    assert created["version"] == 1

    response = await client.request(
        method, state_url(session_id), json={"data": {"owner": "second"}}, headers={"If-Match": '"0"'}
    )
    assert response.status == 412
    assert (await response.json())["current"]["data"] == {"owner": "first"}


async def test_if_match_star_matches_any_version(client, session_id):
    await put_state(client, session_id, {"a": 1})
    state = await put_state(client, session_id, {"a": 2}, if_match="*")
    assert state["version"] == 2


async def test_the_etag_from_a_read_is_the_if_match_for_the_next_write(client, session_id):
    await put_state(client, session_id, {"n": 1})
    response = await client.get(state_url(session_id))
    state = await put_state(client, session_id, {"n": 2}, if_match=response.headers["ETag"])
    assert state["data"] == {"n": 2}


# -- PATCH: RFC 7396 merge patch of `data`

MERGE_CASES = [
    # The examples of RFC 7396, appendix A, that have an object at the top.
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    # Nested objects merge level by level; arrays are replaced whole.
    ({"a": {"b": 1, "c": {"d": 2}}}, {"a": {"c": {"e": 3}}}, {"a": {"b": 1, "c": {"d": 2, "e": 3}}}),
    ({"list": [1, 2, 3]}, {"list": [4]}, {"list": [4]}),
    ({"list": [1, 2, 3]}, {"list": []}, {"list": []}),
    ({"a": {"b": 1}}, {"a": "flat"}, {"a": "flat"}),
    ({"a": "flat"}, {"a": {"b": None, "c": 1}}, {"a": {"c": 1}}),
    ({"missing": 1}, {"gone": None}, {"missing": 1}),
    ({"a": 1}, {}, {"a": 1}),
]


@pytest.mark.parametrize(("stored", "patch", "expected"), MERGE_CASES)
async def test_patch_is_a_json_merge_patch_of_data(client, session_id, stored, patch, expected):
    await put_state(client, session_id, stored)
    patched = await patch_state(client, session_id, patch)
    assert patched["data"] == expected
    assert patched["version"] == 2
    assert (await get_state(client, session_id))["data"] == expected


async def test_patch_without_state_patches_the_empty_object(client, session_id):
    state = await patch_state(client, session_id, {"a": 1, "b": None, "c": {"d": None}})
    assert state["data"] == {"a": 1, "c": {}}
    assert state["version"] == 1


async def test_patch_accepts_the_merge_patch_media_type(client, session_id):
    response = await client.patch(
        state_url(session_id),
        data=b'{"data": {"a": 1}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["data"] == {"a": 1}


async def test_patch_body_wraps_the_patch_in_data(client, session_id):
    response = await client.patch(state_url(session_id), json={"a": 1})
    assert response.status == 422
    locs = [error["loc"] for error in (await response.json())["errors"]]
    assert ["body", "data"] in locs
    assert ["body", "a"] in locs


async def test_concurrent_patches_of_different_keys_all_survive(client, session_id):
    count = 20
    responses = await asyncio.gather(
        *(client.patch(state_url(session_id), json={"data": {f"key{n}": n}}) for n in range(count))
    )
    assert [response.status for response in responses] == [200] * count
    versions = sorted([(await response.json())["version"] for response in responses])
    assert versions == list(range(1, count + 1))

    state = await get_state(client, session_id)
    assert state["data"] == {f"key{n}": n for n in range(count)}
    assert state["version"] == count


async def _increment_with_retry(client, session_id: str, max_attempts: int = 500) -> None:
    """Read, add one, write with If-Match; on 412 start again from the state the 412 carries."""
    state = await get_state(client, session_id)
    for _ in range(max_attempts):
        count = state["data"].get("count", 0)
        response = await client.put(
            state_url(session_id),
            json={"data": {"count": count + 1}},
            headers={"If-Match": etag(state["version"])},
        )
        if response.status == 200:
            return
        assert response.status == 412, await response.text()
        state = (await response.json())["current"]
    raise AssertionError(f"no write succeeded in {max_attempts} attempts")


async def test_concurrent_read_modify_write_with_if_match_loses_no_increment(client, session_id):
    workers = 20
    await asyncio.gather(*(_increment_with_retry(client, session_id) for _ in range(workers)))
    state = await get_state(client, session_id)
    assert state["data"] == {"count": workers}
    assert state["version"] == workers


# -- DELETE


async def test_delete_clears_the_data(client, session_id):
    await put_state(client, session_id, {"a": 1})
    response = await client.delete(state_url(session_id))
    assert response.status == 200
    assert await response.json() == {"status": "deleted", "session_id": session_id}

    state = await get_state(client, session_id)
    assert state["data"] == {}


async def test_delete_without_state_succeeds(client, session_id):
    response = await client.delete(state_url(session_id))
    assert response.status == 200
    assert (await get_state(client, session_id))["data"] == {}


# Reading of the contract: versions never go back, so a writer holding a
# pre-delete ETag cannot overwrite what came after the delete.
async def test_a_version_from_before_a_delete_no_longer_matches(client, session_id):
    before = await put_state(client, session_id, {"a": 1})
    response = await client.delete(state_url(session_id))
    assert response.status == 200
    after = await get_state(client, session_id)
    assert after["version"] > before["version"]

    stale = await client.put(
        state_url(session_id), json={"data": {"a": 2}}, headers={"If-Match": etag(before["version"])}
    )
    assert stale.status == 412


# -- unknown sessions


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("if_match", [None, '"0"'])
async def test_unknown_session_is_404(client, method, if_match):
    headers = {} if if_match is None else {"If-Match": if_match}
    body = None if method in ("GET", "DELETE") else {"data": {"a": 1}}
    response = await client.request(method, state_url(UNKNOWN_SESSION), json=body, headers=headers)
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_state_goes_with_its_session(client, session_id):
    await put_state(client, session_id, {"a": 1})
    response = await client.delete(f"/storage/sessions/{session_id}")
    assert response.status == 200
    response = await client.get(state_url(session_id))
    assert response.status == 404


async def test_state_is_per_session(client, session_id):
    other = (await create_session(client))["id"]
    await put_state(client, session_id, {"mine": 1})
    assert (await get_state(client, other))["data"] == {}
    assert (await get_state(client, other))["version"] == 0
