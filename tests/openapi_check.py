"""Every response a test receives, checked against the OpenAPI description.

SpecCheckedClient is the test client of every test (see aiohttp_client_cls in
tests/conftest.py): for each response it finds the operation the app routed
the request to, and fails the test when the status is not documented there,
a required response header is missing, the content type is not the
documented one, or a JSON body does not match the documented schema. So the
handler tests keep the description true, with real responses.

The check is stricter than the published description in one way: a
response object may carry no field the description does not name. The
published description leaves response objects open, so that clients
tolerate fields added later.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import rfc3339_validator  # noqa: F401  (without it, "format: date-time" goes unchecked)
from aiohttp import ClientRequest, ClientResponse, web
from aiohttp.client_middlewares import ClientHandlerType
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from vault.openapi.spec import openapi_spec

SPEC_URI = "urn:vault:openapi"


def _closed(node: Any) -> Any:
    """The schema with every object that lists its properties closed to others."""
    if isinstance(node, dict):
        node = {key: _closed(value) for key, value in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


def pointer(*steps: str) -> str:
    """A JSON pointer into the spec: pointer("paths", "/health", "get")."""
    return "#/" + "/".join(step.replace("~", "~0").replace("/", "~1") for step in steps)


def spec_registry(spec: dict[str, Any]) -> Registry:
    return Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))


def schema_validator(registry: Registry, at: str) -> Draft202012Validator:
    """A validator for the schema at pointer `at` of the spec in `registry`, its $refs resolved."""
    return Draft202012Validator(
        {"$ref": SPEC_URI + at}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


class SpecChecker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = copy.deepcopy(spec)
        self.spec["components"]["schemas"] = _closed(self.spec["components"]["schemas"])
        self._registry = spec_registry(self.spec)
        self._validators: dict[str, Draft202012Validator] = {}

    def _validator(self, at: str) -> Draft202012Validator:
        if at not in self._validators:
            self._validators[at] = schema_validator(self._registry, at)
        return self._validators[at]

    def _follow(self, node: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...] | None]:
        """A response object and its place in the spec, through a $ref if it is one."""
        ref = node.get("$ref")
        if ref is None:
            return node, None
        steps = tuple(step.replace("~1", "/").replace("~0", "~") for step in ref.removeprefix("#/").split("/"))
        found: Any = self.spec
        for step in steps:
            found = found[step]
        return found, steps

    def check(self, what: str, operation: tuple[str, str] | None, response: ClientResponse, body: bytes | None) -> None:
        """Fail (AssertionError) when the response is not one the description allows."""
        if operation is None:
            # No route: aiohttp's 404 or 405, as the error middleware shapes them.
            if response.status >= 400 and body is not None:
                self.check_json(what, pointer("components", "schemas", "Error"), body)
            return
        path, method = operation
        described = self.spec["paths"].get(path, {}).get(method)
        assert described is not None, (
            f"{what}: {method.upper()} {path} is not described (@described beside its handler)"
        )
        responses = described["responses"]
        documented = responses.get(str(response.status))
        assert documented is not None, (
            f"{what} answered {response.status}, which the OpenAPI description of {method.upper()} {path} "
            f"does not list (it lists {', '.join(responses)})"
        )
        found, steps = self._follow(documented)
        place = steps or ("paths", path, method, "responses", str(response.status))
        for name, header in found.get("headers", {}).items():
            header, _ = self._follow(header)
            if header.get("required"):
                assert name in response.headers, f"{what} answered {response.status} without its {name} header"
        content = found.get("content", {})
        media_type = response.content_type
        assert media_type in content or "*/*" in content, (
            f"{what} answered {response.status} as {media_type}; the description says {', '.join(content)}"
        )
        if media_type == "application/json" and body is not None:
            self.check_json(what, pointer(*place, "content", "application/json", "schema"), body)

    def check_json(self, what: str, at: str, body: bytes) -> None:
        document = json.loads(body)
        problems = sorted(self._validator(at).iter_errors(document), key=lambda error: list(error.path))
        assert not problems, f"{what}: the body does not match the OpenAPI description:\n" + "\n".join(
            f"  at {'/'.join(map(str, error.path)) or '(top)'}: {error.message}" for error in problems[:10]
        )


class RouteFinder:
    """The spec path and method of the route the app sends a request to, resolved as aiohttp does."""

    def __init__(self, router: web.UrlDispatcher) -> None:
        self._resources = list(self._matchers(router))

    @staticmethod
    def _matchers(router: web.UrlDispatcher) -> Iterator[tuple[re.Pattern[str], str, set[str]]]:
        for resource in router.resources():
            info = resource.get_info()
            if "pattern" in info:
                pattern = info["pattern"]
            elif "path" in info:
                pattern = re.compile(re.escape(info["path"]))
            else:
                continue
            yield pattern, resource.canonical, {route.method for route in resource}

    def find(self, method: str, path: str) -> tuple[str, str] | None:
        lookup = "GET" if method == "HEAD" else method
        for pattern, canonical, methods in self._resources:
            if pattern.fullmatch(path) and (lookup in methods or "*" in methods):
                return canonical, lookup.lower()
        return None


@cache
def spec_checker() -> SpecChecker:
    return SpecChecker(openapi_spec())


def response_checker(router: web.UrlDispatcher):
    """A client middleware: every response is checked before the test sees it."""
    routes = RouteFinder(router)
    checker = spec_checker()

    async def check_response(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        response = await handler(request)
        if request.method == "HEAD":
            return response
        path = request.url.path_safe
        # Only JSON is read (and kept for the test): a streamed download stays a stream.
        body = await response.read() if response.content_type == "application/json" else None
        checker.check(f"{request.method} {path}", routes.find(request.method, path), response, body)
        return response

    return check_response


class SpecCheckedClient(TestClient):
    """A test client whose every response is checked against the OpenAPI description."""

    def __init__(self, server: Any, **kwargs: Any) -> None:
        app = getattr(server, "app", None)
        if isinstance(app, web.Application):
            kwargs["middlewares"] = (*kwargs.get("middlewares", ()), response_checker(app.router))
        super().__init__(server, **kwargs)
