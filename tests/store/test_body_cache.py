"""The body cache: bounded in bytes, least recently read out first, never a body for the wrong id."""

from __future__ import annotations

from vault.store.core.body_cache import BodyCache, cost


def test_keeps_bodies_by_id_within_its_bound():
    cache = BodyCache(max_bytes=3 * cost("x" * 100))
    for index in range(3):
        cache.put(f"msg_{index}", str(index) * 100)
    assert [cache.get(f"msg_{index}") for index in range(3)] == ["0" * 100, "1" * 100, "2" * 100]
    assert cache.size_bytes == 3 * cost("x" * 100)

    cache.get("msg_0")  # read last: msg_1 is now the least recently read
    cache.put("msg_3", "3" * 100)
    assert cache.get("msg_1") is None
    assert cache.get("msg_0") == "0" * 100
    assert cache.get("msg_3") == "3" * 100
    assert len(cache) == 3
    assert cache.size_bytes <= cache.max_bytes


def test_a_body_larger_than_the_whole_cache_is_not_kept():
    cache = BodyCache(max_bytes=1000)
    cache.put("big", "x" * 5000)
    assert cache.get("big") is None
    assert cache.size_bytes == 0


def test_non_ascii_bodies_count_at_their_widest():
    assert cost("é" * 100) > cost("e" * 100)
    cache = BodyCache(max_bytes=cost("é" * 100))
    cache.put("a", "é" * 100)
    cache.put("b", "e" * 100)
    assert cache.get("a") is None
    assert cache.get("b") == "e" * 100
