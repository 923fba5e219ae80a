"""`vault copy`: a whole database, or every artifact blob, with a progress display and a verification.

Database URLs (sqlite:, postgresql://) copy a database; blob store URLs
(file:///path, s3://bucket/prefix) copy artifact bytes.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from vault.store.blobs import BlobStore
from vault.store.transfer import CopyReport, copy_database, parse_database_url
from vault.store.transfer.blob_copy import BlobCopyReport, BlobProgress, copy_blobs
from vault.store.transfer.copy import CopyProgress
from vault.store.transfer.redis_copy import RedisPlace, copy_into_redis, copy_out_of_redis, is_redis_url

BLOB_STORE_SCHEMES = ("file://", "s3://")

EXIT_COUNTS_DIFFER = 1


def progress_display(stream: TextIO) -> CopyProgress:
    """One line per table: redrawn as rows arrive on a terminal, written once when done otherwise."""
    live = stream.isatty()

    def show(table: str, done: int, total: int) -> None:
        finished = done >= total
        if live:
            share = done / total if total else 1.0
            bar = "#" * int(share * 30)
            end = "\n" if finished else ""
            print(f"\r{table:<16} [{bar:<30}] {share:4.0%} {done:,} / {total:,} rows", end=end, file=stream, flush=True)
        elif finished:
            print(f"{table:<16} {total:,} rows", file=stream, flush=True)

    return show


def row_progress(label: str, stream: TextIO) -> Callable[[int, int], None] | None:
    """(rows done, rows in all) as one redrawn line on a terminal; nothing otherwise."""
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        share = done / total if total else 1.0
        end = "\n" if done >= total else ""
        print(f"\r{label} [{'#' * int(share * 30):<30}] {share:4.0%} {done:,} / {total:,} rows", end=end, file=stream)

    return show


def render(report: CopyReport) -> str:
    lines = [f"{'table':<16} {'source':>12} {'target':>12}"]
    for count in report.counts:
        mark = "ok" if count.ok else "DIFFERS"
        lines.append(f"{count.table:<16} {count.source:>12,} {count.target:>12,}  {mark}")
    lines.extend(report.notes)
    verdict = "every count matches" if report.ok else "COUNTS DIFFER"
    lines.append(
        f"copied {report.rows:,} rows from {report.source} to {report.target} in {report.seconds:.1f}s: {verdict}"
    )
    return "\n".join(lines)


def _copying(source: str, target: str, prefix: str, kinds: list[str], progress: CopyProgress):
    """The copy the two URLs call for: database to database, or the cache and state to or from Redis."""
    if is_redis_url(source) and is_redis_url(target):
        raise ValueError("one side of a copy must be a database: Redis to Redis is Redis's own job")
    if is_redis_url(target):
        return copy_into_redis(parse_database_url(source), RedisPlace(target, prefix), kinds, progress)
    if is_redis_url(source):
        return copy_out_of_redis(RedisPlace(source, prefix), parse_database_url(target), kinds, progress)
    return copy_database(parse_database_url(source), parse_database_url(target), progress)


def run_copy(source: str, target: str, prefix: str = "vault:", kinds: list[str] | None = None) -> int:
    """Copy, show progress on stderr and the verification on stdout; non-zero unless the counts match.

    `prefix` and `kinds` ("cache", "state") matter only when one side is Redis.
    """
    kinds = kinds or ["cache", "state"]
    report = asyncio.run(_copying(source, target, prefix, kinds, progress_display(sys.stderr)))
    print(render(report))
    return 0 if report.ok else EXIT_COUNTS_DIFFER


def is_blob_store_url(text: str) -> bool:
    return text.strip().startswith(BLOB_STORE_SCHEMES)


def blob_progress_display(stream: TextIO) -> BlobProgress:
    """One line redrawn as blobs go across on a terminal; a line every thousand blobs otherwise."""
    live = stream.isatty()

    def show(done: int, total: int, size: int) -> None:
        finished = done >= total
        share = done / total if total else 1.0
        line = f"blobs [{'#' * int(share * 30):<30}] {share:4.0%} {done:,} / {total:,}, {size / 2**20:,.1f} MiB sent"
        if live:
            print(f"\r{line}", end="\n" if finished else "", file=stream, flush=True)
        elif finished or done % 1000 == 0:
            print(line, file=stream, flush=True)

    return show


def render_blobs(report: BlobCopyReport) -> str:
    lines = [
        f"{'blobs in the source':<28} {report.blobs:>12,}",
        f"{'sent across':<28} {report.copied:>12,}  ({report.size / 2**20:,.1f} MiB)",
        f"{'already in the target':<28} {report.already_there:>12,}",
        f"{'in the target now':<28} {report.in_target:>12,}  {'ok' if report.in_target == report.blobs else 'DIFFERS'}",
    ]
    for sha256 in report.damaged[:10]:
        lines.append(f"damaged in the source (bytes do not match their sha256, not copied): {sha256}")
    verdict = "every blob is in the target" if report.ok else "COUNTS DIFFER"
    lines.append(f"copied artifact bytes from {report.source} to {report.target} in {report.seconds:.1f}s: {verdict}")
    return "\n".join(lines)


def run_blob_copy(source: BlobStore, target: BlobStore) -> int:
    """Copy every blob, show progress on stderr and the count check on stdout; non-zero unless it holds."""

    async def copy() -> BlobCopyReport:
        try:
            return await copy_blobs(source, target, blob_progress_display(sys.stderr))
        finally:
            await source.close()
            await target.close()

    report = asyncio.run(copy())
    print(render_blobs(report))
    return 0 if report.ok else EXIT_COUNTS_DIFFER
