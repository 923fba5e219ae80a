"""VaultClient: the same methods as AsyncVaultClient, for code without an event loop.

Each call runs the async client's method on a private event loop in a
background thread and blocks until it is done, so both clients share one
implementation (retries included) and behave alike. The client is safe to
use from several threads at once: their calls interleave on that one loop.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from vault.client.async_client import AsyncVaultClient

P = ParamSpec("P")
R = TypeVar("R")


def _blocking(
    method: Callable[Concatenate[AsyncVaultClient, P], Awaitable[R]],
) -> Callable[Concatenate[VaultClient, P], R]:
    @functools.wraps(method)
    def call(self: VaultClient, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._run(method(self._client, *args, **kwargs))

    return call


def _iterating(
    method: Callable[Concatenate[AsyncVaultClient, P], AsyncIterator[R]],
) -> Callable[Concatenate[VaultClient, P], Iterator[R]]:
    @functools.wraps(method)
    def iterate(self: VaultClient, *args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
        pages = method(self._client, *args, **kwargs)
        try:
            while True:
                try:
                    yield self._run(_next(pages))
                except StopAsyncIteration:
                    return
        finally:
            # Left early: let the async generator finish on its own loop.
            if not self._closed:
                self._run(pages.aclose())

    return iterate


async def _next(pages: AsyncIterator[R]) -> R:
    # A coroutine proper: run_coroutine_threadsafe takes nothing else.
    return await anext(pages)


class VaultClient:
    """A blocking client for one Vault service; use as `with VaultClient(url) as vault:`.

    Arguments as for AsyncVaultClient, except `session` (an aiohttp session
    belongs to one event loop, and this client's loop is private).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.2,
        max_retry_delay: float = 10.0,
    ) -> None:
        self._client = AsyncVaultClient(
            base_url, api_key, timeout=timeout, retries=retries, backoff=backoff, max_retry_delay=max_retry_delay
        )
        self._loop = asyncio.new_event_loop()
        # A daemon thread: a client never closed must not keep the process alive.
        self._thread = threading.Thread(target=self._loop.run_forever, name="vault-client", daemon=True)
        self._thread.start()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def base_url(self) -> str:
        return self._client.base_url

    def _run(self, coroutine: Coroutine[Any, Any, R]) -> R:
        # Submitted under the lock, so no call lands on a loop that close() stopped.
        with self._lock:
            if self._closed:
                coroutine.close()
                raise RuntimeError("the Vault client is closed")
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result()

    def close(self) -> None:
        """Close the connections and stop the thread; calls still running fail."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> VaultClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The methods, in the order of AsyncVaultClient; see it for what each does.
    create_session = _blocking(AsyncVaultClient.create_session)
    get_session = _blocking(AsyncVaultClient.get_session)
    update_session = _blocking(AsyncVaultClient.update_session)
    delete_session = _blocking(AsyncVaultClient.delete_session)
    list_sessions = _blocking(AsyncVaultClient.list_sessions)
    iter_sessions = _iterating(AsyncVaultClient.iter_sessions)
    events = _iterating(AsyncVaultClient.events)

    add_message = _blocking(AsyncVaultClient.add_message)
    add_messages = _blocking(AsyncVaultClient.add_messages)
    get_history = _blocking(AsyncVaultClient.get_history)
    iter_history = _iterating(AsyncVaultClient.iter_history)
    get_message = _blocking(AsyncVaultClient.get_message)
    search = _blocking(AsyncVaultClient.search)
    iter_search = _iterating(AsyncVaultClient.iter_search)
    clear_history = _blocking(AsyncVaultClient.clear_history)

    get_state = _blocking(AsyncVaultClient.get_state)
    put_state = _blocking(AsyncVaultClient.put_state)
    patch_state = _blocking(AsyncVaultClient.patch_state)
    delete_state = _blocking(AsyncVaultClient.delete_state)

    create_artifact = _blocking(AsyncVaultClient.create_artifact)
    upload_artifact = _blocking(AsyncVaultClient.upload_artifact)
    download_artifact = _blocking(AsyncVaultClient.download_artifact)
    download_artifact_to = _blocking(AsyncVaultClient.download_artifact_to)
    get_artifact = _blocking(AsyncVaultClient.get_artifact)
    list_artifacts = _blocking(AsyncVaultClient.list_artifacts)
    iter_artifacts = _iterating(AsyncVaultClient.iter_artifacts)
    delete_artifact = _blocking(AsyncVaultClient.delete_artifact)

    record_metric = _blocking(AsyncVaultClient.record_metric)
    record_metrics = _blocking(AsyncVaultClient.record_metrics)
    get_metric = _blocking(AsyncVaultClient.get_metric)
    list_metrics = _blocking(AsyncVaultClient.list_metrics)
    iter_metrics = _iterating(AsyncVaultClient.iter_metrics)
    get_rollups = _blocking(AsyncVaultClient.get_rollups)

    put_checkpoint = _blocking(AsyncVaultClient.put_checkpoint)
    put_checkpoint_writes = _blocking(AsyncVaultClient.put_checkpoint_writes)
    get_checkpoint = _blocking(AsyncVaultClient.get_checkpoint)
    list_checkpoints = _blocking(AsyncVaultClient.list_checkpoints)
    iter_checkpoints = _iterating(AsyncVaultClient.iter_checkpoints)
    delete_thread = _blocking(AsyncVaultClient.delete_thread)
    copy_thread = _blocking(AsyncVaultClient.copy_thread)
    delete_checkpoints_of_runs = _blocking(AsyncVaultClient.delete_checkpoints_of_runs)
    prune_threads = _blocking(AsyncVaultClient.prune_threads)
    create_keyed_session = _blocking(AsyncVaultClient.create_keyed_session)
    get_keyed_session = _blocking(AsyncVaultClient.get_keyed_session)
    list_keyed_sessions = _blocking(AsyncVaultClient.list_keyed_sessions)
    iter_keyed_sessions = _iterating(AsyncVaultClient.iter_keyed_sessions)
    get_scoped_state = _blocking(AsyncVaultClient.get_scoped_state)
    put_scoped_state = _blocking(AsyncVaultClient.put_scoped_state)
    patch_scoped_state = _blocking(AsyncVaultClient.patch_scoped_state)
    delete_scoped_state = _blocking(AsyncVaultClient.delete_scoped_state)

    cache_get = _blocking(AsyncVaultClient.cache_get)
    cache_set = _blocking(AsyncVaultClient.cache_set)
    cache_delete = _blocking(AsyncVaultClient.cache_delete)
    cache_cleanup = _blocking(AsyncVaultClient.cache_cleanup)

    health = _blocking(AsyncVaultClient.health)
    ready = _blocking(AsyncVaultClient.ready)
    backup = _blocking(AsyncVaultClient.backup)
    list_backups = _blocking(AsyncVaultClient.list_backups)
    jobs = _blocking(AsyncVaultClient.jobs)
