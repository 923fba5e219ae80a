"""Everything the app keeps, behind typed keys declared in one place."""

from __future__ import annotations

import asyncio

from aiohttp import web

from vault.config import Config
from vault.jobs.scheduler import JobRunner
from vault.stop_deadline import StopDeadline
from vault.store.interface import Store
from vault.telemetry import Telemetry

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
JOBS = web.AppKey("jobs", JobRunner)
TELEMETRY = web.AppKey("telemetry", Telemetry)
OPENAPI_JSON = web.AppKey("openapi_json", bytes)  # the served /openapi.json, as vault.openapi.spec builds it
# Set once the service begins to stop: a request cut short after it was stopped, not abandoned.
STOPPING = web.AppKey("stopping", asyncio.Event)
# What part of a stop is running, and the bound on the whole of it (started by vault.server).
STOP_DEADLINE = web.AppKey("stop_deadline", StopDeadline)
