"""Logging set-up, and one line per request: plain text or JSON lines.

Values that came from a client are escaped, so a request id with a newline or
an escape sequence cannot forge log lines or drive a terminal.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

ACCESS_LOGGER = "vault.access"
# Libraries whose INFO lines are about themselves (APScheduler logs each job added
# and each run): shown at LOG_LEVEL=debug only.
CHATTY_LOGGERS = ("apscheduler",)


def escape(value: str) -> str:
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", value)


def iso_time(timestamp: float) -> str:
    """ISO 8601 in UTC with milliseconds and the offset, as the API writes times."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": iso_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": escape(record.getMessage()),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if level.lower() == "debug" else logging.WARNING)


def log_request(
    method: str, route: str, status: int, seconds: float, request_id: str, reason: str | None = None
) -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    if not logger.isEnabledFor(logging.INFO):
        return
    fields = {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "request_id": escape(request_id),
    }
    line = "%s %s %d %.1fms id=%s"
    values: list[Any] = [method, route, status, fields["duration_ms"], fields["request_id"]]
    if reason is not None:
        fields["reason"] = escape(reason)
        line += " (%s)"
        values.append(fields["reason"])
    logger.info(line, *values, extra={"fields": fields})
