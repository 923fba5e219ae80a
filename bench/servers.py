"""Starting the servers under test as real processes, each pinned to a core."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(
        self,
        name: str,
        command: list[str],
        core: int,
        env: dict[str, str],
        log: Path,
        cwd: Path = ROOT,
        *,
        start_seconds: float = 60,
        inherited: dict[str, str] | None = None,
    ) -> None:
        """Start `command` and wait up to `start_seconds` for its /health; `inherited` replaces this
        process's environment as the one `env` is laid over."""
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # No access line per request unless a caller asks for them (LOG_LEVEL in `env`).
        base = os.environ if inherited is None else inherited
        self.env = {**base, "LOG_LEVEL": "warning", **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                ["taskset", "-c", str(core), *[arg.replace("{port}", str(self.port)) for arg in command]],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
            )
        try:
            self._wait_up(log, start_seconds)
        except BaseException:
            self.stop()
            raise

    def _wait_up(self, log: Path, start_seconds: float) -> None:
        deadline = time.monotonic() + start_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not come up")

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far, all its threads, user and system.

        On a machine shared with other work a server gets less of its core, so
        its requests/s fall; the CPU time each request costs does not. Ratios
        of CPU per request are the steadier comparison.
        """
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def vault(name: str, core: int, db_path: Path, log: Path, checkout: Path | None = None, **env: str) -> Server:
    """`vault serve` of this checkout, or of another one (with its own .venv) to compare builds."""
    if checkout is None:
        return Server(name, [sys.executable, "-m", "vault", "serve"], core, {"DB_PATH": str(db_path), **env}, log)
    python = str(checkout / ".venv" / "bin" / "python")
    # Run from its own folder, so `python -m vault` imports that checkout's code and not this one's.
    return Server(name, [python, "-m", "vault", "serve"], core, {"DB_PATH": str(db_path), **env}, log, cwd=checkout)


def ceiling(core: int, log: Path) -> Server:
    return Server("ceiling", [sys.executable, str(ROOT / "bench" / "ceiling.py"), "{port}"], core, {}, log)


def call(method: str, url: str, body: object | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")
