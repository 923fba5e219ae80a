"""GET /storage/admin/storage and the same figures on /metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import create_session


async def test_storage_use_counts_what_was_sent_and_what_is_kept(client):
    session_id = (await create_session(client))["id"]
    text = "the same sentence about the weather in the city, again and again. " * 30
    for _ in range(3):
        response = await client.post(
            "/storage/history", json={"session_id": session_id, "role": "user", "content": text}
        )
        assert response.status == 201, await response.text()

    response = await client.get("/storage/admin/storage", params={"fresh": "true"})

    assert response.status == 200
    report = await response.json()
    assert set(report) == {"measured_at", "messages", "state", "cache", "artifacts"}
    assert report["messages"]["count"] == 3
    assert 0 < report["messages"]["stored_bytes"] < report["messages"]["raw_bytes"] / 4
    assert report["state"] == {"count": 0, "raw_bytes": 0, "stored_bytes": 0}

    metrics = {
        (family.name, sample.labels.get("kind")): sample.value
        for family in text_string_to_metric_families(await (await client.get("/metrics")).text())
        for sample in family.samples
    }
    assert metrics[("vault_stored_records", "messages")] == 3
    assert metrics[("vault_stored_bytes", "messages")] == report["messages"]["stored_bytes"]
    assert metrics[("vault_stored_raw_bytes", "messages")] == report["messages"]["raw_bytes"]


async def test_a_bad_fresh_value_is_a_422(client):
    response = await client.get("/storage/admin/storage", params={"fresh": "maybe"})

    assert response.status == 422
