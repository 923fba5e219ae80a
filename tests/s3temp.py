"""S3 for tests: moto's server mode, a separate process speaking the S3 API over HTTP.

VAULT_TEST_S3=moto (what .ci/run sets) says moto's server may be started here;
tests that need S3 skip, saying so, when it is not set (and fail instead where
VAULT_TEST_REQUIRE_SERVICES=1: see tests/services.py). One server serves the
whole run, each test in a bucket of its own; a test that stops S3 mid-run
starts a private server it can stop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import botocore.session
import pytest
from vault.store.s3_calls import S3Location

from tests.redistemp import free_port
from tests.services import missing
from vault.config import Config

S3_VARIABLE = "VAULT_TEST_S3"
# How long a started moto server may take to answer, or a stopped one to go.
SETTLE_SECONDS = 30.0
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "vault-test", "AWS_SECRET_ACCESS_KEY": "vault-test", "AWS_REGION": "us-east-1"}


def s3_wanted() -> None:
    """Skip (saying why) unless the run may start moto's server."""
    value = os.environ.get(S3_VARIABLE, "").strip()
    if value != "moto":
        pytest.skip(missing(f"s3: {S3_VARIABLE}=moto is not set, so no S3 to test against (.ci/run sets it)"))


class MotoServer:
    """`python -m moto.server` on a free port, started and stopped by the test."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen | None = None

    @property
    def environment(self) -> dict[str, str]:
        """What a Vault (or any AWS client) needs to reach this server."""
        return {"AWS_ENDPOINT_URL_S3": self.endpoint, **CREDENTIALS}

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + SETTLE_SECONDS
        while not self.answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"moto's server did not answer on port {self.port}")
            time.sleep(0.05)

    def pause(self) -> None:
        """Stop answering without refusing: connections are still accepted, no request is ever answered."""
        os.kill(self._running().pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self._running().pid, signal.SIGCONT)

    def _running(self) -> subprocess.Popen:
        if self._process is None:
            raise RuntimeError("moto's server is not running")
        return self._process

    def stop(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        process.send_signal(signal.SIGCONT)  # a paused server would not see its terminate
        process.terminate()
        try:
            process.wait(SETTLE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    """A started MotoServer, stopped after."""
    s3_wanted()
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def start_with_its_bucket(server: MotoServer, config: Config) -> None:
    """Start S3 again; moto keeps nothing across a restart, so the bucket is made as a real S3 would still have it."""
    await asyncio.to_thread(server.start)
    client = botocore.session.get_session().create_client("s3")
    try:
        client.create_bucket(Bucket=S3Location.from_url(config.artifact_location).bucket)
    finally:
        client.close()


def bucket_url(prefix: str = "artifacts") -> str:
    """An s3:// URL in a bucket no other test uses."""
    return f"s3://vault-test-{uuid.uuid4().hex[:20]}/{prefix}"


@pytest.fixture(scope="session")
def shared_moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def s3_env(shared_moto, monkeypatch) -> MotoServer:
    """The shared moto server, named by the AWS settings of this process for the test."""
    for name, value in shared_moto.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return shared_moto
