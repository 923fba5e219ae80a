"""HTTP handlers, one module per resource: parse, one store call, shape the answer."""

from vault.handlers import (
    admin,
    artifacts,
    cache,
    console,
    docs,
    events,
    history,
    metrics,
    search,
    service,
    sessions,
    state,
)

# The order the OpenAPI description lists the routes in.
ROUTE_TABLES = (
    service.routes,
    docs.routes,
    sessions.routes,
    history.routes,
    search.routes,
    events.routes,
    state.routes,
    artifacts.routes,
    metrics.routes,
    cache.routes,
    admin.routes,
    console.routes,
)
