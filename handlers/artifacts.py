"""Artifacts: /storage/artifacts, references to content stored elsewhere or the stored bytes themselves."""

from __future__ import annotations

from aiohttp import web
from vault.handlers import downloads, uploads
from vault.handlers.common import (
    QueryReader,
    body_as,
    created,
    deleted,
    idempotency_claim,
    json_response,
    offset_next,
    page_response,
    store_of,
)

from vault.errors import invalid
from vault.inputs import ArtifactBody, Name
from vault.models import Artifact
from vault.openapi.operation import (
    READ_ERRORS,
    WRITE_ERRORS,
    Operation,
    Reply,
    created_reply,
    deleted_reply,
    described,
    ok_reply,
    page_reply,
)
from vault.openapi.parameters import IDEMPOTENCY_KEY, LIMIT, OFFSET, path_id, text_filter
from vault.openapi.schemas import FIELD_RULES
from vault.queries import ArtifactQuery

routes = web.RouteTableDef()

ARTIFACT_ID = path_id("artifact_id", "An artifact id (`artifact_...`).")

_FORM_TEXT = {"type": "string"}

# The form's text fields take the JSON body's rules (vault.handlers.uploads structures them alike).
_FORM_NAME = {key: value for key, value in FIELD_RULES[Name].items() if key != "description"}

# What vault.handlers.uploads takes as an artifact's content_type.
MEDIA_TYPE_PATTERN = f"^{uploads.MEDIA_TYPE.pattern}$"

ARTIFACT_FORM = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream", "description": "The bytes."},
        "name": {**_FORM_NAME, "description": "Defaults to the file part's filename."},
        "session_id": _FORM_NAME,
        "type": {**_FORM_NAME, "default": "file"},
        "content_type": {
            **_FORM_NAME,
            "pattern": MEDIA_TYPE_PATTERN,
            "description": "Defaults to the file part's type, or a guess from the name.",
        },
        "path": _FORM_TEXT,
        "size": {**_FORM_TEXT, "pattern": "^[0-9]+$", "description": "If given, must match the content."},
        # An object part goes as JSON text (OpenAPI 3.1's default for objects in multipart).
        "metadata": {"type": "object", "description": "A JSON object, as JSON text."},
    },
    "additionalProperties": False,
    "required": ["file"],
}

CONTENT_HEADERS = ("ETag", "Content-Disposition", "X-Content-Type-Options")

ANY_BYTES = {"type": "string", "contentMediaType": "application/octet-stream"}


@routes.post("/storage/artifacts")
@described(
    Operation(
        "POST",
        "/storage/artifacts",
        "create_artifact",
        "Record an artifact, or store its bytes",
        "artifacts",
        created_reply(
            Artifact, "The artifact; with stored bytes, its `size`, `sha256` and `content_type` are filled in."
        ),
        description="As JSON without `content`: records a reference to content stored elsewhere (`path`, "
        "`size`). With `content` (text, stored as UTF-8) or `content_base64`: The Vault stores the bytes; a JSON "
        "body is bounded by VAULT_MAX_BODY_BYTES. As `multipart/form-data`: a `file` part with the bytes, "
        "streamed to disk, plus the fields as form fields (`metadata` as JSON text; `name` defaults to the "
        "file's name). Stored content over VAULT_MAX_ARTIFACT_BYTES is a 413 and nothing is kept. A given "
        "`size` must match the content.",
        params=(IDEMPOTENCY_KEY,),
        body=ArtifactBody,
        body_example={"session_id": "session_...", "name": "report.md", "type": "file", "path": "/data/report.md"},
        other_bodies=(("multipart/form-data", ARTIFACT_FORM),),
        errors=(404, *WRITE_ERRORS),
    ),
)
async def create_artifact(request: web.Request) -> web.Response:
    if request.content_type == "multipart/form-data":
        artifact = await uploads.create_from_multipart(request)
    else:
        body, raw = await body_as(request, ArtifactBody)
        if body.content is None and body.content_base64 is None:
            if body.content_type is not None and not uploads.is_media_type(body.content_type):
                # The same rule as for stored bytes: a reference's content_type is a media type too.
                raise invalid(["body", "content_type"], "must be a media type such as text/csv or image/png")
            artifact = await store_of(request).create_artifact(body.artifact(), idempotency_claim(request, raw))
        else:
            artifact = await uploads.create_from_json(request, body, raw)
    return created(artifact, f"/storage/artifacts/{artifact.id}")


@routes.get("/storage/artifacts")
@described(
    Operation(
        "GET",
        "/storage/artifacts",
        "list_artifacts",
        "List artifacts, newest first",
        "artifacts",
        page_reply(Artifact, "Artifacts, newest first; a page stops once its metadata reaches 8 MiB."),
        params=(
            text_filter("session_id", "Only this session's artifacts."),
            text_filter("type", "Only artifacts of this type."),
            text_filter("name", "Only artifacts of this name (the versions of one file, newest first)."),
            LIMIT,
            OFFSET,
        ),
        errors=READ_ERRORS,
    ),
)
async def list_artifacts(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    query = ArtifactQuery(
        session_id=reader.text("session_id"),
        type=reader.text("type"),
        name=reader.text("name"),
        limit=reader.limit(),
        offset=reader.offset(),
    )
    reader.done()
    page = await store_of(request).list_artifacts(query)
    return await page_response(request, page, offset_next(page, query.limit, query.offset))


@routes.get("/storage/artifacts/{artifact_id}")
@described(
    Operation(
        "GET",
        "/storage/artifacts/{artifact_id}",
        "get_artifact",
        "Read an artifact's metadata",
        "artifacts",
        ok_reply(Artifact, "The artifact."),
        params=(ARTIFACT_ID,),
        errors=(404, *READ_ERRORS),
    ),
)
async def get_artifact(request: web.Request) -> web.Response:
    return json_response(await store_of(request).get_artifact(request.match_info["artifact_id"]))


@routes.get("/storage/artifacts/{artifact_id}/content")
@described(
    Operation(
        "GET",
        "/storage/artifacts/{artifact_id}/content",
        "get_artifact_content",
        "Download an artifact's stored bytes",
        "artifacts",
        Reply(
            200,
            "The bytes, streamed, as the artifact's `content_type`, always as an attachment.",
            headers=CONTENT_HEADERS,
            media_type="*/*",
            schema=ANY_BYTES,
        ),
        description="`Range: bytes=first-last`, `bytes=first-` or `bytes=-suffix` gives a 206 with that part "
        "(other units, several ranges or malformed ones are ignored: the whole content); a range past the end "
        "is a 416. `If-None-Match` with the ETag (the content's sha256) gives a 304; `If-Range` with it keeps "
        "the Range. An artifact recorded as a reference has no stored bytes: 404 (`no_content`).",
        params=(ARTIFACT_ID,),
        errors=(404, 416, *READ_ERRORS),
        extra_replies=(
            Reply(
                206,
                "The requested part of the bytes.",
                headers=(*CONTENT_HEADERS, "Content-Range"),
                media_type="*/*",
                schema=ANY_BYTES,
            ),
            Reply(304, "The client's copy (If-None-Match) is current; no body.", headers=("ETag",), media_type="*/*"),
        ),
    ),
)
async def get_artifact_content(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    artifact = await store.get_artifact(request.match_info["artifact_id"])
    return await downloads.send_content(request, store, artifact)


@routes.delete("/storage/artifacts/{artifact_id}")
@described(
    Operation(
        "DELETE",
        "/storage/artifacts/{artifact_id}",
        "delete_artifact",
        "Delete an artifact",
        "artifacts",
        deleted_reply("ArtifactDeleted", "artifact_id"),
        params=(ARTIFACT_ID,),
        errors=(404, *WRITE_ERRORS),
    ),
)
async def delete_artifact(request: web.Request) -> web.Response:
    artifact_id = request.match_info["artifact_id"]
    await store_of(request).delete_artifact(artifact_id)
    return deleted(artifact_id=artifact_id)
