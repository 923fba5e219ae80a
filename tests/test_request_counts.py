"""The request series /metrics reports: the same samples prometheus_client's own Counter and Histogram give."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Counter, Histogram

from vault.telemetry import LATENCY_BUCKETS, RequestCounts


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in registry.collect():
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _observed(requests: list[tuple[str, str, int, float]]) -> tuple[dict, dict]:
    """What RequestCounts reports for `requests`, and what prometheus_client reports for the same."""
    ours = CollectorRegistry()
    counts = RequestCounts()
    ours.register(counts)
    theirs = CollectorRegistry()
    answered = Counter("vault_http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=theirs)
    latency = Histogram(
        "vault_http_request_duration_seconds",
        "Time from request to response.",
        ["method", "route"],
        buckets=LATENCY_BUCKETS,
        registry=theirs,
    )
    for method, route, status, seconds in requests:
        counts.observe(method, route, status, seconds)
        answered.labels(method, route, str(status)).inc()
        latency.labels(method, route).observe(seconds)
    return _samples(ours), _samples(theirs)


def _without_created(samples: dict) -> dict:
    return {key: value for key, value in samples.items() if not key[0].endswith("_created")}


def test_bounds_fall_in_their_own_bucket_as_prometheus_counts_them():
    # A request that took exactly a bound is in that bound's bucket (le: less or equal).
    requests = [("GET", "/health", 200, bound) for bound in LATENCY_BUCKETS]
    requests += [("GET", "/health", 200, 0.0), ("GET", "/health", 200, 11.0), ("GET", "/health", 200, 1e-9)]
    ours, theirs = _observed(requests)
    assert ours == _without_created(theirs)
    assert (
        ours[("vault_http_request_duration_seconds_bucket", (("le", "0.001"), ("method", "GET"), ("route", "/health")))]
        == 3
    )
    assert ours[
        ("vault_http_request_duration_seconds_bucket", (("le", "+Inf"), ("method", "GET"), ("route", "/health")))
    ] == len(requests)


def test_many_routes_and_statuses_report_what_prometheus_reports():
    rng = random.Random(20)
    routes = ["/storage/history", "/storage/cache/{key}", "unmatched"]
    requests = [
        (rng.choice(["GET", "POST"]), rng.choice(routes), rng.choice([200, 201, 404, 503]), rng.expovariate(40))
        for _ in range(2000)
    ]
    ours, theirs = _observed(requests)
    theirs = _without_created(theirs)
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        # Latency sums are added in another order: equal to the last few bits.
        assert abs(ours[key] - value) <= 1e-9 * max(1.0, abs(value)), key


def test_nothing_is_reported_before_the_first_request():
    ours, theirs = _observed([])
    assert ours == _without_created(theirs) == {}
