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
from vault.inputs import ArtifactBody
from vault.queries import ArtifactQuery

routes = web.RouteTableDef()


@routes.post("/storage/artifacts")
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
async def list_artifacts(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    query = ArtifactQuery(
        session_id=reader.text("session_id"),
        type=reader.text("type"),
        limit=reader.limit(),
        offset=reader.offset(),
    )
    reader.done()
    page = await store_of(request).list_artifacts(query)
    return page_response(request, page, offset_next(page, query.limit, query.offset))


@routes.get("/storage/artifacts/{artifact_id}")
async def get_artifact(request: web.Request) -> web.Response:
    return json_response(await store_of(request).get_artifact(request.match_info["artifact_id"]))


@routes.get("/storage/artifacts/{artifact_id}/content")
async def get_artifact_content(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    artifact = await store.get_artifact(request.match_info["artifact_id"])
    return await downloads.send_content(request, store, artifact)


@routes.delete("/storage/artifacts/{artifact_id}")
async def delete_artifact(request: web.Request) -> web.Response:
    artifact_id = request.match_info["artifact_id"]
    await store_of(request).delete_artifact(artifact_id)
    return deleted(artifact_id=artifact_id)
