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
from vault.models import Metric, Rollup
from vault.openapi.operation import READ_ERRORS, WRITE_ERRORS, Operation, created_reply, described, ok_reply, page_reply
from vault.openapi.parameters import IDEMPOTENCY_KEY, LIMIT, OFFSET, choice, path_id, text_filter, time_filter
from vault.queries import ROLLUP_BUCKETS, MetricQuery, RollupQuery

routes = web.RouteTableDef()

METRIC_FILTERS = (
    text_filter("entity_type", "Only this kind of entity."),
    text_filter("entity_name", "Only this entity."),
)

TIME_RANGE = (
    time_filter("start_time", "From this time on"),
    time_filter("end_time", "Up to this time"),
)


@routes.post("/storage/metrics")
@described(
    Operation(
        "POST",
        "/storage/metrics",
        "record_metric",
        "Record a metric point",
        "metrics",
        created_reply(Metric, "The point."),
        description="`timestamp` defaults to now.",
        params=(IDEMPOTENCY_KEY,),
        body=NewMetric,
        body_example={"entity_name": "research_orchestrator", "metric_name": "latency_ms", "value": 412.5},
        errors=(404, *WRITE_ERRORS),
    ),
)
async def record_metric(request: web.Request) -> web.Response:
    new, raw = await body_as(request, NewMetric)
    [metric] = await store_of(request).record_metrics([new], idempotency_claim(request, raw))
    return created(metric, f"/storage/metrics/{metric.id}")


@routes.post("/storage/metrics/batch")
@described(
    Operation(
        "POST",
        "/storage/metrics/batch",
        "record_metrics",
        "Record metric points, all or nothing",
        "metrics",
        created_reply(list[Metric], "The points, in order."),
        description="At least one point.",
        params=(IDEMPOTENCY_KEY,),
        body=MetricBatch,
        body_example={
            "metrics": [
                {"entity_name": "research_orchestrator", "metric_name": "tokens", "value": 1200},
                {"entity_name": "research_orchestrator", "metric_name": "latency_ms", "value": 380},
            ]
        },
        errors=(404, *WRITE_ERRORS),
    ),
)
async def record_batch(request: web.Request) -> web.Response:
    batch, raw = await body_as(request, MetricBatch)
    if not batch.metrics:
        raise invalid(["body", "metrics"], "must have at least one metric")
    recorded = await store_of(request).record_metrics(batch.metrics, idempotency_claim(request, raw))
    return created(recorded, "/storage/metrics")


@routes.get("/storage/metrics")
@described(
    Operation(
        "GET",
        "/storage/metrics",
        "list_metrics",
        "List raw points, newest first",
        "metrics",
        page_reply(Metric, "Points, newest first."),
        params=(
            *METRIC_FILTERS,
            text_filter("session_id", "Only this session's points."),
            text_filter("metric_name", "Only this metric."),
            *TIME_RANGE,
            LIMIT,
            OFFSET,
        ),
        errors=READ_ERRORS,
    ),
)
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
    return await page_response(request, page, offset_next(page, query.limit, query.offset))


@routes.get("/storage/metrics/rollups")
@described(
    Operation(
        "GET",
        "/storage/metrics/rollups",
        "list_rollups",
        "Read a metric's rollups, oldest first",
        "metrics",
        page_reply(Rollup, "One row per bucket, oldest first."),
        description="Kept by a scheduled job; still there after the raw points pass their retention.",
        params=(
            text_filter("metric_name", "The metric.", required=True),
            choice("bucket", ROLLUP_BUCKETS, "Bucket size.", default="hour"),
            *METRIC_FILTERS,
            *TIME_RANGE,
            LIMIT,
            OFFSET,
        ),
        errors=READ_ERRORS,
    ),
)
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
    return await page_response(request, page, offset_next(page, query.limit, query.offset))


@routes.get("/storage/metrics/{metric_id}")
@described(
    Operation(
        "GET",
        "/storage/metrics/{metric_id}",
        "get_metric",
        "Read a metric point",
        "metrics",
        ok_reply(Metric, "The point."),
        params=(path_id("metric_id", "A metric id (`metric_...`)."),),
        errors=(404, *READ_ERRORS),
    ),
)
async def get_metric(request: web.Request) -> web.Response:
    return json_response(await store_of(request).get_metric(request.match_info["metric_id"]))
