"""Kept newest windows on SQLite: every read answers what a scan of the file would.

Each check reads the same window from the store under test, whose windows are
kept, and from a second store opened on the same file with nothing kept (as
another process would), and requires the two to agree, after the changes that
move a session's mark: appends, a history clear, a session's delete, and
appends made by that other store.
"""

from __future__ import annotations

import pytest
from attrs import evolve
from vault.store.blobfs import FilesystemBlobStore
from vault.store.errors import NotFound
from vault.store.sqlite import SQLiteStore
from vault.store.sqlite.windows import WindowCache

from tests import store_settings
from tests.store.conftest import add_texts, new_session
from vault.models import RenderedMessage
from vault.queries import HistoryQuery


@pytest.fixture
async def stores(tmp_path):
    path = str(tmp_path / "windows.db")
    kept = SQLiteStore(path, store_settings.SQLITE, blobs=FilesystemBlobStore(str(tmp_path / "a")))
    plain = SQLiteStore(
        path, evolve(store_settings.SQLITE, body_cache_bytes=0), blobs=FilesystemBlobStore(str(tmp_path / "b"))
    )
    await kept.start()
    await plain.start()
    try:
        yield kept, plain
    finally:
        await plain.close()
        await kept.close()


async def _window(store, session_id: str, limit: int) -> tuple[list[int], bool]:
    page = await store.list_message_bodies(HistoryQuery(session_id=session_id, limit=limit))
    return [item.seq for item in page.items], page.has_more


async def _agree(kept, plain, session_id: str) -> None:
    for limit in (1, 3, 5, 8, 50):
        # Read twice: the second answer comes from the kept window.
        first = await _window(kept, session_id, limit)
        assert await _window(kept, session_id, limit) == first
        assert first == await _window(plain, session_id, limit), limit
    # And back again: a kept window answers one limit after another, each built afresh or kept.
    for limit in (50, 8, 5, 3, 1, 1, 50):
        assert await _window(kept, session_id, limit) == await _window(plain, session_id, limit), limit


async def test_windows_follow_appends_clears_and_another_process(stores):
    kept, plain = stores
    session = await new_session(kept)
    await _agree(kept, plain, session.id)
    await add_texts(kept, session.id, *[f"m{n}" for n in range(5)])
    await _agree(kept, plain, session.id)
    assert await _window(kept, session.id, 3) == ([3, 4, 5], True)

    await add_texts(plain, session.id, "from the other process")
    assert await _window(kept, session.id, 3) == ([4, 5, 6], True)
    await _agree(kept, plain, session.id)

    await kept.clear_history(session.id)
    assert await _window(kept, session.id, 3) == ([], False)
    await add_texts(kept, session.id, "after the clear")
    assert await _window(kept, session.id, 3) == ([7], False)
    await _agree(kept, plain, session.id)

    await plain.delete_session(session.id)
    with pytest.raises(NotFound):
        await _window(kept, session.id, 3)


def _items(*seqs: int) -> list[RenderedMessage]:
    return [RenderedMessage(f"msg_{seq}", seq, f'{{"seq":{seq}}}') for seq in seqs]


def test_a_kept_window_answers_only_what_it_holds():
    windows = WindowCache(max_bytes=1 << 20)
    # A scan of limit 3 found seqs 8..10 and that older ones exist.
    windows.keep("s", (10, 10), _items(8, 9, 10), [10, 10, 10], more=True)
    assert windows.page("s", (11, 11), 3) is None  # the session changed since
    assert windows.page("s", (10, 10), 4) is None  # holds 3, and older ones exist
    page = windows.page("s", (10, 10), 2)
    assert [item.seq for item in page.items] == [9, 10] and page.has_more
    page = windows.page("s", (10, 10), 3)
    assert [item.seq for item in page.items] == [8, 9, 10] and page.has_more

    # A scan that found the whole conversation answers any larger limit.
    windows.keep("t", (2, 2), _items(1, 2), [10, 10], more=False)
    page = windows.page("t", (2, 2), 50)
    assert [item.seq for item in page.items] == [1, 2] and not page.has_more


async def test_a_page_from_a_kept_window_is_the_reader_s_own(stores):
    kept, _ = stores
    session = await new_session(kept)
    await add_texts(kept, session.id, "a", "b", "c")
    query = HistoryQuery(session_id=session.id, limit=2)
    await kept.list_message_bodies(query)  # scanned, and kept
    answered = await kept.list_message_bodies(query)  # from the kept window
    assert isinstance(answered.items, list)
    answered.items.clear()
    assert [item.seq for item in (await kept.list_message_bodies(query)).items] == [2, 3]
