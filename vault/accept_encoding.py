"""Which content coding a client accepts for an answer: zstd, gzip, or none.

RFC 9110 12.5.3: a list of codings, each with an optional weight `q` from 0
to 1; `q=0` means "not acceptable"; `*` stands for every coding not named;
`x-gzip` is gzip. A coding that is not named (and no `*`) is not acceptable,
and so is every coding when the header is absent: an answer is compressed
only for a client that said it can read it.
"""

from __future__ import annotations

import functools

ZSTD = "zstd"
GZIP = "gzip"
# Best first: on equal weights zstd wins (smaller and faster to decode).
OFFERED = (ZSTD, GZIP)
ALIASES = {"x-gzip": GZIP}


def _weight(params: list[str]) -> float | None:
    """The `q` of one list element; None when it is malformed (the element is then ignored)."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() != "q":
            continue
        try:
            weight = float(value.strip())
        except ValueError:
            return None
        # float() takes "nan", "inf" and "1e0"; a qvalue is 0 to 1 with up to three decimals.
        return weight if 0.0 <= weight <= 1.0 else None
    return 1.0


# Clients send the same few header values over and over: parsing each once keeps
# the check nearly free on the many small answers that are never compressed.
@functools.lru_cache(maxsize=256)
def preferred_coding(header: str | None) -> str | None:
    """The coding to answer in (`zstd` or `gzip`), or None to answer as is."""
    if not header:
        return None
    weights: dict[str, float] = {}
    for element in header.split(","):
        coding, *params = element.split(";")
        coding = coding.strip().lower()
        coding = ALIASES.get(coding, coding)
        weight = _weight(params)
        if coding and weight is not None:
            weights[coding] = weight
    wildcard = weights.get("*", 0.0)
    best, best_weight = None, 0.0
    for coding in OFFERED:
        weight = weights.get(coding, wildcard)
        if weight > best_weight:
            best, best_weight = coding, weight
    return best
