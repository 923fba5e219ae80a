"""Administration: backups and scheduled jobs."""

from __future__ import annotations

import os

from aiohttp import web
from vault.handlers.common import json_response, store_of
from vault.jobs.backups import backup_files, take_backup

from vault import clock
from vault.appkeys import CONFIG, JOBS

routes = web.RouteTableDef()


@routes.post("/storage/admin/backup")
async def backup_now(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    info = await take_backup(store_of(request), config.backup_dir, config.backup_keep)
    return json_response(info, status=201, headers={"Location": "/storage/admin/backups"})


@routes.get("/storage/admin/backups")
async def list_backups(request: web.Request) -> web.Response:
    found = []
    for path in backup_files(request.app[CONFIG].backup_dir):
        stat = os.stat(path)
        found.append(
            {"file": str(path), "size": stat.st_size, "created_at": clock.format_time(clock.from_epoch(stat.st_mtime))}
        )
    return json_response(found)


@routes.get("/storage/admin/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    return json_response(request.app[JOBS].statuses())
