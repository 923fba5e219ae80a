"""Metrics: /storage/metrics (raw points)."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import (
    QueryReader,
    body_as,
    created,
    idempotency_claim,
    json_response,
    offset_next,
    page_response,
    store_of,
)

from vault.errors import invalid
from vault.inputs import MetricBatch, NewMetric
from vault.queries import ROLLUP_BUCKETS, MetricQuery, RollupQuery

routes = web.RouteTableDef()


@routes.post("/storage/metrics")
async def record_metric(request: web.Request) -> web.Response:
    new, raw = await body_as(request, NewMetric)
    [metric] = await store_of(request).record_metrics([new], idempotency_claim(request, raw))
    return created(metric, f"/storage/metrics/{metric.id}")


@routes.post("/storage/metrics/batch")
async def record_batch(request: web.Request) -> web.Response:
    batch, raw = await body_as(request, MetricBatch)
    if not batch.metrics:
        raise invalid(["body", "metrics"], "must have at least one metric")
    recorded = await store_of(request).record_metrics(batch.metrics, idempotency_claim(request, raw))
    return created(recorded, "/storage/metrics")


@routes.get("/storage/metrics")
async def list_metrics(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    query = MetricQuery(
        entity_type=reader.text("entity_type"),
        entity_name=reader.text("entity_name"),
        session_id=reader.text("session_id"),
        metric_name=reader.text("metric_name"),
        start_time=reader.timestamp("start_time"),
        end_time=reader.timestamp("end_time"),
        limit=reader.limit(),
        offset=reader.offset(),
    )
    reader.done()
    page = await store_of(request).list_metrics(query)
    return page_response(request, page, offset_next(page, query.limit, query.offset))


@routes.get("/storage/metrics/rollups")
async def list_rollups(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    query = RollupQuery(
        metric_name=reader.text("metric_name", required=True) or "",
        bucket=reader.choice("bucket", ROLLUP_BUCKETS) or "hour",
        entity_name=reader.text("entity_name"),
        entity_type=reader.text("entity_type"),
        start_time=reader.timestamp("start_time"),
        end_time=reader.timestamp("end_time"),
        limit=reader.limit(),
        offset=reader.offset(),
    )
    reader.done()
    page = await store_of(request).list_rollups(query)
    return page_response(request, page, offset_next(page, query.limit, query.offset))


@routes.get("/storage/metrics/{metric_id}")
async def get_metric(request: web.Request) -> web.Response:
    return json_response(await store_of(request).get_metric(request.match_info["metric_id"]))
