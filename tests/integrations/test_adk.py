"""The ADK services: the same sequence on ADK's in-memory services and on ours gives the same
results; stale sessions; and a Runner with a scripted model over two turns."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from tests.integrations.conftest import require

require("google.adk", "adk")

from google.adk.agents import LlmAgent  # noqa: E402
from google.adk.artifacts import InMemoryArtifactService  # noqa: E402
from google.adk.errors import StaleSessionError  # noqa: E402
from google.adk.errors.session_not_found_error import SessionNotFoundError  # noqa: E402
from google.adk.events.event import Event  # noqa: E402
from google.adk.events.event_actions import EventActions  # noqa: E402
from google.adk.models.base_llm import BaseLlm  # noqa: E402
from google.adk.models.llm_request import LlmRequest  # noqa: E402
from google.adk.models.llm_response import LlmResponse  # noqa: E402
from google.adk.runners import Runner  # noqa: E402
from google.adk.sessions import InMemorySessionService  # noqa: E402
from google.adk.sessions.base_session_service import GetSessionConfig  # noqa: E402
from google.genai import types  # noqa: E402

from vault.integrations.adk import VaultArtifactService, VaultSessionService  # noqa: E402


def event(author: str, text: str, delta: dict[str, Any] | None = None, **fields: Any) -> Event:
    return Event(
        **{"timestamp": time.time(), **fields},
        invocation_id="inv-1",
        author=author,
        content=types.Content(role="user" if author == "user" else "model", parts=[types.Part(text=text)]),
        actions=EventActions(state_delta=delta or {}),
    )


def seen(session) -> Any:
    """What a session is, apart from when it was last updated (each service keeps its own clock)."""
    if session is None:
        return None
    return (
        session.id,
        session.app_name,
        session.user_id,
        session.state,
        [e.model_dump(mode="json") for e in session.events],
    )


async def outcome(call) -> Any:
    """A call's result, or the name of the error it raised."""
    try:
        return await call
    except Exception as exc:
        return type(exc).__name__


async def session_sequence(service, prefix: str, later: float) -> list[Any]:
    """`later`: the events' first timestamp, after every session's creation, the same for both services."""
    app, s1, s3 = f"{prefix}-app", f"{prefix}-s1", f"{prefix}-s3"
    noted: list[Any] = []
    first = await service.create_session(
        app_name=app, user_id="u1", session_id=s1, state={"k": 1, "app:theme": "dark", "user:lang": "en", "temp:t": 0}
    )
    noted.append(seen(first))
    made = await service.create_session(app_name=app, user_id="u1", state={"other": True})
    noted.append((bool(made.id), made.state))
    noted.append(seen(await service.create_session(app_name=app, user_id="u2", session_id=s3)))
    noted.append(await outcome(service.create_session(app_name=app, user_id="u1", session_id=s1)))

    session = await service.get_session(app_name=app, user_id="u1", session_id=s1)
    deltas = [
        {"k": 2, "temp:scratch": 1, "app:theme": "light", "user:count": 1, "obj": {"a": 1}},
        {"obj": {"b": 2}, "gone": None, "user:count": 2},
        {"list": [1, 2]},
        {},
    ]
    stamps = []
    for n, delta in enumerate(deltas):
        appended = event("user" if n % 2 == 0 else "helper", f"turn {n}", delta, id=f"e{n}", timestamp=later + n)
        stamps.append(appended.timestamp)
        await service.append_event(session, appended)
        noted.append(session.state)

    for config in (
        None,
        GetSessionConfig(num_recent_events=2),
        GetSessionConfig(num_recent_events=0),
        GetSessionConfig(after_timestamp=stamps[2]),
        GetSessionConfig(num_recent_events=3, after_timestamp=stamps[1]),
    ):
        noted.append(seen(await service.get_session(app_name=app, user_id="u1", session_id=s1, config=config)))
    noted.append(seen(await service.get_session(app_name=app, user_id="u2", session_id=s3)))
    noted.append(seen(await service.get_session(app_name=app, user_id="u2", session_id=s1)))
    noted.append(await service.get_user_state(app_name=app, user_id="u1"))
    noted.append(await service.get_user_state(app_name=app, user_id="u2"))

    def listed(response) -> list[Any]:
        return [(s.id if s.id in (s1, s3) else "made", s.user_id, s.state, s.events) for s in response.sessions]

    noted.append(listed(await service.list_sessions(app_name=app, user_id="u1")))
    noted.append(listed(await service.list_sessions(app_name=app)))
    await service.delete_session(app_name=app, user_id="u2", session_id=s3)
    await service.delete_session(app_name=app, user_id="u2", session_id="never-made")
    noted.append(seen(await service.get_session(app_name=app, user_id="u2", session_id=s3)))
    noted.append(listed(await service.list_sessions(app_name=app)))
    # A session id is scoped to its app and user: the same id is free under another app, and another user.
    noted.append(seen(await service.create_session(app_name=f"{app}-other", user_id="u1", session_id=s1)))
    noted.append(seen(await service.create_session(app_name=app, user_id="u2", session_id=s1)))
    noted.append(listed(await service.list_sessions(app_name=app, user_id="u2")))
    return noted


async def artifact_sequence(service, prefix: str) -> list[Any]:
    app, s1, s2 = f"{prefix}-app", f"{prefix}-s1", f"{prefix}-s2"
    where = {"app_name": app, "user_id": "u1", "session_id": s1}
    noted: list[Any] = []
    noted.append(await service.save_artifact(**where, filename="notes.txt", artifact=types.Part(text="first")))
    noted.append(await service.save_artifact(**where, filename="notes.txt", artifact=types.Part(text="second")))
    picture = types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG\x00\xff"))
    noted.append(
        await service.save_artifact(**where, filename="picture.png", artifact=picture, custom_metadata={"w": 2})
    )
    profile = types.Part(inline_data=types.Blob(mime_type="application/json", data=b'{"a": 1}'))
    noted.append(await service.save_artifact(**where, filename="user:profile.json", artifact=profile))
    noted.append(await outcome(service.save_artifact(app_name=app, user_id="u1", filename="x", artifact=picture)))

    for version in (None, 0, 1, 7):
        noted.append(await service.load_artifact(**where, filename="notes.txt", version=version))
    noted.append(await service.load_artifact(**where, filename="picture.png"))
    noted.append(await service.load_artifact(**where, filename="missing.txt"))
    # A user's file is seen from every session of that user, and from none of another's.
    noted.append(await service.load_artifact(app_name=app, user_id="u1", session_id=s2, filename="user:profile.json"))
    noted.append(await service.load_artifact(app_name=app, user_id="u2", session_id=s1, filename="user:profile.json"))

    noted.append(await service.list_artifact_keys(**where))
    noted.append(await service.list_artifact_keys(app_name=app, user_id="u1", session_id=s2))
    noted.append(await service.list_artifact_keys(app_name=app, user_id="u2", session_id=s1))
    noted.append(await service.list_versions(**where, filename="notes.txt"))
    versions = await service.list_artifact_versions(**where, filename="picture.png")
    noted.append([(v.version, v.mime_type, v.custom_metadata) for v in versions])
    for version in (None, 0, 5):
        found = await service.get_artifact_version(**where, filename="notes.txt", version=version)
        noted.append(None if found is None else (found.version, found.mime_type, found.custom_metadata))

    await service.delete_artifact(**where, filename="notes.txt")
    await service.delete_artifact(**where, filename="never-saved.txt")
    noted.append(await service.list_artifact_keys(**where))
    noted.append(await service.list_versions(**where, filename="notes.txt"))
    noted.append(await service.save_artifact(**where, filename="notes.txt", artifact=types.Part(text="again")))
    return noted


@pytest.mark.timeout(120)
async def test_sessions_behave_as_adks_in_memory_service(vault_url):
    prefix = f"adk-{uuid.uuid4().hex[:10]}"
    ours = VaultSessionService(vault_url)
    try:
        later = time.time() + 3600
        expected = await session_sequence(InMemorySessionService(), prefix, later)
        assert await session_sequence(ours, prefix, later) == expected
    finally:
        await ours.close()


@pytest.mark.timeout(120)
async def test_artifacts_behave_as_adks_in_memory_service(vault_url):
    prefix = f"adk-{uuid.uuid4().hex[:10]}"
    ours = VaultArtifactService(vault_url)
    try:
        assert await artifact_sequence(ours, prefix) == await artifact_sequence(InMemoryArtifactService(), prefix)
    finally:
        await ours.close()


async def test_the_second_of_two_writers_on_one_stale_session_is_refused(vault_url):
    service = VaultSessionService(vault_url)
    try:
        made = await service.create_session(app_name="stale-app", user_id="u1")
        one = await service.get_session(app_name="stale-app", user_id="u1", session_id=made.id)
        two = await service.get_session(app_name="stale-app", user_id="u1", session_id=made.id)

        await service.append_event(one, event("user", "from one", {"who": "one"}))
        with pytest.raises(StaleSessionError):
            await service.append_event(two, event("user", "from two", {"who": "two"}))

        # Read again, the second writer appends.
        two = await service.get_session(app_name="stale-app", user_id="u1", session_id=made.id)
        await service.append_event(two, event("user", "from two", {"who": "two"}))
        stored = await service.get_session(app_name="stale-app", user_id="u1", session_id=made.id)
        assert [e.content.parts[0].text for e in stored.events] == ["from one", "from two"]
        assert stored.state == {"who": "two"}
    finally:
        await service.close()


async def test_a_session_made_again_under_its_id_refuses_a_writer_holding_the_old_one(vault_url):
    service = VaultSessionService(vault_url)
    try:
        where = {"app_name": "again-app", "user_id": "u1", "session_id": f"again-{uuid.uuid4().hex}"}
        old = await service.create_session(**where)
        await service.delete_session(**where)
        await service.create_session(**where)

        with pytest.raises(SessionNotFoundError):
            await service.append_event(old, event("user", "into the old one"))
        fresh = await service.get_session(**where)
        await service.append_event(fresh, event("user", "into the new one"))
        stored = await service.get_session(**where)
        assert [e.content.parts[0].text for e in stored.events] == ["into the new one"]
    finally:
        await service.close()


class ScriptedModel(BaseLlm):
    """A model that answers from a script, and keeps what each request showed it."""

    replies: list[str]
    requests: list[list[str]] = []

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.requests.append([part.text for content in llm_request.contents for part in content.parts if part.text])
        reply = self.replies[len(self.requests) - 1]
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=reply)]))


@pytest.mark.timeout(120)
async def test_a_runner_runs_two_turns_on_the_vault(vault_url):
    model = ScriptedModel(model="scripted", replies=["Hello, Ada.", "You are Ada."])
    agent = LlmAgent(name="greeter", model=model, instruction="Be brief.", output_key="last_reply")
    service = VaultSessionService(vault_url)
    try:
        runner = Runner(agent=agent, app_name="runner-app", session_service=service)
        session = await service.create_session(app_name="runner-app", user_id="ada")

        for words in ("I am Ada.", "Who am I?"):
            message = types.Content(role="user", parts=[types.Part(text=words)])
            async for _ in runner.run_async(user_id="ada", session_id=session.id, new_message=message):
                pass

        # The second turn's request held the first turn, read back from The Vault.
        assert model.requests == [["I am Ada."], ["I am Ada.", "Hello, Ada.", "Who am I?"]]
        stored = await service.get_session(app_name="runner-app", user_id="ada", session_id=session.id)
        assert [(e.author, e.content.parts[0].text) for e in stored.events] == [
            ("user", "I am Ada."),
            ("greeter", "Hello, Ada."),
            ("user", "Who am I?"),
            ("greeter", "You are Ada."),
        ]
        assert stored.state["last_reply"] == "You are Ada."
    finally:
        await service.close()
