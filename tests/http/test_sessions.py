"""Sessions through the real app: /storage/sessions (CONTRACT sections 1 and 2)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import add_message, create_session

SESSION_FIELDS = {"id", "agent_name", "user_id", "status", "metadata", "created_at", "updated_at", "message_count"}


def next_link(response) -> str | None:
    """The target of `Link: <...>; rel="next"`, or None when there is no next page."""
    header = response.headers.get("Link")
    if header is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', header)
    assert match, header
    return match.group(1)


async def list_ids(client, path: str) -> tuple[list[str], str | None]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return [session["id"] for session in await response.json()], next_link(response)


async def expect_error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["error"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def error_locs(body: dict[str, Any]) -> list[list[Any]]:
    return [error["loc"] for error in body["errors"]]


# -- create


async def test_create_answers_201_with_the_whole_session_and_its_location(client):
    response = await client.post(
        "/storage/sessions", json={"agent_name": "researcher", "user_id": "u1", "metadata": {"source": "cli"}}
    )
    assert response.status == 201
    session = await response.json()
    assert set(session) == SESSION_FIELDS
    assert session["id"].startswith("session_")
    assert response.headers["Location"] == f"/storage/sessions/{session['id']}"
    assert session["agent_name"] == "researcher"
    assert session["user_id"] == "u1"
    assert session["status"] == "active"
    assert session["metadata"] == {"source": "cli"}
    assert session["message_count"] == 0
    assert session["created_at"] == session["updated_at"]


async def test_create_with_only_agent_name_uses_the_defaults(client):
    session = await create_session(client)
    assert session["user_id"] is None
    assert session["status"] == "active"
    assert session["metadata"] == {}


@pytest.mark.parametrize("status", ["active", "paused", "ended"])
async def test_create_with_a_given_status(client, status):
    session = await create_session(client, status=status)
    assert session["status"] == status


async def test_the_location_header_leads_to_the_created_session(client):
    response = await client.post("/storage/sessions", json={"agent_name": "a"})
    created = await response.json()
    fetched = await client.get(response.headers["Location"])
    assert fetched.status == 200
    assert await fetched.json() == created


async def test_every_session_gets_its_own_id(client):
    ids = {(await create_session(client))["id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "agent_name"]),
        ({"agent_name": ""}, ["body", "agent_name"]),
        ({"agent_name": "   "}, ["body", "agent_name"]),
        ({"agent_name": 7}, ["body", "agent_name"]),
        ({"agent_name": "a" * 257}, ["body", "agent_name"]),
        ({"agent_name": "a", "status": "archived"}, ["body", "status"]),
        ({"agent_name": "a", "user_id": 12}, ["body", "user_id"]),
        ({"agent_name": "a", "metadata": ["not", "an", "object"]}, ["body", "metadata"]),
        ({"agent_name": "a", "colour": "blue"}, ["body", "colour"]),
        ({"agent_name": "a", "id": "session_mine"}, ["body", "id"]),
        (["agent_name", "a"], ["body"]),
        ("a", ["body"]),
    ],
)
async def test_create_rejects_a_bad_body_with_422_naming_the_field(client, body, loc):
    error = await expect_error(await client.post("/storage/sessions", json=body), 422, "validation_error")
    assert loc in error_locs(error)


async def test_create_rejects_a_json_null_body(client):
    response = await client.post("/storage/sessions", data=b"null", headers={"Content-Type": "application/json"})
    error = await expect_error(response, 422, "validation_error")
    assert error_locs(error) == [["body"]]


async def test_create_names_every_bad_field(client):
    response = await client.post("/storage/sessions", json={"status": "nope", "metadata": 1})
    error = await expect_error(response, 422, "validation_error")
    assert sorted(error_locs(error)) == [["body", "agent_name"], ["body", "metadata"], ["body", "status"]]


async def test_create_rejects_a_body_that_is_not_json(client):
    response = await client.post(
        "/storage/sessions", data=b'{"agent_name": ', headers={"Content-Type": "application/json"}
    )
    await expect_error(response, 400, "invalid_json")


async def test_create_rejects_a_body_that_is_not_declared_as_json(client):
    response = await client.post(
        "/storage/sessions", data=b'{"agent_name": "a"}', headers={"Content-Type": "text/plain"}
    )
    await expect_error(response, 415, "unsupported_media_type")


async def test_a_rejected_create_writes_nothing(client):
    await client.post("/storage/sessions", json={"agent_name": "a", "status": "bogus"})
    ids, _ = await list_ids(client, "/storage/sessions")
    assert ids == []


# -- get


async def test_get_answers_the_session_as_created(client):
    session = await create_session(client, user_id="u", metadata={"k": [1, 2]})
    response = await client.get(f"/storage/sessions/{session['id']}")
    assert response.status == 200
    assert await response.json() == session


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_an_unknown_session_is_404_not_found(client, method):
    kwargs = {"json": {"status": "ended"}} if method in {"PUT", "PATCH"} else {}
    response = await client.request(method, "/storage/sessions/session_0000000000000000000000", **kwargs)
    await expect_error(response, 404, "not_found")


# -- update


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_changes_only_the_given_fields(client, method):
    session = await create_session(client, user_id="u1", metadata={"a": 1})
    response = await client.request(method, f"/storage/sessions/{session['id']}", json={"status": "paused"})
    assert response.status == 200
    updated = await response.json()
    assert updated["status"] == "paused"
    unchanged = {key: value for key, value in updated.items() if key not in {"status", "updated_at"}}
    assert unchanged == {key: value for key, value in session.items() if key not in {"status", "updated_at"}}
    assert updated["updated_at"] >= session["updated_at"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_merges_metadata_key_by_key_and_null_removes_a_key(client, method):
    session = await create_session(client, metadata={"keep": 1, "change": "old", "drop": True, "nested": {"x": 1}})
    response = await client.request(
        method,
        f"/storage/sessions/{session['id']}",
        json={"metadata": {"change": "new", "drop": None, "added": [1], "nested": {"y": 2}}},
    )
    assert response.status == 200
    expected = {"keep": 1, "change": "new", "added": [1], "nested": {"y": 2}}
    assert (await response.json())["metadata"] == expected
    stored = await (await client.get(f"/storage/sessions/{session['id']}")).json()
    assert stored["metadata"] == expected


async def test_null_for_a_metadata_key_that_is_not_there_is_harmless(client):
    session = await create_session(client, metadata={"a": 1})
    response = await client.put(f"/storage/sessions/{session['id']}", json={"metadata": {"missing": None}})
    assert (await response.json())["metadata"] == {"a": 1}


async def test_update_user_id_and_clear_it_with_null(client):
    session = await create_session(client, user_id="u1")
    path = f"/storage/sessions/{session['id']}"
    assert (await (await client.put(path, json={"user_id": "u2"})).json())["user_id"] == "u2"
    assert (await (await client.patch(path, json={"user_id": None})).json())["user_id"] is None
    assert (await (await client.get(path)).json())["user_id"] is None


async def test_an_empty_update_keeps_everything(client):
    session = await create_session(client, user_id="u1", metadata={"a": 1})
    response = await client.put(f"/storage/sessions/{session['id']}", json={})
    assert response.status == 200
    updated = await response.json()
    assert {k: v for k, v in updated.items() if k != "updated_at"} == {
        k: v for k, v in session.items() if k != "updated_at"
    }


async def test_the_update_answer_is_what_a_later_get_returns(client):
    session = await create_session(client)
    await add_message(client, session["id"])
    response = await client.patch(f"/storage/sessions/{session['id']}", json={"status": "ended", "metadata": {"x": 1}})
    updated = await response.json()
    assert updated["message_count"] == 1
    assert await (await client.get(f"/storage/sessions/{session['id']}")).json() == updated


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"status": "archived"}, ["body", "status"]),
        ({"status": None}, ["body", "status"]),
        ({"metadata": "text"}, ["body", "metadata"]),
        ({"user_id": ""}, ["body", "user_id"]),
        ({"agent_name": "renamed"}, ["body", "agent_name"]),
        ({"message_count": 5}, ["body", "message_count"]),
    ],
)
async def test_update_rejects_a_bad_body_and_changes_nothing(client, body, loc):
    session = await create_session(client)
    response = await client.put(f"/storage/sessions/{session['id']}", json=body)
    error = await expect_error(response, 422, "validation_error")
    assert loc in error_locs(error)
    assert await (await client.get(f"/storage/sessions/{session['id']}")).json() == session


# -- list


async def test_list_is_a_plain_array_newest_first(client):
    created = [(await create_session(client))["id"] for _ in range(4)]
    ids, link = await list_ids(client, "/storage/sessions")
    assert ids == created[::-1]
    assert link is None


async def test_list_of_nothing_is_an_empty_array(client):
    response = await client.get("/storage/sessions")
    assert response.status == 200
    assert await response.json() == []
    assert "Link" not in response.headers


async def test_list_items_are_whole_sessions(client):
    session = await create_session(client, user_id="u", metadata={"m": 1})
    response = await client.get("/storage/sessions")
    assert await response.json() == [session]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("agent_name=alpha", ["a3", "a2", "a1"]),
        ("agent_name=beta", ["b1"]),
        ("user_id=u1", ["b1", "a1"]),
        ("status=paused", ["b1", "a2"]),
        ("agent_name=alpha&status=paused", ["a2"]),
        ("agent_name=alpha&user_id=u1&status=active", ["a1"]),
        ("agent_name=nobody", []),
        ("agent_name=", ["b1", "a3", "a2", "a1"]),
    ],
)
async def test_list_filters_answer_matches_newest_first(client, query, expected):
    names = {}
    for label, agent, user, status in [
        ("a1", "alpha", "u1", "active"),
        ("a2", "alpha", "u2", "paused"),
        ("a3", "alpha", None, "ended"),
        ("b1", "beta", "u1", "paused"),
    ]:
        session = await create_session(client, agent_name=agent, user_id=user, status=status)
        names[session["id"]] = label
    ids, _ = await list_ids(client, f"/storage/sessions?{query}")
    assert [names[i] for i in ids] == expected


async def test_list_filter_sees_a_status_change(client):
    session = await create_session(client)
    await client.put(f"/storage/sessions/{session['id']}", json={"status": "ended"})
    assert (await list_ids(client, "/storage/sessions?status=active"))[0] == []
    assert (await list_ids(client, "/storage/sessions?status=ended"))[0] == [session["id"]]


async def test_limit_and_offset_page_through_newest_first(client):
    created = [(await create_session(client))["id"] for _ in range(5)]
    newest_first = created[::-1]
    assert (await list_ids(client, "/storage/sessions?limit=2"))[0] == newest_first[:2]
    assert (await list_ids(client, "/storage/sessions?limit=2&offset=2"))[0] == newest_first[2:4]
    assert (await list_ids(client, "/storage/sessions?limit=2&offset=4"))[0] == newest_first[4:]
    assert (await list_ids(client, "/storage/sessions?offset=10"))[0] == []


async def test_following_link_next_walks_every_session_once(client):
    created = [(await create_session(client, agent_name="pager"))["id"] for _ in range(7)]
    await create_session(client, agent_name="other")
    seen: list[str] = []
    pages = []
    path: str | None = "/storage/sessions?agent_name=pager&limit=3"
    while path is not None:
        ids, path = await list_ids(client, path)
        pages.append(len(ids))
        seen.extend(ids)
    assert pages == [3, 3, 1]
    assert seen == created[::-1]


async def test_no_link_when_the_page_ends_exactly_at_the_last_session(client):
    for _ in range(4):
        await create_session(client)
    _, first = await list_ids(client, "/storage/sessions?limit=2")
    assert first is not None
    ids, second = await list_ids(client, first)
    assert len(ids) == 2
    assert second is None
    assert (await list_ids(client, "/storage/sessions?limit=4"))[1] is None


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("limit=0", ["query", "limit"]),
        ("limit=1001", ["query", "limit"]),
        ("limit=ten", ["query", "limit"]),
        ("limit=99999999999999999999999", ["query", "limit"]),
        ("offset=-1", ["query", "offset"]),
        ("offset=1.5", ["query", "offset"]),
        ("status=archived", ["query", "status"]),
    ],
)
async def test_list_rejects_bad_query_values_with_422(client, query, loc):
    error = await expect_error(await client.get(f"/storage/sessions?{query}"), 422, "validation_error")
    assert error_locs(error) == [loc]


async def test_list_names_every_bad_query_value(client):
    error = await expect_error(
        await client.get("/storage/sessions?limit=0&offset=x&status=gone"), 422, "validation_error"
    )
    assert sorted(error_locs(error)) == [["query", "limit"], ["query", "offset"], ["query", "status"]]


@pytest.mark.parametrize("limit", [1, 1000])
async def test_list_accepts_the_limit_bounds(client, limit):
    await create_session(client)
    ids, _ = await list_ids(client, f"/storage/sessions?limit={limit}")
    assert len(ids) == 1


# -- delete


async def test_delete_answers_status_deleted_and_the_session_is_gone(client):
    session = await create_session(client)
    response = await client.delete(f"/storage/sessions/{session['id']}")
    assert response.status == 200
    assert await response.json() == {"status": "deleted", "session_id": session["id"]}
    await expect_error(await client.get(f"/storage/sessions/{session['id']}"), 404, "not_found")
    assert (await list_ids(client, "/storage/sessions"))[0] == []


async def test_deleting_twice_is_404_the_second_time(client):
    session = await create_session(client)
    assert (await client.delete(f"/storage/sessions/{session['id']}")).status == 200
    await expect_error(await client.delete(f"/storage/sessions/{session['id']}"), 404, "not_found")


async def populate(client, session_id: str) -> dict[str, Any]:
    """Give a session one of everything that belongs to it; answer their ids."""
    message = await add_message(client, session_id, "hi")
    state = await client.put(f"/storage/state/{session_id}", json={"data": {"step": 1}})
    assert state.status == 200, await state.text()
    artifact = await client.post(
        "/storage/artifacts", json={"session_id": session_id, "name": "report.md", "path": "/tmp/report.md"}
    )
    assert artifact.status == 201, await artifact.text()
    metric = await client.post(
        "/storage/metrics",
        json={"session_id": session_id, "entity_name": "agent", "metric_name": "tokens", "value": 3},
    )
    assert metric.status == 201, await metric.text()
    return {
        "message": message["id"],
        "artifact": (await artifact.json())["id"],
        "metric": (await metric.json())["id"],
    }


# Cascade deletes: the original never switched foreign keys on, so its deletes left orphans.
async def test_delete_removes_everything_of_the_session_and_nothing_of_others(client):
    doomed = (await create_session(client))["id"]
    kept = (await create_session(client))["id"]
    doomed_ids = await populate(client, doomed)
    kept_ids = await populate(client, kept)
    loose_artifact = await client.post("/storage/artifacts", json={"name": "no-session.txt"})
    loose_metric = await client.post(
        "/storage/metrics", json={"entity_name": "agent", "metric_name": "tokens", "value": 1}
    )

    assert (await client.delete(f"/storage/sessions/{doomed}")).status == 200

    for path in [
        f"/storage/history/{doomed_ids['message']}",
        f"/storage/artifacts/{doomed_ids['artifact']}",
        f"/storage/metrics/{doomed_ids['metric']}",
        f"/storage/state/{doomed}",
        f"/storage/history?session_id={doomed}",
    ]:
        await expect_error(await client.get(path), 404, "not_found")
    assert await (await client.get(f"/storage/artifacts?session_id={doomed}")).json() == []
    assert await (await client.get(f"/storage/metrics?session_id={doomed}")).json() == []

    for path in [
        f"/storage/sessions/{kept}",
        f"/storage/history/{kept_ids['message']}",
        f"/storage/artifacts/{kept_ids['artifact']}",
        f"/storage/metrics/{kept_ids['metric']}",
        f"/storage/artifacts/{(await loose_artifact.json())['id']}",
        f"/storage/metrics/{(await loose_metric.json())['id']}",
    ]:
        assert (await client.get(path)).status == 200, path
    assert (await (await client.get(f"/storage/state/{kept}")).json())["data"] == {"step": 1}
    assert len(await (await client.get(f"/storage/history?session_id={kept}")).json()) == 1


async def test_writes_for_a_deleted_session_are_404(client):
    session_id = (await create_session(client))["id"]
    await client.delete(f"/storage/sessions/{session_id}")
    response = await client.post("/storage/history", json={"session_id": session_id, "role": "user", "content": "x"})
    await expect_error(response, 404, "not_found")
    response = await client.put(f"/storage/state/{session_id}", json={"data": {}})
    await expect_error(response, 404, "not_found")
