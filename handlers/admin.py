"""Administration: backups and scheduled jobs."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from attrs import evolve
from vault.handlers.common import QueryReader, json_response, store_of
from vault.jobs.backups import take_backup
from vault.jobs.scheduler import JobStatus

from vault.appkeys import CONFIG, JOBS
from vault.models import BackupInfo, StorageReport, UtcTime
from vault.openapi.operation import WRITE_ERRORS, Named, Operation, Reply, described, ok_reply
from vault.openapi.parameters import choice
from vault.openapi.schemas import FIELD_RULES

routes = web.RouteTableDef()

# With VAULT_ADMIN_API_KEYS set, a key that is not one of them is refused here (vault.security).
ADMIN_ERRORS = (403,)

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


@routes.post("/storage/admin/backup")
@described(
    Operation(
        "POST",
        "/storage/admin/backup",
        "backup_now",
        "Take a backup now",
        "admin",
        Reply(201, "The backup, checked; `file` is its name in the backup folder.", BackupInfo, ("Location",)),
        description="One backup runs at a time: while one runs, another is refused with 409 (`backup_running`)"
        " naming it.",
        errors=(*ADMIN_ERRORS, 409, *WRITE_ERRORS),
    ),
)
async def backup_now(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    info = await take_backup(store_of(request), config.backup_dir, config.backup_keep)
    # The name only: the server's paths are not the client's business.
    named = evolve(info, file=Path(info.file).name)
    return json_response(named, status=201, headers={"Location": "/storage/admin/backups"})


@routes.get("/storage/admin/backups")
@described(
    Operation(
        "GET",
        "/storage/admin/backups",
        "list_backups",
        "List backups, newest first",
        "admin",
        ok_reply(BACKUP_FILES, "Backup files in the backup folder, by name."),
        errors=ADMIN_ERRORS,
    ),
)
async def list_backups(request: web.Request) -> web.Response:
    found = await store_of(request).list_backups(request.app[CONFIG].backup_dir)
    return json_response([evolve(backup, file=Path(backup.file).name) for backup in found])


@routes.get("/storage/admin/jobs")
@described(
    Operation(
        "GET",
        "/storage/admin/jobs",
        "list_jobs",
        "Scheduled jobs",
        "admin",
        ok_reply(list[JobStatus], "Each job with its next run, last run, duration, outcome and error."),
        errors=ADMIN_ERRORS,
    ),
)
async def list_jobs(request: web.Request) -> web.Response:
    return json_response(request.app[JOBS].statuses())


@routes.get("/storage/admin/storage")
@described(
    Operation(
        "GET",
        "/storage/admin/storage",
        "storage_use",
        "What each kind of data takes",
        "admin",
        ok_reply(
            StorageReport,
            "Per kind of data: `count`, `raw_bytes` (the documents as sent) and `stored_bytes` (as the database"
            " keeps them, zstd frames where compression saved space). State and cache count what the database"
            " holds (none when they are on Redis). Artifacts: `count` records; `raw_bytes` the content each"
            " record has, as sent; `stored_bytes` each distinct blob once (records share blobs by content), in"
            " the size it is kept in (zstd-packed where that saved space).",
        ),
        description="Answers the last measurement (the `storage-figures` job takes one every five minutes) unless"
        " `fresh=true`, which measures now: one pass over the size columns of every row.",
        params=(choice("fresh", ("true", "false"), "Measure now instead of answering the last measurement.", "false"),),
        errors=ADMIN_ERRORS,
    ),
)
async def storage_use(request: web.Request) -> web.Response:
    reader = QueryReader(request)
    fresh = reader.choice("fresh", ("true", "false")) == "true"
    reader.done()
    return json_response(await store_of(request).storage_report(fresh=fresh))
