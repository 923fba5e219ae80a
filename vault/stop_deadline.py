"""The bound on a whole stop: past VAULT_SHUTDOWN_TIMEOUT the process exits, whatever still runs.

aiohttp's shutdown timeout covers only requests in flight; the cleanup after
them (a running job, the store's drain and close) has no bound of its own, and
a writer stuck on a lock another process holds can wait far longer. aiosqlite's
threads are not daemons, so even a finished event loop can leave the
interpreter waiting on them at exit. The deadline runs on a daemon thread of
its own, so neither a blocked loop nor those threads can keep it from firing.

Nothing acknowledged is lost by exiting early: a write is answered only after
its COMMIT, so what is abandoned is work no client was told is done.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger("vault")

# Not 0: a supervisor should see that the stop did not finish cleanly.
EXIT_STOP_ABANDONED = 1


class StopDeadline:
    """Says which part of the stop is running, and ends the process if the whole stop runs late."""

    def __init__(self) -> None:
        self.phase = "requests in flight"
        self._timer: threading.Timer | None = None

    def enter(self, phase: str) -> None:
        self.phase = phase

    def start(self, seconds: float) -> None:
        """Begin counting; a second call leaves the first deadline as it is."""
        if self._timer is not None:
            return
        self._timer = threading.Timer(seconds, self._abandon, args=(seconds,))
        self._timer.daemon = True
        self._timer.start()

    def _abandon(self, seconds: float) -> None:
        log.error("stop not finished within %ss; abandoned: %s; exiting now", seconds, self.phase)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        # os._exit: sys.exit from this thread would only end the thread, and a normal exit
        # would wait on the very threads that are stuck.
        os._exit(EXIT_STOP_ABANDONED)
