"""Logging set-up, and one line per request: plain text or JSON lines.

Values that came from a client are escaped, so a request id with a newline or
an escape sequence cannot forge log lines or drive a terminal.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

ACCESS_LOGGER = "vault.access"


def escape(value: str) -> str:
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
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


def log_request(method: str, route: str, status: int, seconds: float, request_id: str) -> None:
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
    logger.info(
        "%s %s %d %.1fms id=%s",
        method,
        route,
        status,
        fields["duration_ms"],
        fields["request_id"],
        extra={"fields": fields},
    )
