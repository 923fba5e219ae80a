"""Helpers for the wire compression tests: raw answers, encoders, and bodies that inflate a lot."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from vault.zstd_codec import zstd

MIB = 1024 * 1024


def encode(coding: str, data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "zstd":
        return zstd.compress(data)
    raise ValueError(coding)


def decode(coding: str | None, data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "zstd":
        return zstd.decompress(data)
    assert coding is None, coding
    return data


def zeros_bomb(coding: str, size: int) -> bytes:
    """`size` zero bytes, compressed a MiB at a time (the test never holds them inflated)."""
    block = bytes(MIB)
    if coding == "gzip":
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        parts = [packer.compress(block) for _ in range(size // MIB)]
        return b"".join(parts) + packer.flush()
    compressor = zstd.ZstdCompressor(level=3)
    parts = [compressor.compress(block) for _ in range(size // MIB)]
    return b"".join(parts) + compressor.flush()


@asynccontextmanager
async def raw_session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that shows answers as they came over the wire (no decoding, no Accept-Encoding of its own)."""
    async with aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=("Accept-Encoding",)) as session:
        yield session
