"""Every route of the service, as the OpenAPI description tells it.

A new route needs an entry here: tests/http/test_openapi.py fails while a
registered route is missing from this table or an entry names no route, and
every JSON response the handler tests receive is checked against it.
"""

from __future__ import annotations

from typing import Any

from vault.handlers.cache import MAX_KEY_LENGTH
from vault.handlers.uploads import _MEDIA_TYPE as MEDIA_TYPE
from vault.inputs import (
    ArtifactBody,
    CacheWrite,
    MessageBatch,
    MetricBatch,
    Name,
    NewMessage,
    NewMetric,
    NewSession,
    SessionChanges,
    StateBody,
)
from vault.jobs.scheduler import JobStatus
from vault.models import (
    ROLES,
    SESSION_STATUSES,
    Artifact,
    BackupInfo,
    CacheEntry,
    Message,
    Metric,
    Rollup,
    Session,
    State,
    UtcTime,
)
from vault.openapi.operation import Named, Operation, Reply
from vault.openapi.parameters import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LIMIT,
    MAX_OFFSET,
    OFFSET,
    Param,
    choice,
    path_id,
    text_filter,
    time_filter,
)
from vault.openapi.schemas import FIELD_RULES
from vault.queries import ROLLUP_BUCKETS

READ = (503,)  # a read can meet a store that is stopping
WRITE = (503, 507)


def ok(body: Any, description: str, *headers: str) -> Reply:
    return Reply(200, description, body, headers)


def created(body: Any, description: str) -> Reply:
    return Reply(201, description, body, ("Location",))


def page(item: type, description: str) -> Reply:
    return Reply(200, f"{description} A plain JSON array; `Link` names the next page.", list[item], ("Link",))


def deleted(name: str, id_field: str, **more: Any) -> Reply:
    schema = {
        "type": "object",
        "properties": {"status": {"const": "deleted"}, id_field: {"type": "string"}, **more},
        "required": ["status", id_field, *more],
    }
    return ok(Named(name, schema), "Deleted.")


# -- service ------------------------------------------------------------------

SERVICE = (
    Operation(
        "GET",
        "/health",
        "health",
        "Liveness",
        "service",
        ok(
            Named(
                "Health",
                {
                    "type": "object",
                    "properties": {
                        "status": {"const": "healthy"},
                        "service": {"const": "storage_service"},
                        "version": {"type": "string"},
                        "backend": {"type": "string", "examples": ["sqlite"]},
                    },
                    "required": ["status", "service", "version", "backend"],
                },
            ),
            "The process is up.",
        ),
        description="Cheap, and open even when API keys are set.",
        needs_key=False,
    ),
    Operation(
        "GET",
        "/ready",
        "ready",
        "Readiness",
        "service",
        ok(
            Named(
                "Ready",
                {
                    "type": "object",
                    "properties": {"status": {"const": "ready"}, "backend": {"type": "string"}},
                    "required": ["status", "backend"],
                },
            ),
            "The database answers a read and the writer runs.",
        ),
        description="503 (`not_ready`) with the reason while the database does not answer or the writer is stopped.",
        errors=(503,),
    ),
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
    Operation(
        "GET",
        "/openapi.json",
        "openapi",
        "This description",
        "service",
        Reply(200, "OpenAPI 3.1.", schema={"type": "object"}),
    ),
    Operation(
        "GET",
        "/docs",
        "docs",
        "This page",
        "service",
        Reply(200, "An HTML page that renders /openapi.json.", media_type="text/html", schema={"type": "string"}),
    ),
)

# -- sessions -----------------------------------------------------------------

SESSION_ID = path_id("session_id", "A session id (`session_...`).")
SESSION_CHANGES = dict(
    path="/storage/sessions/{session_id}",
    tag="sessions",
    reply=ok(Session, "The session as it is now."),
    description="Given fields change; `metadata` merges key by key into the stored one (a key set to null "
    "is removed). PUT and PATCH do the same.",
    params=(SESSION_ID,),
    body=SessionChanges,
    body_example={"status": "ended"},
    errors=(404, *WRITE),
)

SESSIONS = (
    Operation(
        "POST",
        "/storage/sessions",
        "create_session",
        "Create a session",
        "sessions",
        created(Session, "The new session."),
        params=(IDEMPOTENCY_KEY,),
        body=NewSession,
        body_example={"agent_name": "research_orchestrator", "user_id": "user_123", "metadata": {"source": "docs"}},
        errors=WRITE,
    ),
    Operation(
        "GET",
        "/storage/sessions",
        "list_sessions",
        "List sessions, newest first",
        "sessions",
        page(Session, "Sessions, newest first."),
        params=(
            text_filter("agent_name", "Only this agent's sessions."),
            text_filter("user_id", "Only this user's sessions."),
            choice("status", SESSION_STATUSES, "Only sessions with this status."),
            LIMIT,
            OFFSET,
        ),
        errors=READ,
    ),
    Operation(
        "GET",
        "/storage/sessions/{session_id}",
        "get_session",
        "Read a session",
        "sessions",
        ok(Session, "The session."),
        params=(SESSION_ID,),
        errors=(404, *READ),
    ),
    Operation("PUT", operation_id="update_session", summary="Change a session", **SESSION_CHANGES),
    Operation("PATCH", operation_id="patch_session", summary="Change a session (same as PUT)", **SESSION_CHANGES),
    Operation(
        "DELETE",
        "/storage/sessions/{session_id}",
        "delete_session",
        "Delete a session and everything it owns",
        "sessions",
        deleted("SessionDeleted", "session_id"),
        description="History, state, artifacts with their stored content and metrics go too, atomically.",
        params=(SESSION_ID,),
        errors=(404, *WRITE),
    ),
)

# -- history ------------------------------------------------------------------

HISTORY_SESSION = text_filter("session_id", "The session.", required=True)

HISTORY = (
    Operation(
        "POST",
        "/storage/history",
        "add_message",
        "Append a message",
        "history",
        created(Message, "The stored message, with its `seq`."),
        params=(IDEMPOTENCY_KEY,),
        body=NewMessage,
        body_example={"session_id": "session_...", "role": "user", "content": "What is quantum computing?"},
        errors=(404, *WRITE),
    ),
    Operation(
        "POST",
        "/storage/history/batch",
        "add_messages",
        "Append messages, all or nothing",
        "history",
        created(list[Message], "The stored messages, in order."),
        description="At least one message; a message may repeat the batch's `session_id` but not name another.",
        params=(IDEMPOTENCY_KEY,),
        body=MessageBatch,
        body_example={
            "session_id": "session_...",
            "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        },
        errors=(404, *WRITE),
    ),
    Operation(
        "GET",
        "/storage/history",
        "list_history",
        "Read a conversation",
        "history",
        page(Message, "Messages, oldest first."),
        description="Without a cursor: the newest `limit` messages, oldest first (the context window). "
        "`after` or `before` (a seq number or a message id) page forwards or backwards from a message; "
        "`offset` pages from the start. One cursor at a time.",
        params=(
            HISTORY_SESSION,
            LIMIT,
            text_filter("after", "The `limit` messages after this one (seq or id)."),
            text_filter("before", "The `limit` messages just before this one (seq or id)."),
            Param(
                "offset",
                "query",
                {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
                "From the start: skip this many.",
            ),
            choice("role", ROLES, "Only messages with this role."),
        ),
        errors=(404, *READ),
    ),
    Operation(
        "GET",
        "/storage/history/{message_id}",
        "get_message",
        "Read a message",
        "history",
        ok(Message, "The message."),
        params=(path_id("message_id", "A message id (`msg_...`)."),),
        errors=(404, *READ),
    ),
    Operation(
        "DELETE",
        "/storage/history",
        "clear_history",
        "Clear a session's history",
        "history",
        deleted("HistoryCleared", "session_id", deleted={"type": "integer", "description": "Messages deleted."}),
        description="Seq numbers are not reused.",
        params=(HISTORY_SESSION,),
        errors=(404, *WRITE),
    ),
)

# -- state --------------------------------------------------------------------

STATE_PATH = "/storage/state/{session_id}"
STATE_REPLY = ok(State, "The state; `ETag` is its version.", "ETag")

STATE = (
    Operation(
        "GET",
        STATE_PATH,
        "get_state",
        "Read a session's state",
        "state",
        STATE_REPLY,
        description="A session with no state yet has `data: {}` and `version: 0`.",
        params=(SESSION_ID,),
        errors=(404, *READ),
    ),
    Operation(
        "PUT",
        STATE_PATH,
        "put_state",
        "Replace a session's state",
        "state",
        STATE_REPLY,
        description="`version` goes up by one.",
        params=(SESSION_ID, IF_MATCH),
        body=StateBody,
        body_example={"data": {"context": "quantum computing research", "memory": ["fact1"]}},
        errors=(404, 412, *WRITE),
    ),
    Operation(
        "PATCH",
        STATE_PATH,
        "patch_state",
        "Merge into a session's state",
        "state",
        STATE_REPLY,
        description="`data` is a JSON merge patch (RFC 7396) applied atomically: concurrent partial updates "
        "never lose each other. A key set to null is removed.",
        params=(SESSION_ID, IF_MATCH),
        body=StateBody,
        body_example={"data": {"memory": ["fact1", "fact2"], "context": None}},
        errors=(404, 412, *WRITE),
    ),
    Operation(
        "DELETE",
        STATE_PATH,
        "delete_state",
        "Empty a session's state",
        "state",
        Reply(200, "Emptied; the version still moves on.", deleted("StateDeleted", "session_id").body, ("ETag",)),
        params=(SESSION_ID, IF_MATCH),
        errors=(404, 412, *WRITE),
    ),
)

# -- artifacts ----------------------------------------------------------------

ARTIFACT_ID = path_id("artifact_id", "An artifact id (`artifact_...`).")
_FORM_TEXT = {"type": "string"}
# The form's text fields take the JSON body's rules (vault.handlers.uploads structures them alike).
_FORM_NAME = {key: value for key, value in FIELD_RULES[Name].items() if key != "description"}
# What vault.handlers.uploads takes as an artifact's content_type.
MEDIA_TYPE_PATTERN = f"^{MEDIA_TYPE.pattern}$"
ARTIFACT_FORM = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream", "description": "The bytes."},
        "name": {**_FORM_NAME, "description": "Defaults to the file part's filename."},
        "session_id": _FORM_NAME,
        "type": {**_FORM_NAME, "default": "file"},
        "content_type": {
            **_FORM_NAME,
            "pattern": MEDIA_TYPE_PATTERN,
            "description": "Defaults to the file part's type, or a guess from the name.",
        },
        "path": _FORM_TEXT,
        "size": {**_FORM_TEXT, "pattern": "^[0-9]+$", "description": "If given, must match the content."},
        # An object part goes as JSON text (OpenAPI 3.1's default for objects in multipart).
        "metadata": {"type": "object", "description": "A JSON object, as JSON text."},
    },
    "additionalProperties": False,
    "required": ["file"],
}
CONTENT_HEADERS = ("ETag", "Content-Disposition", "X-Content-Type-Options")
ANY_BYTES = {"type": "string", "contentMediaType": "application/octet-stream"}

ARTIFACTS = (
    Operation(
        "POST",
        "/storage/artifacts",
        "create_artifact",
        "Record an artifact, or store its bytes",
        "artifacts",
        created(Artifact, "The artifact; with stored bytes, its `size`, `sha256` and `content_type` are filled in."),
        description="As JSON without `content`: records a reference to content stored elsewhere (`path`, "
        "`size`). With `content` (text, stored as UTF-8) or `content_base64`: The Vault stores the bytes; a JSON "
        "body is bounded by VAULT_MAX_BODY_BYTES. As `multipart/form-data`: a `file` part with the bytes, "
        "streamed to disk, plus the fields as form fields (`metadata` as JSON text; `name` defaults to the "
        "file's name). Stored content over VAULT_MAX_ARTIFACT_BYTES is a 413 and nothing is kept. A given "
        "`size` must match the content.",
        params=(IDEMPOTENCY_KEY,),
        body=ArtifactBody,
        body_example={"session_id": "session_...", "name": "report.md", "type": "file", "path": "/data/report.md"},
        other_bodies=(("multipart/form-data", ARTIFACT_FORM),),
        errors=(404, *WRITE),
    ),
    Operation(
        "GET",
        "/storage/artifacts",
        "list_artifacts",
        "List artifacts, newest first",
        "artifacts",
        page(Artifact, "Artifacts, newest first."),
        params=(
            text_filter("session_id", "Only this session's artifacts."),
            text_filter("type", "Only artifacts of this type."),
            LIMIT,
            OFFSET,
        ),
        errors=READ,
    ),
    Operation(
        "GET",
        "/storage/artifacts/{artifact_id}",
        "get_artifact",
        "Read an artifact's metadata",
        "artifacts",
        ok(Artifact, "The artifact."),
        params=(ARTIFACT_ID,),
        errors=(404, *READ),
    ),
    Operation(
        "GET",
        "/storage/artifacts/{artifact_id}/content",
        "get_artifact_content",
        "Download an artifact's stored bytes",
        "artifacts",
        Reply(
            200,
            "The bytes, streamed, as the artifact's `content_type`, always as an attachment.",
            headers=CONTENT_HEADERS,
            media_type="*/*",
            schema=ANY_BYTES,
        ),
        description="`Range: bytes=first-last`, `bytes=first-` or `bytes=-suffix` gives a 206 with that part "
        "(other units, several ranges or malformed ones are ignored: the whole content); a range past the end "
        "is a 416. `If-None-Match` with the ETag (the content's sha256) gives a 304; `If-Range` with it keeps "
        "the Range. An artifact recorded as a reference has no stored bytes: 404 (`no_content`).",
        params=(ARTIFACT_ID,),
        errors=(404, 416, *READ),
        extra_replies=(
            Reply(
                206,
                "The requested part of the bytes.",
                headers=(*CONTENT_HEADERS, "Content-Range"),
                media_type="*/*",
                schema=ANY_BYTES,
            ),
            Reply(304, "The client's copy (If-None-Match) is current; no body.", headers=("ETag",), media_type="*/*"),
        ),
    ),
    Operation(
        "DELETE",
        "/storage/artifacts/{artifact_id}",
        "delete_artifact",
        "Delete an artifact",
        "artifacts",
        deleted("ArtifactDeleted", "artifact_id"),
        params=(ARTIFACT_ID,),
        errors=(404, *WRITE),
    ),
)

# -- metrics ------------------------------------------------------------------

METRIC_FILTERS = (
    text_filter("entity_type", "Only this kind of entity."),
    text_filter("entity_name", "Only this entity."),
)
TIME_RANGE = (
    time_filter("start_time", "From this time on"),
    time_filter("end_time", "Up to this time"),
)

METRICS = (
    Operation(
        "POST",
        "/storage/metrics",
        "record_metric",
        "Record a metric point",
        "metrics",
        created(Metric, "The point."),
        description="`timestamp` defaults to now.",
        params=(IDEMPOTENCY_KEY,),
        body=NewMetric,
        body_example={"entity_name": "research_orchestrator", "metric_name": "latency_ms", "value": 412.5},
        errors=(404, *WRITE),
    ),
    Operation(
        "POST",
        "/storage/metrics/batch",
        "record_metrics",
        "Record metric points, all or nothing",
        "metrics",
        created(list[Metric], "The points, in order."),
        description="At least one point.",
        params=(IDEMPOTENCY_KEY,),
        body=MetricBatch,
        body_example={
            "metrics": [
                {"entity_name": "research_orchestrator", "metric_name": "tokens", "value": 1200},
                {"entity_name": "research_orchestrator", "metric_name": "latency_ms", "value": 380},
            ]
        },
        errors=(404, *WRITE),
    ),
    Operation(
        "GET",
        "/storage/metrics",
        "list_metrics",
        "List raw points, newest first",
        "metrics",
        page(Metric, "Points, newest first."),
        params=(
            *METRIC_FILTERS,
            text_filter("session_id", "Only this session's points."),
            text_filter("metric_name", "Only this metric."),
            *TIME_RANGE,
            LIMIT,
            OFFSET,
        ),
        errors=READ,
    ),
    Operation(
        "GET",
        "/storage/metrics/rollups",
        "list_rollups",
        "Read a metric's rollups, oldest first",
        "metrics",
        page(Rollup, "One row per bucket, oldest first."),
        description="Kept by a scheduled job; still there after the raw points pass their retention.",
        params=(
            text_filter("metric_name", "The metric.", required=True),
            choice("bucket", ROLLUP_BUCKETS, "Bucket size.", default="hour"),
            *METRIC_FILTERS,
            *TIME_RANGE,
            LIMIT,
            OFFSET,
        ),
        errors=READ,
    ),
    Operation(
        "GET",
        "/storage/metrics/{metric_id}",
        "get_metric",
        "Read a metric point",
        "metrics",
        ok(Metric, "The point."),
        params=(path_id("metric_id", "A metric id (`metric_...`)."),),
        errors=(404, *READ),
    ),
)

# -- cache --------------------------------------------------------------------

CACHE_KEY = path_id("key", "The key; it may contain `/`.", minLength=1, maxLength=MAX_KEY_LENGTH)

CACHE = (
    Operation(
        "POST",
        "/storage/cache/cleanup",
        "cache_cleanup",
        "Delete expired entries now",
        "cache",
        ok(
            Named(
                "CacheCleanup",
                {
                    "type": "object",
                    "properties": {"status": {"const": "completed"}, "deleted": {"type": "integer"}},
                    "required": ["status", "deleted"],
                },
            ),
            "How many entries were deleted.",
        ),
        description="A scheduled job does this too. No body is needed.",
        params=(IDEMPOTENCY_KEY,),
        errors=(400, 413, 415, *WRITE),
    ),
    Operation(
        "GET",
        "/storage/cache/{key}",
        "cache_get",
        "Read a cache entry",
        "cache",
        ok(CacheEntry, "The entry."),
        description="An entry past its expiry is 404 at once, whether or not the cleanup job has run.",
        params=(CACHE_KEY,),
        errors=(404, 422, *READ),
    ),
    Operation(
        "PUT",
        "/storage/cache/{key}",
        "cache_set",
        "Set a cache entry",
        "cache",
        ok(CacheEntry, "The entry."),
        description="`ttl` in seconds; absent or null for no expiry. Setting restarts the TTL. "
        "`key` in the body is optional and, when given, must equal the path's.",
        params=(CACHE_KEY,),
        body=CacheWrite,
        body_example={"value": {"result": "cached data"}, "ttl": 3600},
        errors=WRITE,
    ),
    Operation(
        "DELETE",
        "/storage/cache/{key}",
        "cache_delete",
        "Delete a cache entry",
        "cache",
        deleted("CacheEntryDeleted", "key"),
        params=(CACHE_KEY,),
        errors=(404, 422, *WRITE),
    ),
)

# -- administration -----------------------------------------------------------

BACKUP_FILES = Named(
    "BackupFiles",
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "file": {"type": "string"},
                "size": {"type": "integer"},
                "created_at": FIELD_RULES[UtcTime],
            },
            "required": ["file", "size", "created_at"],
        },
    },
)

ADMIN = (
    Operation(
        "POST",
        "/storage/admin/backup",
        "backup_now",
        "Take a backup now",
        "admin",
        Reply(201, "The backup, checked.", BackupInfo, ("Location",)),
        errors=WRITE,
    ),
    Operation(
        "GET",
        "/storage/admin/backups",
        "list_backups",
        "List backups, newest first",
        "admin",
        ok(BACKUP_FILES, "Backup files in the backup folder."),
    ),
    Operation(
        "GET",
        "/storage/admin/jobs",
        "list_jobs",
        "Scheduled jobs",
        "admin",
        ok(list[JobStatus], "Each job with its next run, last run, duration, outcome and error."),
    ),
)

OPERATIONS: tuple[Operation, ...] = (*SERVICE, *SESSIONS, *HISTORY, *STATE, *ARTIFACTS, *METRICS, *CACHE, *ADMIN)

TAGS = (
    ("sessions", "An agent's conversation: who, which agent, its status."),
    ("history", "The messages of a session, numbered by `seq`."),
    ("state", "A JSON object per session, versioned: ETag and If-Match."),
    ("artifacts", "Files a session produced."),
    ("metrics", "Points and their rollups."),
    ("cache", "JSON values by key, with a TTL."),
    ("admin", "Backups and scheduled jobs."),
    ("service", "Liveness, readiness, metrics and this description."),
)
