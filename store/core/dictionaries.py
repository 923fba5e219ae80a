"""When a kind of document gets a zstd dictionary, and how one is trained from samples.

A dictionary is trained from the service's own recent documents of one kind
once there are enough of them (MIN_SAMPLES), and again only rarely
(RETRAIN_AFTER): frames made with an older dictionary stay readable, so a new
one only helps when what agents store has drifted.
"""

from __future__ import annotations

from datetime import timedelta

import zstandard as zstd
from vault.store.core.packing import LEVEL

from vault import clock

MIN_SAMPLES = 1000
# The most recent documents of a kind a dictionary is trained on.
SAMPLE_LIMIT = 5000
# Documents larger than this compress well on their own and would crowd the samples.
SAMPLE_MAX_BYTES = 16 * 1024
DICT_MAX_BYTES = 64 * 1024
DICT_MIN_BYTES = 4 * 1024
RETRAIN_AFTER = timedelta(days=30)


def due(newest_created_at: str | None) -> bool:
    """Whether a kind whose newest dictionary was made then (None: it has none) should get a new one."""
    if newest_created_at is None:
        return True
    return newest_created_at <= clock.format_time(clock.now() - RETRAIN_AFTER)


def train(samples: list[str], dict_id: int) -> bytes:
    """A dictionary for these documents whose frames will carry `dict_id`; zstd.ZstdError if it cannot."""
    encoded = [sample.encode("utf-8") for sample in samples]
    # zstd wants about ten times the dictionary's size in samples.
    size = max(DICT_MIN_BYTES, min(DICT_MAX_BYTES, sum(map(len, encoded)) // 10))
    return zstd.train_dictionary(size, encoded, dict_id=dict_id, level=LEVEL).as_bytes()
