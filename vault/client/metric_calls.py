"""The metric calls of AsyncVaultClient: raw points, their lists and the rollups.

Kept apart so each client module stays small; AsyncVaultClient inherits them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from vault.client import wire
from vault.client.core import ClientCore
from vault.models import Metric, Rollup


class MetricCalls(ClientCore):
    async def record_metric(
        self,
        entity_name: str,
        metric_name: str,
        value: float,
        *,
        entity_type: str | None = None,
        session_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        timestamp: str | datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Metric:
        body = metric_body(
            entity_name,
            metric_name,
            value,
            entity_type=entity_type,
            session_id=session_id,
            labels=labels,
            timestamp=timestamp,
        )
        return wire.structure(await self._post("/storage/metrics", body, idempotency_key), Metric)

    async def record_metrics(
        self, metrics: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> list[Metric]:
        """Record `[{entity_name, metric_name, value, ...}, ...]` in one write."""
        body = {"metrics": [metric_body(**item) for item in metrics]}
        return wire.structure_list(await self._post("/storage/metrics/batch", body, idempotency_key), Metric)

    async def get_metric(self, metric_id: str) -> Metric:
        return wire.structure(await self._get(f"/storage/metrics/{wire.segment(metric_id)}"), Metric)

    async def list_metrics(
        self,
        *,
        entity_type: str | None = None,
        entity_name: str | None = None,
        session_id: str | None = None,
        metric_name: str | None = None,
        start_time: str | datetime | None = None,
        end_time: str | datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Metric]:
        """Raw points, newest first."""
        params = wire.query(
            entity_type=entity_type,
            entity_name=entity_name,
            session_id=session_id,
            metric_name=metric_name,
            start_time=start_time,
            end_time=end_time,
            limit=limit,
            offset=offset,
        )
        return wire.structure_list(await self._get("/storage/metrics", params), Metric)

    def iter_metrics(
        self,
        *,
        entity_type: str | None = None,
        entity_name: str | None = None,
        session_id: str | None = None,
        metric_name: str | None = None,
        start_time: str | datetime | None = None,
        end_time: str | datetime | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Metric]:
        """Every raw point matching the filters, newest first, page by page."""
        params = wire.query(
            entity_type=entity_type,
            entity_name=entity_name,
            session_id=session_id,
            metric_name=metric_name,
            start_time=start_time,
            end_time=end_time,
            limit=page_size,
        )
        return self._pages("/storage/metrics", params, Metric)

    async def get_rollups(
        self,
        metric_name: str,
        *,
        bucket: str | None = None,
        entity_name: str | None = None,
        entity_type: str | None = None,
        start_time: str | datetime | None = None,
        end_time: str | datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Rollup]:
        """Aggregates per `bucket` (minute, hour or day; hour by default), oldest first."""
        params = wire.query(
            metric_name=metric_name,
            bucket=bucket,
            entity_name=entity_name,
            entity_type=entity_type,
            start_time=start_time,
            end_time=end_time,
            limit=limit,
            offset=offset,
        )
        return wire.structure_list(await self._get("/storage/metrics/rollups", params), Rollup)


def metric_body(
    entity_name: str,
    metric_name: str,
    value: float,
    *,
    entity_type: str | None = None,
    session_id: str | None = None,
    labels: Mapping[str, str] | None = None,
    timestamp: str | datetime | None = None,
) -> dict[str, Any]:
    """One point as record_metric sends it; also the item shape for record_metrics."""
    return wire.fields(
        entity_name=entity_name,
        metric_name=metric_name,
        value=value,
        entity_type=entity_type,
        session_id=session_id,
        labels=labels,
        timestamp=wire.timestamp(timestamp) if timestamp is not None else None,
    )
