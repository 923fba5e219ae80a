"""Administration: backups and scheduled jobs."""

from __future__ import annotations

from aiohttp import web
from vault.handlers.common import json_response, store_of
from vault.jobs.backups import take_backup

from vault.appkeys import CONFIG, JOBS

routes = web.RouteTableDef()


@routes.post("/storage/admin/backup")
async def backup_now(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    info = await take_backup(store_of(request), config.backup_dir, config.backup_keep)
    return json_response(info, status=201, headers={"Location": "/storage/admin/backups"})


@routes.get("/storage/admin/backups")
async def list_backups(request: web.Request) -> web.Response:
    return json_response(await store_of(request).list_backups(request.app[CONFIG].backup_dir))


@routes.get("/storage/admin/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    return json_response(request.app[JOBS].statuses())
