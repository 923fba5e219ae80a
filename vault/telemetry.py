"""Prometheus metrics for one app: requests, the writer, the database, Redis, S3, jobs.

Each app gets its own registry, so several apps in one process (tests, or two
instances side by side) never share counters.
"""

from __future__ import annotations

import asyncio
import logging
import os
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable
from itertools import accumulate
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

log = logging.getLogger(__name__)

# Each counter and histogram would add a `_created` series with its start time: as
# many series again, which no dashboard of this service reads.
disable_created_metrics()

# A value read from the database at scrape time may take this long; past it the
# scrape answers with the last value read, so a busy database never stalls /metrics.
SCRAPE_READ_SECONDS = 1.0

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = RequestCounts()
        self.registry.register(self.requests)
        self.batch_size = Histogram(
            "vault_write_batch_size",
            "Write commands committed per transaction (group commit).",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.commit_latency = Histogram(
            "vault_write_commit_duration_seconds",
            "Time to run and commit one write batch.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.redis_latency = Histogram(
            "vault_redis_call_duration_seconds",
            "Time of one call to the Redis cache, answered or failed, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.redis_errors = Counter(
            "vault_redis_errors",
            "Calls to the Redis cache that failed (down, too slow, refused), by operation.",
            ["operation"],
            registry=self.registry,
        )
        self.s3_latency = Histogram(
            "vault_s3_call_duration_seconds",
            "Time of one call to the S3 store of artifact content, answered or failed, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.s3_errors = Counter(
            "vault_s3_errors",
            "Calls to the S3 store of artifact content that failed (down, too slow, refused), by operation.",
            ["operation"],
            registry=self.registry,
        )
        self._scrape_reads: list[Callable[[], Awaitable[None]]] = []

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.observe(method, route, status, seconds)

    def observe_commit(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.commit_latency.observe(seconds)

    def observe_redis(self, operation: str, seconds: float, failed: bool) -> None:
        self.redis_latency.labels(operation).observe(seconds)
        if failed:
            self.redis_errors.labels(operation).inc()

    def observe_s3(self, operation: str, seconds: float, failed: bool) -> None:
        self.s3_latency.labels(operation).observe(seconds)
        if failed:
            self.s3_errors.labels(operation).inc()

    def watch(self, collector: Collector) -> None:
        self.registry.register(collector)

    def read_at_scrape(self, read: Callable[[], Awaitable[None]]) -> None:
        """Run `read` (which refreshes values a collector reports) before each scrape."""
        self._scrape_reads.append(read)

    async def refresh(self) -> None:
        for read in self._scrape_reads:
            try:
                await asyncio.wait_for(read(), SCRAPE_READ_SECONDS)
            except Exception as exc:  # the scrape goes on with the last value read: metrics must not fail
                log.debug("a metric read at scrape time failed: %s", exc)

    def render(self) -> bytes:
        return generate_latest(self.registry)


# Each bucket's `le` label, as prometheus_client writes it.
_BOUND_LABELS = [floatToGoString(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]


class RequestCounts:
    """Requests answered and their latency, by route template: counted here, reported at scrape.

    Every request adds to these, so they are plain numbers the event loop
    updates (one lookup, a bisect and two additions; prometheus_client's
    Counter and Histogram take a lock for each and walk the buckets in Python,
    more work than the rest of a cache read's bookkeeping). Only the loop's
    thread updates or reads them: requests and /metrics are both served there.
    """

    def __init__(self) -> None:
        # (method, route, status) -> its series; latency is reported per (method, route), summed over statuses.
        self._series: dict[tuple[str, str, int], _LatencySeries] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = self._series[(method, route, status)] = _LatencySeries()
        series.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        series.total += seconds

    def collect(self) -> Iterable[Metric]:
        answered = CounterMetricFamily(
            "vault_http_requests",
            "HTTP requests answered, by route template and status.",
            labels=["method", "route", "status"],
        )
        by_route: dict[tuple[str, str], _LatencySeries] = {}
        for (method, route, status), series in self._series.items():
            answered.add_metric([method, route, str(status)], sum(series.counts))
            by_route.setdefault((method, route), _LatencySeries()).add(series)
        latency = HistogramMetricFamily(
            "vault_http_request_duration_seconds",
            "Time from request to response, by route template.",
            labels=["method", "route"],
        )
        for (method, route), series in by_route.items():
            latency.add_metric([method, route], series.cumulative(), series.total)
        yield answered
        yield latency


class _LatencySeries:
    """Requests by latency bucket (the last: beyond the largest bound) and their summed seconds."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def add(self, other: _LatencySeries) -> None:
        self.counts = [mine + theirs for mine, theirs in zip(self.counts, other.counts, strict=True)]
        self.total += other.total

    def cumulative(self) -> list[tuple[str, float]]:
        """Prometheus's buckets: how many took at most each bound, +Inf last."""
        return list(zip(_BOUND_LABELS, accumulate(self.counts), strict=True))


class StoreCollector:
    """Reads the store's state at scrape time: queue depth and file sizes.

    `files` names files to measure; `sizes` gives sizes already known (a
    database server's, read by a scrape-time read).
    """

    def __init__(
        self,
        queue_depth: Callable[[], int],
        files: Callable[[], dict[str, str]],
        sizes: Callable[[], dict[str, int]] = dict,
    ) -> None:
        self._queue_depth = queue_depth
        self._files = files
        self._sizes = sizes

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily("vault_write_queue_depth", "Write commands waiting for the writer.")
        depth.add_metric([], self._queue_depth())
        yield depth
        sizes = GaugeMetricFamily("vault_database_file_bytes", "Size of the database files.", labels=["file"])
        for name, path in self._files().items():
            try:
                sizes.add_metric([name], os.path.getsize(path))
            except OSError:
                sizes.add_metric([name], 0)
        for name, size in self._sizes().items():
            sizes.add_metric([name], size)
        yield sizes


class StorageCollector:
    """What each kind of data takes, from the store's last measurement (a job takes one every few
    minutes): a scrape reads no table. Nothing until the first measurement."""

    def __init__(self, report: Callable[[], Any]) -> None:
        self._report = report

    def collect(self) -> Iterable[Metric]:
        report = self._report()
        if report is None:
            return
        gauges = {
            "count": GaugeMetricFamily("vault_stored_records", "Records kept, by kind of data.", labels=["kind"]),
            "raw_bytes": GaugeMetricFamily(
                "vault_stored_raw_bytes", "Bytes of the records as sent, by kind of data.", labels=["kind"]
            ),
            "stored_bytes": GaugeMetricFamily(
                "vault_stored_bytes", "Bytes the database keeps for the records, by kind of data.", labels=["kind"]
            ),
        }
        for kind in ("messages", "state", "cache", "artifacts"):
            use = getattr(report, kind)
            for name, gauge in gauges.items():
                gauge.add_metric([kind], getattr(use, name))
        yield from gauges.values()


class PoolCollector:
    """A connection pool's state at scrape time: a full pool is how an overloaded database shows."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterable[Metric]:
        counts = self._counts()
        connections = GaugeMetricFamily(
            "vault_database_pool_connections", "Database connections open, in use or idle.", labels=["state"]
        )
        for state in ("in_use", "idle"):
            connections.add_metric([state], counts[state])
        yield connections
        yield GaugeMetricFamily(
            "vault_database_pool_max_connections", "Connections the pool may open.", value=counts["max"]
        )
        yield GaugeMetricFamily(
            "vault_database_pool_waiting", "Callers waiting for a database connection.", value=counts["waiting"]
        )


class JobCollector:
    """Job runs and failures, read from the job runner's status at scrape time."""

    def __init__(self, statuses: Callable[[], list]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterable[Metric]:
        runs = CounterMetricFamily(
            "vault_job_runs", "Scheduled job runs, by job and outcome.", labels=["job", "outcome"]
        )
        for status in self._statuses():
            runs.add_metric([status.id, "ok"], status.runs - status.failures)
            runs.add_metric([status.id, "error"], status.failures)
            runs.add_metric([status.id, "missed"], status.missed)
            # Another instance ran it this interval (several instances on one database).
            runs.add_metric([status.id, "skipped"], status.skipped)
        yield runs


class FeedCollector:
    """The change feed of this instance: its subscribers now, events sent, subscribers dropped as too slow."""

    def __init__(self, subscribers: Callable[[], int], stats: Callable[[], Any]) -> None:
        self._subscribers = subscribers
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        stats = self._stats()
        yield GaugeMetricFamily("vault_feed_subscribers", "Change feed streams open now.", value=self._subscribers())
        yield CounterMetricFamily(
            "vault_feed_events_sent", "Change feed events sent to streams.", value=stats.events_sent
        )
        yield CounterMetricFamily(
            "vault_feed_dropped", "Change feed streams ended because they read too slowly.", value=stats.dropped
        )
        yield CounterMetricFamily(
            "vault_feed_read_errors", "Times the change feed's reader could not read events.", value=stats.read_errors
        )


class ReplicaCollector:
    """Each read replica's lag and the reads it served, and the reads the primary served instead."""

    def __init__(self, replicas: Callable[[], list], primary_reads: Callable[[], int]) -> None:
        self._replicas = replicas
        self._primary_reads = primary_reads

    def collect(self) -> Iterable[Metric]:
        statuses = self._replicas()
        up = GaugeMetricFamily("vault_replica_up", "1 while the replica serves reads, else 0.", labels=["replica"])
        lag_bytes = GaugeMetricFamily(
            "vault_replica_lag_bytes",
            "WAL bytes the replica has yet to replay, against the primary's position at this scrape.",
            labels=["replica"],
        )
        lag_seconds = GaugeMetricFamily(
            "vault_replica_lag_seconds",
            "Age of the last transaction the replica replayed while it has more to replay; 0 once caught up.",
            labels=["replica"],
        )
        reads = CounterMetricFamily(
            "vault_database_reads",
            "Reads served, by server: a replica's name, or primary (also every read a replica could not serve).",
            labels=["server"],
        )
        for status in statuses:
            up.add_metric([status.name], 1 if status.state == "up" else 0)
            if status.lag_bytes is not None:
                lag_bytes.add_metric([status.name], status.lag_bytes)
            lag_seconds.add_metric([status.name], status.lag_seconds)
            reads.add_metric([status.name], status.reads)
        reads.add_metric(["primary"], self._primary_reads())
        yield from (up, lag_bytes, lag_seconds, reads)
