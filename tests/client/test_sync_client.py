"""The blocking client as plain code uses it: no event loop in sight."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from vault.client import AsyncVaultClient, NotFound, VaultClient

PUBLIC = [
    name for name in vars(AsyncVaultClient) if not name.startswith("_") and callable(getattr(AsyncVaultClient, name))
]


def test_every_async_method_has_a_blocking_twin():
    missing = [name for name in PUBLIC if name != "aclose" and not hasattr(VaultClient, name)]
    assert not missing


def test_as_a_context_manager(service, unique):
    with VaultClient(service.url) as vault:
        session = vault.create_session(unique, metadata={"source": "sync"})
        vault.add_message(session.id, "user", "hello")
        assert [m.content for m in vault.get_history(session.id)] == ["hello"]
        with pytest.raises(NotFound) as caught:
            vault.get_session("session_0000")
        assert caught.value.status == 404
    with pytest.raises(RuntimeError, match="closed"):
        vault.health()
    vault.close()  # closing twice is harmless


def test_its_thread_ends_on_close(service):
    vault = VaultClient(service.url)
    vault.health()
    thread = vault._thread
    vault.close()
    assert not thread.is_alive()


def test_iterating_pages_and_stopping_early(service, unique):
    with VaultClient(service.url) as vault:
        made = [vault.create_session(unique) for _ in range(5)]
        assert [s.id for s in vault.iter_sessions(agent_name=unique, page_size=2)] == [s.id for s in reversed(made)]
        pages = vault.iter_sessions(agent_name=unique, page_size=2)
        assert next(pages).id == made[-1].id
        pages.close()


def test_shared_by_threads(service, unique):
    with VaultClient(service.url) as vault:
        session = vault.create_session(unique)
        start = threading.Barrier(8)

        def add(n: int) -> int:
            start.wait()
            return vault.add_message(session.id, "user", f"message {n}").seq

        with ThreadPoolExecutor(8) as pool:
            seqs = sorted(pool.map(add, range(8)))
        assert seqs == list(range(1, 9))
        assert vault.get_session(session.id).message_count == 8
