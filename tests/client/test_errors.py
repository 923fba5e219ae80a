"""Error answers of the real service arrive as typed exceptions with its words."""

from __future__ import annotations

import pytest

from vault.client import IdempotencyKeyReused, NotFound, ValidationError, VaultError


async def test_not_found_carries_status_code_and_detail(vault):
    with pytest.raises(NotFound) as caught:
        await vault.get_session("session_does_not_exist")
    error = caught.value
    assert isinstance(error, VaultError)
    assert (error.status, error.code) == (404, "not_found")
    assert "session_does_not_exist" in error.detail
    assert error.body == {"detail": error.detail, "error": "not_found"}
    assert error.headers["content-type"].startswith("application/json")


async def test_validation_error_names_every_bad_field(vault, unique):
    with pytest.raises(ValidationError) as caught:
        await vault.record_metric(unique, " ", 1.0, labels={"model": 3})
    error = caught.value
    assert (error.status, error.code) == (422, "validation_error")
    assert sorted(e["loc"] for e in error.errors) == [["body", "labels"], ["body", "metric_name"]]
    assert all(e["msg"] for e in error.errors)


async def test_bad_query_values_are_validation_errors(vault):
    with pytest.raises(ValidationError) as caught:
        await vault.list_sessions(status="sleeping", limit=5000)
    assert sorted(e["loc"] for e in caught.value.errors) == [["query", "limit"], ["query", "status"]]


async def test_a_reused_idempotency_key_with_another_body(vault, unique):
    key = f"{unique}-key"
    first = await vault.create_session(unique, idempotency_key=key)
    # The same key and body: the first answer again, nothing written twice.
    assert await vault.create_session(unique, idempotency_key=key) == first
    assert [s.id for s in await vault.list_sessions(agent_name=unique)] == [first.id]
    with pytest.raises(IdempotencyKeyReused) as caught:
        await vault.create_session(f"{unique}-other", idempotency_key=key)
    assert isinstance(caught.value, ValidationError)
    assert (caught.value.status, caught.value.code) == (422, "idempotency_key_reused")


def test_numbers_that_are_not_json_fail_before_sending(service):
    from vault.client import VaultClient

    with VaultClient(service.url) as vault, pytest.raises(ValueError):
        vault.record_metric("agent", "latency", float("nan"))
