"""The client asks for compressed answers and reads them as any other."""

from __future__ import annotations

import aiohttp

from vault.client import AsyncVaultClient


async def test_history_comes_compressed_and_reads_the_same(service):
    # Rule: the client sends Accept-Encoding: zstd, gzip and decodes what comes back.
    seen: list[tuple[str, str | None]] = []

    async def on_request_end(session, context, params: aiohttp.TraceRequestEndParams) -> None:
        seen.append((params.headers.get("Accept-Encoding", ""), params.response.headers.get("Content-Encoding")))

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as http,
        AsyncVaultClient(service.url, session=http) as vault,
    ):
        session = await vault.create_session(agent_name="compressed")
        contents = [f"tool output {n}: " + "the same long line of a web page " * 20 for n in range(10)]
        await vault.add_messages(session.id, [{"role": "tool", "content": text} for text in contents])
        history = await vault.get_history(session.id)
        artifact = await vault.upload_artifact("page.html", "<p>x</p>" * 500, session_id=session.id)
        content = await vault.download_artifact(artifact.id)

    assert [message.content for message in history] == contents
    assert all(accept == "zstd, gzip" for accept, _ in seen)
    # The history (several KiB) came in zstd; the small session answer and the artifact's bytes as they are.
    codings = [coding for _, coding in seen]
    assert codings[0] is None and codings[2] == "zstd"
    assert codings[-1] is None and content.data == b"<p>x</p>" * 500
