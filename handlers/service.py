"""Service routes: liveness."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import json_response, store_of
from vault.store.errors import StoreError

from vault import __version__
from vault.appkeys import TELEMETRY
from vault.errors import error_response
from vault.openapi.operation import Named, Operation, Reply, described, ok_reply

routes = web.RouteTableDef()


@routes.get("/health")
@described(
    Operation(
        "GET",
        "/health",
        "health",
        "Liveness",
        "service",
        ok_reply(
            Named(
                "Health",
                {
                    "type": "object",
                    "properties": {
                        "status": {"const": "healthy"},
                        "service": {"const": "storage_service"},
                        "version": {"type": "string"},
                        "backend": {"type": "string", "examples": ["sqlite"]},
                        "backends": {
                            "type": "object",
                            "description": "Where each kind of data lives.",
                            "properties": {
                                "database": {"enum": ["sqlite", "postgresql"]},
                                "cache": {"enum": ["database", "redis"]},
                                "state": {"enum": ["database", "redis"]},
                                "artifacts": {"enum": ["filesystem", "s3"]},
                            },
                            "required": ["database", "cache", "state", "artifacts"],
                        },
                    },
                    "required": ["status", "service", "version", "backend", "backends"],
                },
            ),
            "The process is up.",
        ),
        description="Cheap, and open even when API keys are set. `backend` is the main database, as `backends.database`"
        " (kept for older clients); `backends` says where each kind of data lives.",
        needs_key=False,
    ),
)
async def health(request: web.Request) -> web.Response:
    return json_response(
        {
            "status": "healthy",
            "service": "storage_service",
            "version": __version__,
            "backend": store_of(request).backend,
            "backends": store_of(request).backends,
        }
    )


@routes.get("/ready")
@described(
    Operation(
        "GET",
        "/ready",
        "ready",
        "Readiness",
        "service",
        ok_reply(
            Named(
                "Ready",
                {
                    "type": "object",
                    "properties": {"status": {"const": "ready"}, "backend": {"type": "string"}},
                    "required": ["status", "backend"],
                },
            ),
            "The database answers a read and the writer runs, Redis answers where the cache lives in it,"
            " and S3 answers where artifact bytes live in it.",
        ),
        description="503 (`not_ready`) with the reason while the database does not answer, the writer is stopped,"
        " the Redis that holds the cache does not answer (the reason names Redis), or the S3 store that holds"
        " artifact bytes does not answer (the reason names the bucket).",
        errors=(503,),
    ),
)
async def ready(request: web.Request) -> web.Response:
    """200 only when the database answers a read and the writer runs, and the cache and the blob store answer."""
    try:
        await store_of(request).ping()
    except StoreError as exc:
        return error_response(503, "not_ready", str(exc), headers={"Retry-After": "5"})
    return json_response({"status": "ready", "backend": store_of(request).backend})


@routes.get("/metrics")
@described(
    Operation(
        "GET",
        "/metrics",
        "metrics",
        "Prometheus metrics",
        "service",
        Reply(
            200,
            "Prometheus text format: requests by route and status, latencies, write queue depth, "
            "batch sizes and commit time, database size, job runs.",
            media_type="text/plain",
            schema={"type": "string"},
        ),
    ),
)
async def metrics(request: web.Request) -> web.Response:
    telemetry = request.app[TELEMETRY]
    await telemetry.refresh()
    body = telemetry.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
