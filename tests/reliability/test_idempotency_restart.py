"""An Idempotency-Key outlives the process: kill -9, restart, and a retry still gets the first answer."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

pytestmark = pytest.mark.slow


async def post(http: aiohttp.ClientSession, url: str, body: dict[str, Any], key: str | None = None):
    headers = {} if key is None else {"Idempotency-Key": key}
    async with http.post(url, json=body, headers=headers) as response:
        return response.status, response.headers.get("Location"), await response.json()


async def get_list(http: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


# Regression: CONTRACT 1, a retry with the same Idempotency-Key returns the first answer, across a crash too.
async def test_idempotency_key_survives_kill_9(vault_process):
    vault = vault_process()
    await vault.start()
    async with aiohttp.ClientSession() as http:
        session_body = {"agent_name": "idempotent-restart", "metadata": {"try": 1}}
        first_session = await post(http, f"{vault.url}/storage/sessions", session_body, "session-key")
        assert first_session[0] == 201, first_session
        session_id = first_session[2]["id"]
        message_body = {"session_id": session_id, "role": "user", "content": "exactly once"}
        first_message = await post(http, f"{vault.url}/storage/history", message_body, "message-key")
        assert first_message[0] == 201, first_message

    vault.kill()
    await vault.start()

    async with aiohttp.ClientSession() as http:
        # The same POSTs again: the first answers, nothing written twice.
        assert await post(http, f"{vault.url}/storage/sessions", session_body, "session-key") == first_session
        assert await post(http, f"{vault.url}/storage/history", message_body, "message-key") == first_message
        sessions = await get_list(http, f"{vault.url}/storage/sessions?agent_name=idempotent-restart")
        assert [session["id"] for session in sessions] == [session_id]
        history = await get_list(http, f"{vault.url}/storage/history?session_id={session_id}")
        assert [message["id"] for message in history] == [first_message[2]["id"]]

        # The same keys with other bodies: refused, and still nothing written.
        for url, body, key in [
            (f"{vault.url}/storage/sessions", {**session_body, "metadata": {"try": 2}}, "session-key"),
            (f"{vault.url}/storage/history", {**message_body, "content": "something else"}, "message-key"),
        ]:
            status, _, answer = await post(http, url, body, key)
            assert status == 422, answer
            assert answer["error"] == "idempotency_key_reused"
        assert len(await get_list(http, f"{vault.url}/storage/history?session_id={session_id}")) == 1

        # Control: the same message without the key is a second write, which the count above would have seen.
        status, _, again = await post(http, f"{vault.url}/storage/history", message_body)
        assert status == 201 and again["id"] != first_message[2]["id"]
        assert len(await get_list(http, f"{vault.url}/storage/history?session_id={session_id}")) == 2
