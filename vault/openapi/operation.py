"""One route as the spec describes it, and how it renders as an OpenAPI operation.

A handler carries its own description: `@described(Operation(...))` right under
its `@routes` line; vault.openapi.spec collects them from the route tables.

Error responses that follow from what a route takes are added here, so no
entry can forget them: a JSON body brings 400, 413, 415 and 422; a query or
header parameter brings 422; every route but the open ones may answer 401.
Every route takes the `Vault-Min-LSN` header, so every route may answer 422.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from attrs import field, frozen

from vault.openapi.error_responses import error_response_name
from vault.openapi.parameters import MIN_LSN, Param
from vault.openapi.schemas import Schema, SchemaBook

JSON = "application/json"
BODY_ERRORS = (400, 413, 415, 422)
READ_ERRORS = (503,)  # a read can meet a store that is stopping
WRITE_ERRORS = (503, 507)

Handler = TypeVar("Handler", bound=Callable[..., Any])


@frozen
class Named:
    """A hand-written body schema (no attrs class describes it), shown as a component."""

    name: str
    schema: Schema


@frozen
class Reply:
    """The success response: its status, body and headers.

    `body` is a type (an attrs class, `list[Session]`), a Named schema, or
    None for a body that is not JSON: then `media_type` and `schema` say what it is.
    """

    status: int
    description: str
    body: Any = None
    headers: tuple[str, ...] = ()
    media_type: str = JSON
    schema: Schema | None = None

    def render(self, book: SchemaBook) -> dict[str, Any]:
        if isinstance(self.body, Named):
            schema = book.add(self.body.name, self.body.schema)
        elif self.body is not None:
            schema = book.response(self.body)
        else:
            schema = self.schema if self.schema is not None else {}
        rendered: dict[str, Any] = {"description": self.description, "content": {self.media_type: {"schema": schema}}}
        if self.headers:
            rendered["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in self.headers}
        return rendered


@frozen
class Operation:
    method: str
    path: str  # the OpenAPI template: the aiohttp route's canonical form, regexes left out
    operation_id: str
    summary: str
    tag: str
    reply: Reply
    description: str = ""
    params: tuple[Param, ...] = ()
    body: Any = None  # the attrs class of vault.inputs the handler structures the body into
    body_example: Any = None
    # Media types the body may come as besides JSON, each with its schema (e.g. a multipart form).
    other_bodies: tuple[tuple[str, Schema], ...] = ()
    errors: tuple[int, ...] = ()  # the ones the automatic rules above do not add
    needs_key: bool = True  # False only where the auth middleware lets a request through without a key
    extra_replies: tuple[Reply, ...] = field(default=())

    def error_statuses(self) -> list[int]:
        statuses = set(self.errors)
        if self.body is not None:
            statuses.update(BODY_ERRORS)
        # Any query or header parameter, Vault-Min-LSN (every route's) included.
        statuses.add(422)
        if self.needs_key:
            statuses.add(401)
        return sorted(statuses)

    def render(self, book: SchemaBook) -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "operationId": self.operation_id,
            "summary": self.summary,
            "tags": [self.tag],
        }
        if self.description:
            rendered["description"] = self.description
        rendered["parameters"] = [param.render() for param in (*self.params, MIN_LSN)]
        if self.body is not None:
            media: dict[str, Any] = {"schema": book.request(self.body)}
            if self.body_example is not None:
                media["example"] = self.body_example
            content = {JSON: media, **{media_type: {"schema": schema} for media_type, schema in self.other_bodies}}
            rendered["requestBody"] = {"required": True, "content": content}
        responses: dict[str, Any] = {}
        for reply in (self.reply, *self.extra_replies):
            rendered_reply = reply.render(book)
            same = responses.get(str(reply.status))
            if same is not None and "content" in rendered_reply:
                # One status in two media types (JSON or a stream, by Accept): one response, both contents.
                same.setdefault("content", {}).update(rendered_reply["content"])
            else:
                responses[str(reply.status)] = rendered_reply
        for status in self.error_statuses():
            responses.setdefault(str(status), {"$ref": f"#/components/responses/{error_response_name(status)}"})
        rendered["responses"] = responses
        if not self.needs_key:
            rendered["security"] = []
        return rendered


def ok_reply(body: Any, description: str, *headers: str) -> Reply:
    return Reply(200, description, body, headers)


def created_reply(body: Any, description: str) -> Reply:
    return Reply(201, description, body, ("Location",))


def page_reply(item: type, description: str) -> Reply:
    return Reply(200, f"{description} A plain JSON array; `Link` names the next page.", list[item], ("Link",))


def deleted_reply(name: str, id_field: str, **more: Any) -> Reply:
    schema = {
        "type": "object",
        "properties": {"status": {"const": "deleted"}, id_field: {"type": "string"}, **more},
        "required": ["status", id_field, *more],
    }
    return ok_reply(Named(name, schema), "Deleted.")


def described(*operations: Operation) -> Callable[[Handler], Handler]:
    """Attach to a handler the description of each route it serves (one per method)."""

    def attach(handler: Handler) -> Handler:
        handler.openapi_operations = operations  # type: ignore[attr-defined]
        return handler

    return attach


def operations_of(handler: Callable[..., Any]) -> tuple[Operation, ...]:
    return getattr(handler, "openapi_operations", ())
