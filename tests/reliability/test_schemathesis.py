"""Schemathesis against the OpenAPI description: no 5xx, and every answer as documented.

Every operation gets a bounded number of generated requests, valid and
invalid, sent to the real app on a free port; schemathesis's checks compare
each answer with the description (status code, content type, headers, body
schema) and fail on any 5xx.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import allow_header_conformance

from tests.reliability.live_app import LiveVault
from vault.config import Config
from vault.openapi.spec import openapi_spec

pytestmark = pytest.mark.slow

SPEC = openapi_spec()
schema = schemathesis.openapi.from_dict(SPEC)

CURSORS = ("after", "before", "offset")


def _template_pattern(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


# Paths that a templated sibling also matches (/storage/history/batch and
# /storage/history/{message_id}): their Allow header rightly names the
# sibling's methods too (GET /storage/history/batch looks up a message).
SHADOWED_PATHS = {
    path
    for path in SPEC["paths"]
    if "{" not in path and any(_template_pattern(other).match(path) for other in SPEC["paths"] if "{" in other)
}


def as_independent_request(case) -> None:
    """Make a valid case valid across requests and fields too, where a schema cannot say the rule.

    Invalid cases stay as generated: their point is to be refused.
    """
    if case.meta is not None and case.meta.generation.mode != GenerationMode.POSITIVE:
        return
    path, body = case.operation.path, case.body
    if case.headers and "Idempotency-Key" in case.headers:
        # Each case stands alone: a key shared with an earlier case and another
        # body is rightly a 422, so every case gets a key of its own.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex + case.headers["Idempotency-Key"][:200]
    if case.headers and "Vault-Min-LSN" in case.headers:
        # The generator does not always keep to a header's pattern ("0"): a valid case gets a valid position.
        case.headers["Vault-Min-LSN"] = "0/0"
    if case.headers and "If-Match" in case.headers and path.startswith("/storage/state/apps/"):
        # An app's or user's state always exists, so a generated version is a 412 unless it is
        # the current one by chance: a valid case expects any version.
        case.headers["If-Match"] = "*"
    if case.query and "metadata" in case.query and path == "/storage/threads/{thread_id}/checkpoints":
        # JSON text: a schema says a string, not that it parses to an object.
        case.query["metadata"] = '{"source": "loop", "step": 1}'
    if path == "/storage/history" and case.method == "GET" and case.query:
        # after, before and offset are three ways to page: one at a time.
        for name in [name for name in CURSORS if name in case.query][1:]:
            del case.query[name]
    if path == "/storage/events" and case.query:
        # A long poll waits up to a minute for an event that no case writes: past the client's timeout.
        case.query.pop("wait", None)
    if not isinstance(body, dict):
        return
    if path == "/storage/cache/{key}" and "key" in body:
        # A key in the body must equal the path's (which schemathesis keeps percent-encoded).
        body["key"] = unquote(case.path_parameters["key"])
    if path == "/storage/history/batch":
        # A message may repeat the batch's session_id, not name another.
        for message in body.get("messages", []):
            if "session_id" in message:
                message["session_id"] = body["session_id"]
    if path == "/storage/artifacts":
        # Stored bytes come in one form, and a size given with them must be theirs: leave it out.
        if "content" in body:
            body.pop("content_base64", None)
        if {"file", "content", "content_base64"} & body.keys():
            body.pop("size", None)


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    live = LiveVault(Config(db_path=str(tmp_path_factory.mktemp("schemathesis") / "vault.db")))
    live.start()
    yield live
    live.close()


def test_the_served_description_is_the_one_tested(vault):
    answer = vault.request("GET", "/openapi.json")
    assert answer.status == 200
    assert answer.body == SPEC


@schema.parametrize()
@settings(max_examples=20, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case, vault):
    as_independent_request(case)
    excluded = [allow_header_conformance] if case.operation.path in SHADOWED_PATHS else []
    case.call_and_validate(base_url=vault.url, excluded_checks=excluded)
