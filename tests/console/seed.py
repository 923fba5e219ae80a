"""Data for the console to show, stored through the HTTP API as an agent platform would."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from datetime import UTC, datetime, timedelta

from attrs import frozen

from tests.console.service import Api

AGENTS = ("research_orchestrator", "code_reviewer", "support_bot")
SESSION_COUNT = 30  # more than one page (25)
OLDER_TURNS = 20  # turns before the last page of the conversation, loaded on scroll

LONG_ANSWER = "\n".join(
    f"{n}. Qubit technology {n}: coherence times, gate fidelities and error correction overheads compared."
    for n in range(1, 41)
)
TOOL_ARGUMENTS = {"query": "superconducting qubit coherence 2025", "max_results": 5, "sources": ["arxiv", "nature"]}
TOOL_RESULT = {"results": [{"title": "Millisecond coherence in transmons", "year": 2025, "citations": 41}]}


@frozen
class Seeded:
    conversation: str  # the session with the long conversation, state, artifacts and metrics
    first_message: str
    last_message: str
    newest_session_agent: str
    text_artifact: str
    image_artifact: str
    html_artifact: str
    reference_artifact: str
    image_bytes: bytes


def png(width: int = 240, height: int = 150) -> bytes:
    """A small gradient PNG, made here so the tests need no image files."""

    def row(y: int) -> bytes:
        return b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))

    rows = b"".join(row(y) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def conversation_messages() -> list[dict]:
    messages = [{"role": "system", "content": "You are a careful research assistant. Cite your sources."}]
    for turn in range(1, OLDER_TURNS + 1):
        messages.append({"role": "user", "content": f"Question {turn}: what changed in quantum error correction?"})
        messages.append({"role": "assistant", "content": f"Answer {turn}: surface codes got cheaper to decode."})
    messages += [
        {"role": "user", "content": "Find recent work on qubit coherence and summarise it."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_search_1",
                    "type": "function",
                    "function": {"name": "web_search", "arguments": json.dumps(TOOL_ARGUMENTS)},
                }
            ],
        },
        {"role": "tool", "name": "web_search", "tool_call_id": "call_search_1", "content": json.dumps(TOOL_RESULT)},
        {"role": "assistant", "content": LONG_ANSWER, "metadata": {"model": "gpt-large", "tokens": 912}},
        {
            "role": "user",
            "content": [{"type": "text", "text": "And the figure?"}, {"type": "image_url", "image_url": {"url": "x"}}],
        },
        {"role": "assistant", "content": "The figure shows coherence doubling every two years."},
    ]
    return messages


def seed(api: Api) -> Seeded:
    for n in range(SESSION_COUNT - 1):
        api.post(
            "/storage/sessions",
            {"agent_name": AGENTS[n % 3], "user_id": f"user_{n % 4}", "status": ("active", "paused", "ended")[n % 3]},
        )
    session = api.post(
        "/storage/sessions",
        {"agent_name": "research_orchestrator", "user_id": "user_ada", "metadata": {"project": "qubits"}},
    )
    sid = session["id"]
    stored = api.post("/storage/history/batch", {"session_id": sid, "messages": conversation_messages()})
    api.put(
        f"/storage/state/{sid}",
        {"data": {"goal": "survey qubit coherence", "memory": ["transmons", "ion traps"], "plan": {"step": 3}}},
    )
    api.put(f"/storage/state/{sid}", {"data": {"goal": "survey qubit coherence", "memory": ["transmons"], "step": 4}})
    image = png()
    text = api.post(
        "/storage/artifacts",
        {"session_id": sid, "name": "notes.md", "content_type": "text/markdown", "content": "# Notes\n\nT1 = 1.2 ms"},
    )
    picture = api.post(
        "/storage/artifacts",
        {
            "session_id": sid,
            "name": "coherence.png",
            "type": "figure",
            "content_type": "image/png",
            "content_base64": base64.b64encode(image).decode(),
        },
    )
    page = api.post(
        "/storage/artifacts",
        {
            "session_id": sid,
            "name": "report.html",
            "content_type": "text/html",
            "content": "<h1>Report</h1><script>window.__artifact_ran = 1</script>",
        },
    )
    reference = api.post(
        "/storage/artifacts",
        {"session_id": sid, "name": "data.parquet", "type": "dataset", "path": "s3://lab/qubits.parquet", "size": 10},
    )
    seed_metrics(api, sid)
    return Seeded(
        conversation=sid,
        first_message=stored[0]["content"],
        last_message=stored[-1]["content"],
        newest_session_agent=session["agent_name"],
        text_artifact=text["id"],
        image_artifact=picture["id"],
        html_artifact=page["id"],
        reference_artifact=reference["id"],
        image_bytes=image,
    )


def seed_metrics(api: Api, session_id: str) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    points = []
    for step in range(72):  # every 5 minutes for the last 6 hours
        at = (now - timedelta(minutes=5 * step)).isoformat()
        points.append(_point("latency_ms", 300 + 80 * ((step * 7) % 5) + step, at, session_id))
        points.append(_point("tokens", 1000 + 40 * (step % 9), at, session_id))
    api.post("/storage/metrics/batch", {"metrics": points})


def _point(name: str, value: float, at: str, session_id: str) -> dict:
    return {
        "entity_name": "research_orchestrator",
        "metric_name": name,
        "value": value,
        "timestamp": at,
        "session_id": session_id,
        "labels": {"model": "gpt-large"},
    }
