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
    scoped_state,
    search,
    service,
    session_keys,
    sessions,
    state,
    threads,
)

# The order the OpenAPI description lists the routes in.
ROUTE_TABLES = (
    service.routes,
    docs.routes,
    sessions.routes,
    session_keys.routes,
    history.routes,
    search.routes,
    events.routes,
    state.routes,
    scoped_state.routes,
    threads.routes,
    artifacts.routes,
    metrics.routes,
    cache.routes,
    admin.routes,
    console.routes,
)
