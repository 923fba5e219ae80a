"""Everything the app keeps, behind typed keys declared in one place."""

from __future__ import annotations

import asyncio

from aiohttp import web

from vault.config import Config
from vault.jobs.scheduler import JobRunner
from vault.store.interface import Store
from vault.telemetry import Telemetry

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
JOBS = web.AppKey("jobs", JobRunner)
TELEMETRY = web.AppKey("telemetry", Telemetry)
# Set once the service begins to stop: a request cut short after it was stopped, not abandoned.
STOPPING = web.AppKey("stopping", asyncio.Event)

# Why a request was answered with a server-side error (5xx): the access log line says it.
ERROR_REASON = web.ResponseKey("error_reason", str)
