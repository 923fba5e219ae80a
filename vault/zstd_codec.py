"""zstd, from the standard library where Python has it (3.14+), else its backport.

Both are the same module (PEP 784): its decompressor takes a `max_length`,
so a body can be inflated a bounded piece at a time, as zlib's can.
"""

from __future__ import annotations

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # Python before 3.14
    from backports import zstd  # type: ignore[no-redef]

ZstdError = zstd.ZstdError
ZstdDecompressor = zstd.ZstdDecompressor
# Level 3, zstd's default: most of the ratio of the higher levels at several times their speed.
LEVEL = 3


def compress(data: bytes) -> bytes:
    return zstd.compress(data, level=LEVEL)
