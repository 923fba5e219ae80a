"""`vault serve` as a real process on a free port, for crash and shutdown tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

STARTUP_DEADLINE = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VaultProcess:
    def __init__(self, db_path: str, log_path: Path, **env: str) -> None:
        self.db_path = db_path
        self.log_path = log_path
        self.env = env
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        # Prepended to the command line, e.g. a fault injector's launcher.
        self.command_prefix: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), "DB_PATH": self.db_path, **self.env}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*self.command_prefix, sys.executable, "-m", "vault", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        await self.wait_healthy()

    async def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"vault exited with {self.process.returncode}: {self.log_path.read_text()}")
                try:
                    async with http.get(f"{self.url}/health") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"vault did not become healthy: {self.log_path.read_text()}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


@pytest.fixture
def vault_process(tmp_path):
    started: list[VaultProcess] = []

    def make(**env: str) -> VaultProcess:
        process = VaultProcess(str(tmp_path / "vault.db"), tmp_path / "vault.log", **env)
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop()
