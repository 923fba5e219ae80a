"""Service routes: liveness."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import json_response, store_of
from vault.store.errors import StoreError
from vault.store.positions import ReplicaStatus, format_lsn

from vault import __version__
from vault.appkeys import TELEMETRY
from vault.errors import error_response
from vault.openapi.operation import Named, Operation, Reply, described, ok_reply
from vault.openapi.schemas import REPLICAS_SCHEMA

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
                    "properties": {
                        "status": {"const": "ready"},
                        "backend": {"type": "string"},
                        "replicas": REPLICAS_SCHEMA,
                    },
                    "required": ["status", "backend"],
                },
            ),
            "The database answers a read and the writer runs (on PostgreSQL: the primary answers), Redis answers"
            " where the cache lives in it, and S3 answers where artifact bytes live in it. A replica that is down"
            " is listed as such and does not make the service unready.",
        ),
        description="503 (`not_ready`) with the reason while the database (on PostgreSQL, the primary) does not"
        " answer, the writer is stopped, the Redis that holds the cache does not answer (the reason names Redis),"
        " or the S3 store that holds artifact bytes does not answer (the reason names the bucket). With read"
        " replicas (`VAULT_DATABASE_REPLICA_URLS`) both answers list them under `replicas`; while the primary is"
        " down the answer is 503, though replicas that are up keep serving reads.",
        errors=(503,),
    ),
)
async def ready(request: web.Request) -> web.Response:
    """200 only when the database answers a read and the writer runs, and the cache and the blob store answer."""
    store = store_of(request)
    listed = {"replicas": [_replica(status) for status in store.replicas()]} if store.replicas() else {}
    try:
        await store.ping()
    except StoreError as exc:
        return error_response(503, "not_ready", str(exc), headers={"Retry-After": "5"}, **listed)
    return json_response({"status": "ready", "backend": store.backend, **listed})


def _replica(status: ReplicaStatus) -> dict:
    return {
        "name": status.name,
        "state": status.state,
        "replay_lsn": format_lsn(status.replay_lsn),
        "lag_bytes": status.lag_bytes,
        "lag_seconds": round(status.lag_seconds, 3),
    }


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
