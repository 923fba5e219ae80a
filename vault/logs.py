"""Logging set-up, and one line per request: plain text or JSON lines.

Values that came from a client are escaped, so a request id with a newline or
an escape sequence cannot forge log lines or drive a terminal.

Access lines are written in batches (AccessBatchingHandler): a write and a
flush per request cost about as much as a small request itself. Every other
line is written at once, after the access lines before it, so the order of
the log is kept.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

ACCESS_LOGGER = "vault.access"
# Libraries whose INFO lines are about themselves (APScheduler logs each job added
# and each run): shown at LOG_LEVEL=debug only.
CHATTY_LOGGERS = ("apscheduler",)


def escape(value: str) -> str:
    # Every character the pattern finds is one str.isprintable() refuses: most values need no pass.
    if value.isprintable():
        return value
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


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Access lines wait at most this long, or until this many are waiting, before they are written.
ACCESS_BATCH_SECONDS = 0.5
ACCESS_BATCH_LINES = 256


class AccessBatchingHandler(logging.StreamHandler):
    """A stream handler that writes access lines in batches and every other line at once.

    A batch is written when it is full, when it is ACCESS_BATCH_SECONDS old at
    the next line, when any other line comes, and at `flush()` (which the
    server calls every ACCESS_BATCH_SECONDS and at exit). A kill -9 can lose
    the access lines of the last half second; never an error or a warning.
    """

    def __init__(self, stream: TextIO, json_lines: bool = False) -> None:
        super().__init__(stream)
        self.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
        self._json_lines = json_lines
        self._waiting: list[str] = []
        self._since = 0.0
        self._second = -1
        self._second_text = ""

    @property
    def json_lines(self) -> bool:
        return self._json_lines

    def access(self, message: str, fields: dict[str, Any] | None = None) -> None:
        """An access line as this handler's formatter would write it, built without a LogRecord
        (the record and its formatting cost a small request a third of its time); `fields` go
        into JSON lines only."""
        created = time.time()
        if self._json_lines:
            line = json.dumps(
                {"time": iso_time(created), "level": "info", "logger": ACCESS_LOGGER, "message": escape(message)}
                | (fields or {}),
                ensure_ascii=False,
            )
        else:
            second = int(created)
            if second != self._second:
                self._second, self._second_text = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            line = f"{self._second_text},{int((created - second) * 1000):03d} INFO {ACCESS_LOGGER}: {message}"
        self._wait(line + self.terminator)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        if record.name != ACCESS_LOGGER or record.levelno >= logging.WARNING:
            self._write(line, record)
            return
        self._wait(line)

    def _wait(self, line: str) -> None:
        # Under the lock: a line logged on another thread may be writing the batch out meanwhile.
        with self.lock:
            if not self._waiting:
                self._since = time.monotonic()
            self._waiting.append(line)
            due = len(self._waiting) >= ACCESS_BATCH_LINES or time.monotonic() - self._since >= ACCESS_BATCH_SECONDS
        if due:
            self._write("", None)

    def flush(self) -> None:
        if self._waiting:
            self._write("", None)
        else:
            super().flush()

    def _write(self, line: str, record: logging.LogRecord | None) -> None:
        with self.lock:
            waiting, self._waiting = self._waiting, []
            try:
                self.stream.write("".join(waiting) + line)
                self.stream.flush()
            except Exception:
                # As StreamHandler does: a log that cannot be written never fails the request.
                if record is not None:
                    self.handleError(record)


def flush() -> None:
    """Write the access lines waiting in the root logger's handlers."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def configure(level: str, log_format: str) -> None:
    # What no line here shows (the calling frame, thread and process names) is not
    # looked up for each record either (the logging HOWTO's optimizations).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = AccessBatchingHandler(sys.stderr, json_lines=log_format == "json")
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if level.lower() == "debug" else logging.WARNING)


_access_logger = logging.getLogger(ACCESS_LOGGER)


def log_request(
    method: str, route: str, status: int, seconds: float, request_id: str, reason: str | None = None
) -> None:
    logger = _access_logger
    if not logger.isEnabledFor(logging.INFO):
        return
    duration_ms = round(seconds * 1000, 2)
    shown_id = escape(request_id)
    message = f"{method} {route} {status} {duration_ms:.1f}ms id={shown_id}"
    shown_reason = None
    if reason is not None:
        shown_reason = escape(reason)
        message += f" ({shown_reason})"
    direct = _only_handler()
    if direct is not None and not direct.json_lines:
        # A text line is the message alone: no fields to gather.
        direct.access(message)
        return
    fields = {"method": method, "route": route, "status": status, "duration_ms": duration_ms, "request_id": shown_id}
    if shown_reason is not None:
        fields["reason"] = shown_reason
    if direct is not None:
        direct.access(message, fields)
    else:
        logger.info("%s", message, extra={"fields": fields})


def _only_handler() -> AccessBatchingHandler | None:
    """The service's own handler when no other would see the line (none attached by a test or
    an embedding application, no filter): then the line needs no LogRecord."""
    if _access_logger.handlers or _access_logger.filters or not _access_logger.propagate:
        return None
    root = logging.getLogger()
    if len(root.handlers) != 1 or root.filters:
        return None
    handler = root.handlers[0]
    if type(handler) is not AccessBatchingHandler or handler.filters or handler.level > logging.INFO:
        return None
    return handler
