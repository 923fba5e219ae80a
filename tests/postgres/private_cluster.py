"""A PostgreSQL cluster of one test's own, made with initdb, to stop and start under a running service.

A primary's streaming standby is made with `pg_basebackup -R` (`standby_of`),
and promoted with `pg_ctl promote`.

The shared server (VAULT_TEST_POSTGRES_DSN) cannot be stopped by a test. This
one runs on a free port from a temporary folder; PostgreSQL refuses to run as
root, so as root its commands run as the `postgres` user. Tests skip with a
`missing service:` reason where the binaries are absent (see tests/services.py).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.process.conftest import free_port
from tests.services import missing

SERVER_USER = "postgres"


def _bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        pytest.skip(missing("pg_config is not on PATH, so no initdb and pg_ctl to run a private PostgreSQL"))
    bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
    if not all((bindir / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup")):
        pytest.skip(missing(f"initdb, pg_ctl and pg_basebackup are not all in {bindir}"))
    return bindir


class PrivateCluster:
    def __init__(self) -> None:
        self._bindir = _bindir()
        self._as_user: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="vault-pg-"))
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                shutil.rmtree(self.root)
                pytest.skip(missing(f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as"))
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as_user = ["runuser", "-u", SERVER_USER, "--"]
        self.port = free_port()
        self.data = self.root / "data"
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as_user, str(self._bindir / tool), *args], check=True, capture_output=True, cwd=self.root
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def standby_of(self, primary: PrivateCluster) -> None:
        """Make this cluster a streaming standby of `primary` (which must be running).

        -R writes standby.signal and primary_conninfo; -X stream brings the WAL
        written during the copy along. The default pg_hba.conf of initdb -A trust
        already lets 127.0.0.1 replicate.
        """
        self._run(
            "pg_basebackup", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
            "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `immediate` is a crash as far as the data is concerned."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def promote(self) -> None:
        """End recovery: the standby takes writes (waits until it does)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "promote")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
