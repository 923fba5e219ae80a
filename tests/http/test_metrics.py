"""Metrics: raw points, recorded one at a time or in batches, read back filtered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from yarl import URL

from tests.conftest import create_session
from vault.config import Config

UNKNOWN_SESSION = "session_00000000000000deadbeef00"


@pytest.fixture
def config(db_path) -> Config:
    # Rollups (which prune old raw points) stay out of the way of these fixed timestamps.
    return Config(db_path=db_path, rollup_seconds=86_400, cache_sweep_seconds=86_400)


def point(**fields: Any) -> dict[str, Any]:
    return {"entity_name": "planner", "metric_name": "latency_ms", "value": 1.5, **fields}


def at(minute: int) -> str:
    """A fixed UTC timestamp, `minute` minutes after noon on 1 March 2026, in canonical form."""
    return (datetime(2026, 3, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minute)).isoformat(timespec="microseconds")


async def record(client, **fields: Any) -> dict[str, Any]:
    response = await client.post("/storage/metrics", json=point(**fields))
    assert response.status == 201, await response.text()
    return await response.json()


async def record_batch(client, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = await client.post("/storage/metrics/batch", json={"metrics": points})
    assert response.status == 201, await response.text()
    return await response.json()


async def list_metrics(client, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/storage/metrics", params={key: str(value) for key, value in params.items()})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert isinstance(body, list)
    return body


def tags(metrics: list[dict[str, Any]]) -> list[str]:
    return [metric["labels"]["tag"] for metric in metrics]


def next_link(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    target, rel = link.split(";", 1)
    assert rel.strip() == 'rel="next"'
    return target.strip().removeprefix("<").removesuffix(">")


# -- one point


async def test_record_one_point(client):
    session = await create_session(client)
    response = await client.post(
        "/storage/metrics",
        json=point(entity_type="tool", session_id=session["id"], value=42, labels={"region": "eu"}, timestamp=at(0)),
    )
    assert response.status == 201
    metric = await response.json()
    assert metric["id"].startswith("metric_")
    assert response.headers["Location"] == f"/storage/metrics/{metric['id']}"
    assert metric == {
        "id": metric["id"],
        "entity_type": "tool",
        "entity_name": "planner",
        "session_id": session["id"],
        "metric_name": "latency_ms",
        "value": 42,
        "labels": {"region": "eu"},
        "timestamp": at(0),
    }

    fetched = await client.get(response.headers["Location"])
    assert fetched.status == 200
    assert await fetched.json() == metric


async def test_defaults(client):
    before = datetime.now(UTC)
    metric = await record(client)
    after = datetime.now(UTC)
    assert metric["entity_type"] == "agent"
    assert metric["session_id"] is None
    assert metric["labels"] == {}
    stamp = datetime.fromisoformat(metric["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert metric["timestamp"].endswith("+00:00")
    assert before - timedelta(seconds=1) <= stamp <= after + timedelta(seconds=1)


async def test_null_timestamp_means_now(client):
    metric = await record(client, timestamp=None)
    assert datetime.fromisoformat(metric["timestamp"]).utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", [0, -3, 2.5, 1e-300, 1e18, -(10**18)])
async def test_value_is_any_finite_number_up_to_1e18(client, value):
    metric = await record(client, value=value)
    assert metric["value"] == float(value)


@pytest.mark.parametrize("value", [1.7e308, -1.7e308, 1e300, 10**30, 1e18 * 1.0000001])
async def test_value_beyond_1e18_is_422(client, value):
    # Rule: no input may make a rollup sum overflow to infinity (then NaN), which wedged the fold.
    response = await client.post(
        "/storage/metrics", json={"entity_name": "agent", "metric_name": "latency_ms", "value": value}
    )
    assert response.status == 422
    assert (await response.json())["errors"][0]["loc"] == ["body", "value"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00.000000+00:00"),
        ("2026-03-01T12:00:00z", "2026-03-01T12:00:00.000000+00:00"),
        ("2026-03-01T12:00:00+00:00", "2026-03-01T12:00:00.000000+00:00"),
        ("2026-03-01T14:30:00+02:30", "2026-03-01T12:00:00.000000+00:00"),
        ("2026-03-01T07:00:00.5-05:00", "2026-03-01T12:00:00.500000+00:00"),
        ("2026-03-01T12:00:00.123456+00:00", "2026-03-01T12:00:00.123456+00:00"),
        ("2026-03-01T12:00:00", "2026-03-01T12:00:00.000000+00:00"),
        ("2026-03-01 12:00:00", "2026-03-01T12:00:00.000000+00:00"),
        ("2026-03-02T01:00:00+13:00", "2026-03-01T12:00:00.000000+00:00"),
        ("2026-03-01", "2026-03-01T00:00:00.000000+00:00"),
    ],
)
async def test_timestamp_in_any_iso_form_is_stored_in_utc(client, given, stored):
    metric = await record(client, timestamp=given)
    assert metric["timestamp"] == stored
    assert [m["timestamp"] for m in await list_metrics(client)] == [stored]


async def test_labels_map_strings_to_strings(client):
    labels = {"region": "eu-west", "": "empty name", "unicode ☃": "välue", "empty": ""}
    metric = await record(client, labels=labels)
    assert metric["labels"] == labels
    assert (await list_metrics(client))[0]["labels"] == labels


@pytest.mark.parametrize(
    "labels",
    [{"n": 1}, {"n": None}, {"n": True}, {"n": {"nested": "x"}}, {"n": ["x"]}, ["x"], "x"],
    ids=repr,
)
async def test_labels_that_are_not_string_to_string_are_422(client, labels):
    response = await client.post("/storage/metrics", json=point(labels=labels))
    assert response.status == 422
    assert [error["loc"] for error in (await response.json())["errors"]] == [["body", "labels"]]
    assert await list_metrics(client) == []


async def test_unknown_session_is_404_and_nothing_is_recorded(client):
    response = await client.post("/storage/metrics", json=point(session_id=UNKNOWN_SESSION))
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"
    assert await list_metrics(client) == []


async def test_unknown_metric_id_is_404(client):
    response = await client.get("/storage/metrics/metric_00000000000000deadbeef00")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


# -- batches


async def test_batch_records_every_point_in_order(client):
    points = [point(labels={"tag": str(n)}, timestamp=at(n)) for n in range(5)]
    recorded = await record_batch(client, points)
    assert tags(recorded) == ["0", "1", "2", "3", "4"]
    assert len({metric["id"] for metric in recorded}) == 5
    assert tags(await list_metrics(client)) == ["4", "3", "2", "1", "0"]


async def test_batch_with_one_invalid_point_records_nothing(client):
    points = [point(), point(value="fast"), point()]
    response = await client.post("/storage/metrics/batch", json={"metrics": points})
    assert response.status == 422
    assert [error["loc"] for error in (await response.json())["errors"]] == [["body", "metrics", 1, "value"]]
    assert await list_metrics(client) == []


async def test_batch_with_one_unknown_session_records_nothing(client):
    session = await create_session(client)
    points = [point(session_id=session["id"]), point(session_id=UNKNOWN_SESSION)]
    response = await client.post("/storage/metrics/batch", json={"metrics": points})
    assert response.status == 404
    assert await list_metrics(client) == []


@pytest.mark.parametrize("metrics", [[], {}, None, "x"], ids=repr)
async def test_batch_needs_a_non_empty_array(client, metrics):
    response = await client.post("/storage/metrics/batch", json={"metrics": metrics})
    assert response.status == 422
    assert [error["loc"] for error in (await response.json())["errors"]] == [["body", "metrics"]]


async def test_batch_of_more_than_1000_points_is_422(client):
    response = await client.post("/storage/metrics/batch", json={"metrics": [point()] * 1001})
    assert response.status == 422
    assert await list_metrics(client) == []


# -- reading: filters


@pytest.fixture
async def seeded(client) -> dict[str, str]:
    """Five points that differ in one field each; labels.tag names them."""
    first = (await create_session(client))["id"]
    second = (await create_session(client))["id"]
    await record_batch(
        client,
        [
            point(labels={"tag": "a"}, timestamp=at(0), session_id=first),
            point(labels={"tag": "b"}, timestamp=at(1), session_id=first, metric_name="tokens"),
            point(labels={"tag": "c"}, timestamp=at(2), session_id=second, entity_name="critic"),
            point(labels={"tag": "d"}, timestamp=at(3), entity_type="tool", entity_name="search"),
            point(labels={"tag": "e"}, timestamp=at(4), entity_type="tool", entity_name="planner"),
        ],
    )
    return {"first": first, "second": second}


async def test_list_is_newest_first(client, seeded):
    assert tags(await list_metrics(client)) == ["e", "d", "c", "b", "a"]


async def test_newest_first_by_timestamp_not_by_arrival(client):
    for minute, tag in [(5, "late"), (1, "early"), (3, "middle")]:
        await record(client, labels={"tag": tag}, timestamp=at(minute))
    assert tags(await list_metrics(client)) == ["late", "middle", "early"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"entity_type": "agent"}, ["c", "b", "a"]),
        ({"entity_type": "tool"}, ["e", "d"]),
        ({"entity_name": "planner"}, ["e", "b", "a"]),
        ({"entity_name": "critic"}, ["c"]),
        ({"metric_name": "tokens"}, ["b"]),
        ({"metric_name": "latency_ms"}, ["e", "d", "c", "a"]),
        ({"entity_type": "tool", "entity_name": "planner"}, ["e"]),
        ({"entity_name": "nobody"}, []),
    ],
)
async def test_filters(client, seeded, params, expected):
    assert tags(await list_metrics(client, **params)) == expected


async def test_filter_by_session(client, seeded):
    assert tags(await list_metrics(client, session_id=seeded["first"])) == ["b", "a"]
    assert tags(await list_metrics(client, session_id=seeded["second"])) == ["c"]


# Reading of the contract: session_id here is a filter, so one that matches no point gives an empty list.
async def test_filter_by_unknown_session_is_empty(client, seeded):
    assert await list_metrics(client, session_id=UNKNOWN_SESSION) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start_time": at(1)}, ["e", "d", "c", "b"]),
        ({"end_time": at(3)}, ["d", "c", "b", "a"]),
        ({"start_time": at(1), "end_time": at(3)}, ["d", "c", "b"]),
        ({"start_time": at(2), "end_time": at(2)}, ["c"]),
        ({"start_time": "2026-03-01T12:01:00Z", "end_time": "2026-03-01T12:01:00Z"}, ["b"]),
        ({"start_time": "2026-03-01T13:02:00+01:00"}, ["e", "d", "c"]),
        ({"end_time": "2026-03-01T12:01:00"}, ["b", "a"]),
        ({"start_time": "2026-03-01T12:01:00.000001Z"}, ["e", "d", "c"]),
        ({"end_time": "2026-03-01T12:00:59.999999Z"}, ["a"]),
        ({"start_time": at(4), "end_time": at(0)}, []),
        ({"start_time": "2026-03-01"}, ["e", "d", "c", "b", "a"]),
        ({"start_time": "2026-03-02"}, []),
    ],
)
async def test_time_range_is_inclusive_and_takes_any_iso_form(client, seeded, params, expected):
    assert tags(await list_metrics(client, **params)) == expected


async def test_time_range_with_other_filters(client, seeded):
    params = {"entity_name": "planner", "start_time": at(1), "end_time": at(4)}
    assert tags(await list_metrics(client, **params)) == ["e", "b"]


# -- reading: paging


async def test_limit_and_offset_page_through_with_link(client, seeded):
    response = await client.get("/storage/metrics", params={"limit": "2"})
    assert response.status == 200
    pages = [tags(await response.json())]
    link = next_link(response)
    while link is not None:
        response = await client.get(link)
        assert response.status == 200
        pages.append(tags(await response.json()))
        link = next_link(response)
    assert pages == [["e", "d"], ["c", "b"], ["a"]]


async def test_link_keeps_the_filters(client, seeded):
    response = await client.get("/storage/metrics", params={"entity_name": "planner", "limit": "1"})
    link = next_link(response)
    assert link is not None
    assert URL(link).query["entity_name"] == "planner"
    follow = await client.get(link)
    assert tags(await follow.json()) == ["b"]


async def test_no_link_on_the_last_page(client, seeded):
    response = await client.get("/storage/metrics", params={"limit": "5"})
    assert len(await response.json()) == 5
    assert "Link" not in response.headers


async def test_offset_past_the_end_is_empty(client, seeded):
    assert await list_metrics(client, offset=10) == []


async def test_offset_without_limit(client, seeded):
    assert tags(await list_metrics(client, offset=3)) == ["b", "a"]


# -- sessions own their points


async def test_points_go_with_their_session(client, seeded):
    response = await client.delete(f"/storage/sessions/{seeded['first']}")
    assert response.status == 200
    assert tags(await list_metrics(client)) == ["e", "d", "c"]
