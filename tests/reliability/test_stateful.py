"""The service against a model: random sequences of calls, every answer checked.

A hypothesis state machine drives the real app (a real SQLite file, real HTTP)
through sessions, history, state and the cache, restarting it now and then,
and keeps a plain in-memory model of what each answer must be. Each rule
checks the answer to its own call; the invariants, after every step, read
everything back and compare it with the model.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.reliability.live_app import Answer, LiveVault
from vault.config import Config

# The model run takes about a minute on a loaded 2-core machine, above the suite's default limit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROLES = ("user", "assistant", "system", "tool")
STATUSES = ("active", "paused", "ended")
# Few keys, so that writes, reads and deletes meet on the same ones.
CACHE_KEYS = ("alpha", "beta", "a/b", "ü x", "100%")
WHOLE_HISTORY = 1000
UNKNOWN = "unknown"


# -- what the clients send


def json_values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=8)
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
        max_leaves=max_leaves,
    )


def json_objects() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(["a", "b", "c", "nested", "ключ"]), json_values(), max_size=4)


names = st.text(min_size=1, max_size=16).filter(str.strip)
contents = (
    st.none()
    | st.text(max_size=24)
    | st.lists(st.dictionaries(st.text(max_size=4), json_values(3), max_size=2), max_size=2)
)
new_messages = st.fixed_dictionaries({"role": st.sampled_from(ROLES), "content": contents})
# None: no If-Match; "*": any version; an int: added to the current version (0, drawn twice as often, matches).
if_match_choices = st.sampled_from([None, "*", 0, 0, 1, -1, 7])


# -- the model


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396, as its pseudo-code says."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


@dataclass
class SessionModel:
    id: str
    agent_name: str
    user_id: str | None
    status: str
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    # Each message as the server answered it when it was added.
    messages: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    state_version: int = 0
    # As last served; UNKNOWN after a write whose answer does not show it.
    state_updated_at: str | None = None

    def as_served(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent_name": self.agent_name,
            "user_id": self.user_id,
            "status": self.status,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "message_count": len(self.messages),
        }

    def check_state(self, served: dict[str, Any]) -> None:
        assert without(served, "updated_at") == {
            "session_id": self.id,
            "data": self.state,
            "version": self.state_version,
        }
        if self.state_updated_at != UNKNOWN:
            assert served["updated_at"] == self.state_updated_at
        self.state_updated_at = served["updated_at"]


def etag(version: int) -> str:
    return f'"{version}"'


def expect(answer: Answer, status: int) -> Any:
    assert answer.status == status, f"expected {status}, got {answer.status}: {answer.body!r}"
    return answer.body


def expect_not_found(answer: Answer) -> None:
    assert expect(answer, 404)["error"] == "not_found"


def without(record: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name not in names}


def cache_path(key: str) -> str:
    return "/storage/cache/" + quote(key, safe="")


def history_path(session_id: str, **params: Any) -> str:
    return "/storage/history?" + urlencode({"session_id": session_id, **params})


class VaultMachine(RuleBasedStateMachine):
    sessions = Bundle("sessions")
    deleted_sessions = Bundle("deleted_sessions")

    def __init__(self) -> None:
        super().__init__()
        self._folder = tempfile.TemporaryDirectory()
        self.vault = LiveVault(Config(db_path=str(Path(self._folder.name) / "vault.db")))
        self.vault.start()
        self.model: dict[str, SessionModel] = {}
        self.cache: dict[str, Any] = {}
        self.cache_created_at: dict[str, str] = {}

    def teardown(self) -> None:
        try:
            self.vault.close()
        finally:
            self._folder.cleanup()

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        return self.vault.request(method, path, body, headers)

    def if_match_header(self, choice: int | str | None, version: int) -> tuple[dict[str, str], bool]:
        """The If-Match header for `choice` and whether the server must accept it."""
        if choice is None:
            return {}, True
        if choice == "*":
            return {"If-Match": "*"}, True
        wanted = version + choice if version + choice >= 0 else version + 1
        return {"If-Match": etag(wanted)}, wanted == version

    def check_written_state(self, answer: Answer, session: SessionModel) -> None:
        session.state_updated_at = UNKNOWN
        session.check_state(expect(answer, 200))
        assert answer.header("ETag") == etag(session.state_version)

    def check_refused(self, answer: Answer, session: SessionModel) -> None:
        body = expect(answer, 412)
        assert body["error"] == "precondition_failed"
        session.check_state(body["current"])
        assert answer.header("ETag") == etag(session.state_version)

    # -- sessions

    @initialize(target=sessions)
    def first_session(self) -> str:
        # Most rules need a session: starting with one spends no example waiting for it.
        return self.create_session("first", None, None, None)

    @rule(
        target=sessions,
        agent_name=names,
        user_id=st.none() | names,
        status=st.none() | st.sampled_from(STATUSES),
        metadata=st.none() | json_objects(),
    )
    def create_session(self, agent_name, user_id, status, metadata) -> str:
        body: dict[str, Any] = {"agent_name": agent_name}
        if user_id is not None:
            body["user_id"] = user_id
        if status is not None:
            body["status"] = status
        if metadata is not None:
            body["metadata"] = metadata
        answer = self.call("POST", "/storage/sessions", body)
        created = expect(answer, 201)
        assert created["id"].startswith("session_")
        assert answer.header("Location") == f"/storage/sessions/{created['id']}"
        assert created["id"] not in self.model
        session = SessionModel(
            created["id"],
            agent_name,
            user_id,
            status or "active",
            copy.deepcopy(metadata or {}),
            created["created_at"],
            created["updated_at"],
        )
        assert without(created, "updated_at") == session.as_served()
        self.model[session.id] = session
        return session.id

    @rule(
        session_id=sessions,
        method=st.sampled_from(["PUT", "PATCH"]),
        status=st.none() | st.sampled_from(STATUSES),
        user_change=st.sampled_from(["keep", "clear", "set"]),
        user_id=names,
        metadata=st.none() | st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.none() | json_values(3)),
    )
    def update_session(self, session_id, method, status, user_change, user_id, metadata) -> None:
        session = self.model[session_id]
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = status
            session.status = status
        if user_change != "keep":
            body["user_id"] = None if user_change == "clear" else user_id
            session.user_id = body["user_id"]
        if metadata is not None:
            body["metadata"] = metadata
            # Merged key by key; a key set to null is removed.
            for key, value in metadata.items():
                if value is None:
                    session.metadata.pop(key, None)
                else:
                    session.metadata[key] = copy.deepcopy(value)
        updated = expect(self.call(method, f"/storage/sessions/{session_id}", body), 200)
        assert without(updated, "updated_at") == session.as_served()
        assert updated["updated_at"] >= session.updated_at
        session.updated_at = updated["updated_at"]

    @rule(target=deleted_sessions, session_id=consumes(sessions))
    def delete_session(self, session_id) -> str:
        answer = self.call("DELETE", f"/storage/sessions/{session_id}")
        assert expect(answer, 200) == {"status": "deleted", "session_id": session_id}
        del self.model[session_id]
        return session_id

    @rule(
        session_id=deleted_sessions,
        call=st.sampled_from(
            [
                ("GET", "/storage/sessions/{}", None),
                ("PATCH", "/storage/sessions/{}", {"status": "ended"}),
                ("DELETE", "/storage/sessions/{}", None),
                ("GET", "/storage/state/{}", None),
                ("PUT", "/storage/state/{}", {"data": {"a": 1}}),
                ("PATCH", "/storage/state/{}", {"data": {"a": 1}}),
                ("DELETE", "/storage/state/{}", None),
                ("GET", "/storage/history?session_id={}", None),
                ("DELETE", "/storage/history?session_id={}", None),
                ("POST", "/storage/history", {"session_id": "{}", "role": "user", "content": "late"}),
            ]
        ),
    )
    def a_deleted_session_is_gone(self, session_id, call) -> None:
        method, path, body = call
        if body is not None and body.get("session_id") == "{}":
            body = {**body, "session_id": session_id}
        expect_not_found(self.call(method, path.format(session_id), body))

    # -- history

    def record_messages(self, session: SessionModel, sent: list[dict[str, Any]], added: list[dict[str, Any]]) -> None:
        assert len(added) == len(sent)
        for new, message in zip(sent, added, strict=True):
            session.last_seq += 1
            assert message["id"].startswith("msg_")
            assert message["session_id"] == session.id
            assert message["seq"] == session.last_seq
            assert (message["role"], message["content"]) == (new["role"], new["content"])
            assert (message["name"], message["tool_calls"], message["tool_call_id"]) == (None, None, None)
            assert message["metadata"] == {}
            session.messages.append(message)

    @rule(session_id=sessions, message=new_messages)
    def append_message(self, session_id, message) -> None:
        session = self.model[session_id]
        answer = self.call("POST", "/storage/history", {"session_id": session_id, **message})
        added = expect(answer, 201)
        assert answer.header("Location") == f"/storage/history/{added['id']}"
        self.record_messages(session, [message], [added])

    @rule(session_id=sessions, messages=st.lists(new_messages, min_size=1, max_size=4))
    def append_batch(self, session_id, messages) -> None:
        session = self.model[session_id]
        answer = self.call("POST", "/storage/history/batch", {"session_id": session_id, "messages": messages})
        added = expect(answer, 201)
        self.record_messages(session, messages, added)

    @rule(session_id=sessions)
    def clear_history(self, session_id) -> None:
        session = self.model[session_id]
        answer = self.call("DELETE", history_path(session_id))
        assert expect(answer, 200) == {"status": "deleted", "session_id": session_id, "deleted": len(session.messages)}
        # seq numbers are not reused: they go on from the last one.
        session.messages.clear()

    @rule(session_id=sessions, limit=st.integers(1, 6))
    def read_newest_window(self, session_id, limit) -> None:
        messages = self.model[session_id].messages
        answer = self.call("GET", history_path(session_id, limit=limit))
        assert expect(answer, 200) == messages[-limit:]
        assert (answer.header("Link") is not None) == (len(messages) > limit)

    @rule(session_id=sessions, limit=st.integers(1, 6), direction=st.sampled_from(["after", "before"]), data=st.data())
    def read_page(self, session_id, limit, direction, data) -> None:
        session = self.model[session_id]
        cursors: list[Any] = list(range(session.last_seq + 2))
        cursors += [message["id"] for message in session.messages]
        cursor = data.draw(st.sampled_from(cursors), label="cursor")
        seq = cursor if isinstance(cursor, int) else next(m["seq"] for m in session.messages if m["id"] == cursor)
        if direction == "after":
            matching = [message for message in session.messages if message["seq"] > seq]
            expected = matching[:limit]
        else:
            matching = [message for message in session.messages if message["seq"] < seq]
            expected = matching[-limit:]
        answer = self.call("GET", history_path(session_id, limit=limit, **{direction: cursor}))
        assert expect(answer, 200) == expected
        assert (answer.header("Link") is not None) == (len(matching) > limit)

    # -- state

    @rule(session_id=sessions, data=json_objects(), choice=if_match_choices)
    def put_state(self, session_id, data, choice) -> None:
        session = self.model[session_id]
        headers, accepted = self.if_match_header(choice, session.state_version)
        answer = self.call("PUT", f"/storage/state/{session_id}", {"data": data}, headers)
        if not accepted:
            self.check_refused(answer, session)
            return
        session.state = copy.deepcopy(data)
        session.state_version += 1
        self.check_written_state(answer, session)

    @rule(session_id=sessions, patch=json_objects(), choice=if_match_choices)
    def patch_state(self, session_id, patch, choice) -> None:
        session = self.model[session_id]
        headers, accepted = self.if_match_header(choice, session.state_version)
        answer = self.call("PATCH", f"/storage/state/{session_id}", {"data": patch}, headers)
        if not accepted:
            self.check_refused(answer, session)
            return
        session.state = merge_patch(session.state, patch)
        session.state_version += 1
        self.check_written_state(answer, session)

    @rule(session_id=sessions, choice=if_match_choices)
    def delete_state(self, session_id, choice) -> None:
        session = self.model[session_id]
        headers, accepted = self.if_match_header(choice, session.state_version)
        answer = self.call("DELETE", f"/storage/state/{session_id}", None, headers)
        if not accepted:
            self.check_refused(answer, session)
            return
        assert expect(answer, 200) == {"status": "deleted", "session_id": session_id}
        # Versions never go back: deleting counts as a write, unless there was nothing to delete.
        if session.state_version > 0:
            session.state = {}
            session.state_version += 1
            session.state_updated_at = UNKNOWN
        assert answer.header("ETag") == etag(session.state_version)

    # -- cache

    @rule(key=st.sampled_from(CACHE_KEYS), value=json_values(), with_key=st.booleans())
    def cache_set(self, key, value, with_key) -> None:
        body = {"value": value, "key": key} if with_key else {"value": value}
        entry = expect(self.call("PUT", cache_path(key), body), 200)
        assert without(entry, "created_at", "accessed_at") == {
            "key": key,
            "value": value,
            "ttl": None,
            "expires_at": None,
        }
        self.cache[key] = copy.deepcopy(value)
        self.cache_created_at[key] = entry["created_at"]

    @rule(key=st.sampled_from(CACHE_KEYS))
    def cache_get(self, key) -> None:
        self.check_cache_entry(key)

    @rule(key=st.sampled_from(CACHE_KEYS))
    def cache_delete(self, key) -> None:
        answer = self.call("DELETE", cache_path(key))
        if key not in self.cache:
            expect_not_found(answer)
            return
        assert expect(answer, 200) == {"status": "deleted", "key": key}
        del self.cache[key]

    def check_cache_entry(self, key: str) -> None:
        answer = self.call("GET", cache_path(key))
        if key not in self.cache:
            expect_not_found(answer)
            return
        entry = expect(answer, 200)
        assert without(entry, "accessed_at") == {
            "key": key,
            "value": self.cache[key],
            "ttl": None,
            "created_at": self.cache_created_at[key],
            "expires_at": None,
        }

    # -- the process

    @rule()
    def restart(self) -> None:
        self.vault.restart()

    # -- everything, read back

    @invariant()
    def sessions_match_the_model(self) -> None:
        listed = expect(self.call("GET", "/storage/sessions?limit=1000"), 200)
        # Newest first; ids sort by creation time, so that is the model's ids in reverse.
        assert [session["id"] for session in listed] == sorted(self.model, reverse=True)
        for served in listed:
            session = self.model[served["id"]]
            assert without(served, "updated_at") == session.as_served()
            assert served["updated_at"] >= session.updated_at
            session.updated_at = served["updated_at"]
            assert expect(self.call("GET", f"/storage/sessions/{session.id}"), 200) == served

    @invariant()
    def state_and_history_match_the_model(self) -> None:
        for session in self.model.values():
            answer = self.call("GET", f"/storage/state/{session.id}")
            session.check_state(expect(answer, 200))
            assert answer.header("ETag") == etag(session.state_version)
            answer = self.call("GET", history_path(session.id, limit=WHOLE_HISTORY))
            assert expect(answer, 200) == session.messages

    @invariant()
    def cache_matches_the_model(self) -> None:
        for key in CACHE_KEYS:
            self.check_cache_entry(key)


BOUNDED = settings(
    max_examples=25,
    stateful_step_count=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
VaultMachine.TestCase.settings = BOUNDED
TestVaultAgainstModel = VaultMachine.TestCase


class ForgetfulRestartMachine(VaultMachine):
    @rule()
    def restart(self) -> None:
        # Comes back on an empty database file, as a service that kept nothing would.
        self.vault.stop()
        self.vault.config = attrs.evolve(self.vault.config, db_path=self.vault.config.db_path + ".empty")
        self.vault.start()


def test_control_a_restart_that_loses_data_is_caught():
    quick = settings(BOUNDED, phases=[Phase.generate], report_multiple_bugs=False)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(ForgetfulRestartMachine, settings=quick)
