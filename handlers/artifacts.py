"""Artifacts: /storage/artifacts (references to content stored elsewhere)."""

from __future__ import annotations

from aiohttp import web

from handlers.common import (
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
from vault.inputs import NewArtifact
from vault.queries import ArtifactQuery

routes = web.RouteTableDef()


@routes.post("/storage/artifacts")
async def create_artifact(request: web.Request) -> web.Response:
    new, raw = await body_as(request, NewArtifact)
    artifact = await store_of(request).create_artifact(new, idempotency_claim(request, raw))
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


@routes.delete("/storage/artifacts/{artifact_id}")
async def delete_artifact(request: web.Request) -> web.Response:
    artifact_id = request.match_info["artifact_id"]
    await store_of(request).delete_artifact(artifact_id)
    return deleted(artifact_id=artifact_id)
