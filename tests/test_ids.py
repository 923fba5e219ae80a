"""Server-made ids sort in the order they were made (vault.ids)."""

from __future__ import annotations

import re

from vault import ids

ID = re.compile(r"msg_[0-9a-f]{14}[0-9a-f]{10}")


def test_a_batch_of_ids_sorts_in_order_and_after_and_before_single_ids():
    made = [ids.message_id(), *ids.message_ids(1000), ids.message_id(), *ids.message_ids(3), *ids.message_ids(1)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(ID.fullmatch(made_id) for made_id in made)


def test_a_batch_larger_than_the_random_block_gets_random_parts_of_its_own():
    made = ids.message_ids(5000)
    assert len({made_id[-10:] for made_id in made}) > 4990
    assert made == sorted(made)


def test_no_ids_for_an_empty_batch():
    assert ids.message_ids(0) == []
