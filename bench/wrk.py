"""Running wrk on its own core and reading its figures."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from attrs import frozen

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
TIMEOUT_SECONDS = 60


@frozen
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    # Requests completed in the run (0 where a figure was derived rather than measured).
    requests: int = 0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing; installing it from Debian's packages", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unreadable wrk time {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse(output: str) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _seconds(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = _seconds(re.search(r"\s99%\s+(\S+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return Result(rps, p50 * 1000, p99 * 1000, int(non_2xx.group(1)) if non_2xx else 0, requests)


def run(url: str, *, core: int, connections: int, seconds: int, script: Path | None = None) -> Result:
    # wrk leaves a response slower than its timeout (2 s by default) out of the latency figures:
    # a generous one keeps every response in the percentiles.
    command = [
        "taskset",
        "-c",
        str(core),
        ensure_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        f"--timeout={TIMEOUT_SECONDS}s",
    ]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    return parse(output)


@frozen
class Measured:
    """What wrk saw, and the CPU time the server spent per request meanwhile."""

    result: Result
    cpu_us: float


def measure(
    server: Any, url: str, *, core: int, connections: int, seconds: int, script: Path | None = None
) -> Measured:
    """`run` against one of bench/servers.py's servers, with the CPU each completed request cost it
    (all its threads: see servers.Server.cpu_seconds)."""
    before = server.cpu_seconds()
    result = run(url, core=core, connections=connections, seconds=seconds, script=script)
    return Measured(result, 1e6 * (server.cpu_seconds() - before) / max(result.requests, 1))


def lua_script(
    folder: Path,
    name: str,
    *,
    method: str,
    paths: list[str],
    bodies: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Path:
    """A wrk script cycling through paths (and bodies) in order, with `headers` on every request."""

    def lua_list(items: list[str]) -> str:
        return "{" + ",".join("[==[" + item + "]==]" for item in items) + "}"

    extra = "".join(f'wrk.headers["{key}"] = "{value}"\n' for key, value in (headers or {}).items())
    script = folder / f"{name}.lua"
    script.write_text(
        f"""
local paths = {lua_list(paths)}
local bodies = {lua_list(bodies or [""])}
local i = 0
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{extra}request = function()
  i = i + 1
  local body = nil
  if #bodies[1] > 0 then body = bodies[(i % #bodies) + 1] end
  return wrk.format(nil, paths[(i % #paths) + 1], nil, body)
end
"""
    )
    return script
