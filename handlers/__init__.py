"""HTTP handlers, one module per resource: parse, one store call, shape the answer."""

from vault.handlers import admin, artifacts, cache, docs, history, metrics, service, sessions, state

ROUTE_TABLES = (
    service.routes,
    sessions.routes,
    history.routes,
    state.routes,
    artifacts.routes,
    metrics.routes,
    cache.routes,
    admin.routes,
    docs.routes,
)
