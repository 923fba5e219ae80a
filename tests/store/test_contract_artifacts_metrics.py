"""Store contract: artifacts and metrics."""

from __future__ import annotations

import pytest
from vault.store.errors import NotFound

from tests.store.conftest import BLOB_LOCATIONS, at, ids_of, new_session, point, record
from vault.inputs import NewArtifact
from vault.queries import ArtifactQuery, MetricQuery

# -- artifacts

# The artifact tests run on every blob store adapter, under every backend.
every_blob_kind = pytest.mark.parametrize("blob_kind", list(BLOB_LOCATIONS))


@every_blob_kind
async def test_create_artifact_keeps_every_field(backend_store):
    session = await new_session(backend_store)
    new = NewArtifact(
        name="report.pdf",
        session_id=session.id,
        type="document",
        path="/data/report.pdf",
        size=1234,
        content_type="application/pdf",
        metadata={"pages": 3},
    )

    artifact = await backend_store.create_artifact(new)

    assert artifact.id.startswith("artifact_")
    assert (artifact.session_id, artifact.name, artifact.type) == (session.id, "report.pdf", "document")
    assert (artifact.path, artifact.size, artifact.content_type) == ("/data/report.pdf", 1234, "application/pdf")
    assert artifact.metadata == {"pages": 3}
    assert await backend_store.get_artifact(artifact.id) == artifact


@every_blob_kind
async def test_artifact_may_belong_to_no_session(backend_store):
    artifact = await backend_store.create_artifact(NewArtifact(name="shared.bin"))

    assert (await backend_store.get_artifact(artifact.id)).session_id is None


@every_blob_kind
async def test_artifact_for_unknown_session_is_not_found_and_not_recorded(backend_store):
    with pytest.raises(NotFound):
        await backend_store.create_artifact(NewArtifact(name="x", session_id="session_missing"))

    assert (await backend_store.list_artifacts(ArtifactQuery())).items == []


@every_blob_kind
async def test_delete_artifact(backend_store):
    artifact = await backend_store.create_artifact(NewArtifact(name="x"))

    await backend_store.delete_artifact(artifact.id)

    with pytest.raises(NotFound):
        await backend_store.get_artifact(artifact.id)
    with pytest.raises(NotFound):
        await backend_store.delete_artifact(artifact.id)


@every_blob_kind
async def test_get_unknown_artifact_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await backend_store.get_artifact("artifact_missing")


@every_blob_kind
async def test_list_artifacts_filters_newest_first_and_pages(backend_store):
    one, two = await new_session(backend_store), await new_session(backend_store)
    specs = [(one.id, "file"), (two.id, "file"), (one.id, "image"), (None, "image"), (one.id, "file")]
    made = [
        await backend_store.create_artifact(NewArtifact(name=f"a{n}", session_id=s, type=t))
        for n, (s, t) in enumerate(specs)
    ]

    async def listed(**query) -> tuple[list[str], bool]:
        page = await backend_store.list_artifacts(ArtifactQuery(**query))
        return [a.name for a in page.items], page.has_more

    assert await listed() == (["a4", "a3", "a2", "a1", "a0"], False)
    assert await listed(session_id=one.id) == (["a4", "a2", "a0"], False)
    assert await listed(type="image") == (["a3", "a2"], False)
    assert await listed(session_id=one.id, type="file") == (["a4", "a0"], False)
    assert await listed(limit=2) == (["a4", "a3"], True)
    assert await listed(limit=2, offset=2) == (["a2", "a1"], True)
    assert await listed(limit=2, offset=4) == (["a0"], False)
    assert await listed(name="a2") == (["a2"], False)
    assert await listed(type="image", name="a1") == ([], False)
    assert len(set(ids_of(made))) == 5


# -- metrics


async def test_record_metrics_returns_every_point_with_its_fields(backend_store):
    session = await new_session(backend_store)

    recorded = await record(
        backend_store,
        point(2.5, entity_type="tool", entity_name="search", session_id=session.id, labels={"region": "eu"}),
        point(7, metric_name="tokens", timestamp=at(5)),
    )

    first, second = recorded
    assert first.id.startswith("metric_")
    assert (first.entity_type, first.entity_name, first.session_id) == ("tool", "search", session.id)
    assert (first.metric_name, first.value, first.labels) == ("latency_ms", 2.5, {"region": "eu"})
    assert first.timestamp is not None
    assert (second.entity_type, second.metric_name, second.value, second.timestamp) == ("agent", "tokens", 7, at(5))
    for metric in recorded:
        assert await backend_store.get_metric(metric.id) == metric


async def test_get_unknown_metric_is_not_found(backend_store):
    with pytest.raises(NotFound):
        await backend_store.get_metric("metric_missing")


async def test_record_metrics_is_all_or_nothing_for_an_unknown_session(backend_store):
    session = await new_session(backend_store)

    with pytest.raises(NotFound):
        await record(backend_store, point(session_id=session.id), point(session_id="session_missing"), point())

    assert (await backend_store.list_metrics(MetricQuery())).items == []


async def test_list_metrics_is_newest_first_by_timestamp(backend_store):
    # Recorded out of time order: the list follows the timestamps.
    await record(backend_store, *(point(float(m), timestamp=at(m)) for m in [3, 1, 4, 0, 2]))

    page = await backend_store.list_metrics(MetricQuery())

    assert [m.value for m in page.items] == [4, 3, 2, 1, 0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"entity_type": "tool"}, ["tool-search-tokens"]),
        ({"entity_name": "planner"}, ["agent-planner-tokens", "agent-planner-latency"]),
        ({"metric_name": "tokens"}, ["tool-search-tokens", "agent-planner-tokens"]),
        ({"entity_name": "planner", "metric_name": "latency"}, ["agent-planner-latency"]),
        ({"entity_name": "nobody"}, []),
    ],
)
async def test_list_metrics_applies_every_given_filter(backend_store, query, expected):
    for minute, tag in enumerate(["agent-planner-latency", "agent-planner-tokens", "tool-search-tokens"]):
        kind, name, metric = tag.split("-")
        await record(
            backend_store,
            point(entity_type=kind, entity_name=name, metric_name=metric, labels={"tag": tag}, timestamp=at(minute)),
        )

    page = await backend_store.list_metrics(MetricQuery(**query))

    assert [m.labels["tag"] for m in page.items] == expected


async def test_list_metrics_filters_by_session(backend_store):
    one, two = await new_session(backend_store), await new_session(backend_store)
    [mine] = await record(backend_store, point(session_id=one.id))
    await record(backend_store, point(session_id=two.id), point())

    assert ids_of((await backend_store.list_metrics(MetricQuery(session_id=one.id))).items) == [mine.id]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (2, 4, [4, 3, 2]),
        (2, None, [5, 4, 3, 2]),
        (None, 1, [1, 0]),
        (3, 3, [3]),
        (6, None, []),
    ],
)
async def test_list_metrics_time_range_includes_both_ends(backend_store, start, end, expected):
    await record(backend_store, *(point(float(m), timestamp=at(m)) for m in range(6)))

    query = MetricQuery(start_time=None if start is None else at(start), end_time=None if end is None else at(end))
    page = await backend_store.list_metrics(query)

    assert [m.value for m in page.items] == expected


@pytest.mark.parametrize(
    ("limit", "offset", "expected", "has_more"),
    [(2, 0, [4, 3], True), (2, 2, [2, 1], True), (2, 4, [0], False), (5, 0, [4, 3, 2, 1, 0], False)],
)
async def test_list_metrics_pages_with_limit_and_offset(backend_store, limit, offset, expected, has_more):
    await record(backend_store, *(point(float(m), timestamp=at(m)) for m in range(5)))

    page = await backend_store.list_metrics(MetricQuery(limit=limit, offset=offset))

    assert ([m.value for m in page.items], page.has_more) == (expected, has_more)
