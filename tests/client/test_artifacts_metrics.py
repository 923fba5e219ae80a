"""Artifacts and metrics through both clients, against the real service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.client.harness import collect
from vault.client import NotFound
from vault.models import Artifact, Metric

ROLLUP_DEADLINE = 30.0


async def test_artifact_references(vault, unique):
    session = await vault.create_session(unique)
    report = await vault.create_artifact(
        "report.pdf",
        session_id=session.id,
        type="document",
        path="s3://bucket/report.pdf",
        size=2048,
        content_type="application/pdf",
        metadata={"pages": 3},
    )
    assert isinstance(report, Artifact)
    assert (report.name, report.type, report.path, report.size) == (
        "report.pdf",
        "document",
        "s3://bucket/report.pdf",
        2048,
    )
    notes = await vault.create_artifact("notes.txt", session_id=session.id)
    assert notes.type == "file"

    assert await vault.get_artifact(report.id) == report
    assert [a.id for a in await vault.list_artifacts(session_id=session.id)] == [notes.id, report.id]
    assert [a.id for a in await vault.list_artifacts(session_id=session.id, type="document")] == [report.id]
    assert [a.id for a in await vault.list_artifacts(session_id=session.id, limit=1, offset=1)] == [report.id]
    assert [a.id for a in await collect(vault.iter_artifacts(session_id=session.id, page_size=1))] == [
        notes.id,
        report.id,
    ]

    assert await vault.delete_artifact(report.id) is None
    with pytest.raises(NotFound):
        await vault.get_artifact(report.id)


async def test_metrics_points_and_pages(vault, unique):
    session = await vault.create_session(unique)
    start = datetime.now(UTC) - timedelta(minutes=10)
    one = await vault.record_metric(
        unique, "latency_ms", 120, session_id=session.id, labels={"model": "a"}, timestamp=start
    )
    assert isinstance(one, Metric)
    assert (one.value, one.labels, one.entity_type) == (120.0, {"model": "a"}, "agent")
    assert datetime.fromisoformat(one.timestamp) == start

    batch = await vault.record_metrics(
        [
            {
                "entity_name": unique,
                "metric_name": "latency_ms",
                "value": 80,
                "timestamp": start + timedelta(minutes=1),
            },
            {"entity_name": unique, "metric_name": "tokens", "value": 512, "entity_type": "tool"},
        ]
    )
    assert [m.metric_name for m in batch] == ["latency_ms", "tokens"]

    assert await vault.get_metric(one.id) == one
    latency = await vault.list_metrics(entity_name=unique, metric_name="latency_ms")
    assert [m.id for m in latency] == [batch[0].id, one.id]  # newest first
    assert [m.id for m in await vault.list_metrics(entity_name=unique, entity_type="tool")] == [batch[1].id]
    assert [m.id for m in await vault.list_metrics(session_id=session.id)] == [one.id]
    window = await vault.list_metrics(
        entity_name=unique, start_time=start + timedelta(seconds=30), end_time=start + timedelta(minutes=2)
    )
    assert [m.id for m in window] == [batch[0].id]
    paged = await collect(vault.iter_metrics(entity_name=unique, page_size=1))
    assert sorted(m.id for m in paged) == sorted([one.id, *(m.id for m in batch)])

    with pytest.raises(NotFound):
        await vault.get_metric("metric_0000")


async def test_rollups_once_the_job_has_folded_the_points(vault, unique):
    await vault.record_metrics([{"entity_name": unique, "metric_name": "cost", "value": value} for value in (1, 2, 6)])
    # The rollup job runs every second on this service; wait for it, not for a time.
    async with asyncio.timeout(ROLLUP_DEADLINE):
        while not (rollups := await vault.get_rollups("cost", entity_name=unique, bucket="minute")):
            await asyncio.sleep(0.05)
    [bucket] = rollups
    assert (bucket.count, bucket.sum, bucket.min, bucket.max, bucket.avg) == (3, 9.0, 1.0, 6.0, 3.0)
    assert await vault.get_rollups("cost", entity_name=unique, bucket="day") != []
