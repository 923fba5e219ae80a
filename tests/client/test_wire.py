"""How answers are read: leniently, so a newer service does not break an older client."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from vault.client import Busy, NotFound, ServerError, UnexpectedResponse, VaultError
from vault.client.wire import error_from_answer, structure, structure_list
from vault.models import Session

SESSION = {
    "id": "session_1",
    "agent_name": "a",
    "user_id": None,
    "status": "active",
    "metadata": {},
    "created_at": "2026-11-26T08:47:53.123456+00:00",
    "updated_at": "2026-11-26T08:47:53.123456+00:00",
    "message_count": 0,
}


def test_fields_a_newer_service_adds_are_ignored():
    # Rule: clients are lenient about extra response fields.
    assert structure({**SESSION, "archived_at": None, "owner": {"team": "x"}}, Session).id == "session_1"


def test_a_status_a_newer_service_adds_is_kept():
    assert structure({**SESSION, "status": "archived"}, Session).status == "archived"


def test_a_body_of_the_wrong_shape_is_an_unexpected_response():
    with pytest.raises(UnexpectedResponse):
        structure({"id": "session_1"}, Session)
    with pytest.raises(UnexpectedResponse):
        structure_list({"items": []}, Session)


def test_an_error_page_that_is_not_json():
    # A proxy's own page in front of the service: still a typed error, with its text.
    error = error_from_answer(502, CIMultiDict(), b"<html>Bad Gateway</html>")
    assert type(error) is ServerError
    assert (error.status, error.detail) == (502, "<html>Bad Gateway</html>")


def test_retry_after_as_an_http_date():
    error = error_from_answer(503, CIMultiDict({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), b"")
    assert isinstance(error, Busy) and error.retry_after == 0.0


def test_an_unknown_status_is_still_a_vault_error():
    error = error_from_answer(418, CIMultiDict(), b'{"detail": "short and stout", "error": "teapot"}')
    assert type(error) is VaultError
    assert (error.status, error.code, error.detail) == (418, "teapot", "short and stout")
    assert isinstance(error_from_answer(404, CIMultiDict(), b""), NotFound)
