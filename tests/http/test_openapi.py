"""/openapi.json and /docs: the description is valid, complete, and true to the code.

Every response of every handler test is also checked against it, through the
test client (tests/openapi_check.py); the tests here cover what that cannot.
"""

from __future__ import annotations

import copy
import re
import typing

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.conftest import create_session
from tests.openapi_check import SpecChecker, pointer, schema_validator, spec_registry
from vault import inputs
from vault.converter import MAX_NAME_LENGTH, converter
from vault.inputs import MAX_TTL
from vault.openapi.schemas import FIELD_RULES
from vault.openapi.spec import OPERATIONS, openapi_spec, spec_json


async def test_the_served_description_is_valid_openapi_3_1(client):
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.read() == spec_json()
    spec = await response.json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def registered_routes(app) -> set[tuple[str, str]]:
    # aiohttp adds a HEAD beside every GET; it is the same operation.
    return {(route.method, route.resource.canonical) for route in app.router.routes() if route.method != "HEAD"}


def described_routes(spec) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, methods in spec["paths"].items() for method in methods}


async def test_every_registered_route_is_described(client):
    # Rule: a route cannot be added without its OpenAPI description.
    missing = registered_routes(client.app) - described_routes(openapi_spec())
    assert not missing, f"routes with no description (@described beside the handler): {sorted(missing)}"


async def test_every_described_route_exists(client):
    # Rule: the description names no route that the service does not have.
    extra = described_routes(openapi_spec()) - registered_routes(client.app)
    assert not extra, f"descriptions of routes that are not registered: {sorted(extra)}"


async def test_docs_page_is_html_from_the_package_only(client):
    # Rule: /docs works without internet: no external scripts, styles, fonts or images.
    response = await client.get("/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "<script" in page and "openapi.json" in page
    assert not re.search(r"(?i)\b(?:https?:|ftp:|wss?:)?//[a-z0-9.-]+\.[a-z]{2,}", page), "an external URL"
    for attribute in re.findall(r"""(?i)\b(?:src|href|action)\s*=\s*["']?([^"'\s>]*)""", page):
        assert attribute.startswith("#") or not re.match(r"[a-z]+:|//", attribute), attribute
    assert "@import" not in page


def request_validator(operation) -> Draft202012Validator:
    """The request body schema of `operation` in the published description."""
    at = pointer("paths", operation.path, operation.method.lower(), "requestBody", "content", "application/json")
    return schema_validator(spec_registry(openapi_spec()), at + "/schema")


@pytest.mark.parametrize(
    "operation", [op for op in OPERATIONS if op.body_example is not None], ids=lambda op: op.operation_id
)
def test_request_examples_are_valid_bodies(operation):
    # Rule: the example a /docs "Try it" form starts from is a body the service accepts.
    converter.structure(operation.body_example, operation.body)
    request_validator(operation).validate(operation.body_example)


# Values at and around each field rule's edges. 1.0 is left out on purpose: JSON
# Schema counts it as an integer, while the converter (rightly) does not.
SAMPLES = [
    None, True, 0, 1, -1, 1.5, 2**63, MAX_TTL, MAX_TTL + 1, "", " ", "\u00a0", "a", "x" * MAX_NAME_LENGTH,
    "x" * (MAX_NAME_LENGTH + 1), "2026-11-26T08:47:53Z", "not a time", [], [{}], [1], ["a"], {}, {"a": "b"}, {"a": 1},
]  # fmt: skip


def converter_accepts(tp, value) -> bool:
    try:
        converter.structure(value, tp)
    except Exception:
        return False
    return True


INPUT_RULES = [rule for rule in FIELD_RULES if rule in vars(inputs).values()]


@pytest.mark.parametrize("rule", INPUT_RULES, ids=lambda rule: rule.__name__)
def test_field_rules_match_the_converter(rule):
    # Rule: the schema of each field rule accepts exactly what the converter accepts.
    validator = Draft202012Validator(FIELD_RULES[rule])
    for value in SAMPLES:
        by_schema, by_converter = validator.is_valid(value), converter_accepts(rule, value)
        if rule is inputs.Timestamp and by_schema and not by_converter:
            continue  # "any ISO 8601 form" is more than a JSON Schema can say; the converter decides
        assert by_schema == by_converter, f"{rule.__name__} {value!r}: schema {by_schema}, converter {by_converter}"


def test_every_field_rule_of_the_inputs_is_described():
    # Rule: a new NewType field rule cannot go undescribed.
    rules = [value for value in vars(inputs).values() if isinstance(value, typing.NewType)]
    assert [rule.__name__ for rule in rules if rule not in FIELD_RULES] == []


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op.body is not None], ids=lambda op: op.operation_id)
def test_request_schemas_reject_unknown_fields_as_the_converter_does(operation):
    # Rule: request bodies are closed, as the converter forbids extra keys.
    example = operation.body_example if isinstance(operation.body_example, dict) else {}
    body = {**example, "no_such_field": 1}
    assert not converter_accepts(operation.body, body)
    assert not request_validator(operation).is_valid(body)


# -- the response checker itself, on real responses ----------------------------


def tampered(change) -> SpecChecker:
    spec = copy.deepcopy(openapi_spec())
    change(spec)
    return SpecChecker(spec)


async def session_response(client):
    session = await create_session(client)
    response = await client.get(f"/storage/sessions/{session['id']}")
    return response, await response.read()


async def test_checker_rejects_a_body_that_breaks_the_schema(client):
    # Rule: the handler tests fail when a response body drifts from the description.
    response, body = await session_response(client)
    checker = tampered(lambda spec: spec["components"]["schemas"]["Session"]["required"].append("title"))
    with pytest.raises(AssertionError, match="'title' is a required property"):
        checker.check("GET", ("/storage/sessions/{session_id}", "get"), response, body)


async def test_checker_rejects_an_undescribed_field(client):
    # Rule: a field the description does not name fails the handler tests.
    response, body = await session_response(client)
    checker = tampered(lambda spec: spec["components"]["schemas"]["Session"]["properties"].pop("message_count"))
    with pytest.raises(AssertionError, match="message_count"):
        checker.check("GET", ("/storage/sessions/{session_id}", "get"), response, body)


async def test_checker_rejects_an_undocumented_status(client):
    # Rule: the handler tests fail on a status the description does not list.
    response, body = await session_response(client)
    checker = tampered(lambda spec: spec["paths"]["/storage/sessions/{session_id}"]["get"]["responses"].pop("200"))
    with pytest.raises(AssertionError, match="does not list"):
        checker.check("GET", ("/storage/sessions/{session_id}", "get"), response, body)


async def test_checker_rejects_a_missing_required_header(client):
    # Rule: a response without a header the description requires fails the handler tests.
    response, body = await session_response(client)
    checker = tampered(
        lambda spec: spec["paths"]["/storage/sessions/{session_id}"]["get"]["responses"]["200"].update(
            headers={"ETag": {"$ref": "#/components/headers/ETag"}}
        )
    )
    with pytest.raises(AssertionError, match="without its ETag header"):
        checker.check("GET", ("/storage/sessions/{session_id}", "get"), response, body)


async def test_timestamps_are_checked_for_a_zone(client):
    # Rule: a timestamp without a zone is a contract breach (format: date-time).
    response, body = await session_response(client)
    naive = re.sub(rb'("created_at": ?"[^"+]+)\+00:00"', rb'\1"', body)
    assert naive != body
    with pytest.raises(AssertionError, match="date-time"):
        SpecChecker(openapi_spec()).check("GET", ("/storage/sessions/{session_id}", "get"), response, naive)
