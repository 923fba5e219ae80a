"""Calls to S3: where the bucket is, how a client is set up, and what a failed call means.

An S3 store that is down, slow or refusing is StoreUnavailable (503 with
Retry-After) after short timeouts, never a hang; each call is timed and
counted by operation for /metrics. Endpoint, region and credentials are
botocore's own settings (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION,
AWS_ACCESS_KEY_ID, ...), so any S3-compatible store works.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import aiohttp
from attrs import frozen
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import BotoCoreError, ClientError
from vault.store.errors import StoreUnavailable

# A connection that does not open, or a socket that goes quiet, fails the call this soon.
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
# One retry: a pooled connection the server dropped is replaced at once; more would hide an outage.
TOTAL_ATTEMPTS = 2
# A missing bucket is not among them: the store is then unusable (NoSuchBucket), not empty.
ABSENT_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchUpload"})
# Answers about the request, which the caller reads: not failures of the store.
ANSWER_CODES = ABSENT_CODES | {"InvalidRange"}
# Settings that can never work: a start fails on these instead of waiting for S3 to come back.
REFUSED_CODES = frozenset({"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"})

Observer = Callable[[str, float, bool], None]


@frozen
class S3Location:
    """A bucket and a key prefix ("" or ending in "/"), from s3://bucket/prefix."""

    bucket: str
    prefix: str

    @classmethod
    def from_url(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        prefix = parts.path.strip("/")
        return cls(parts.netloc, f"{prefix}/" if prefix else "")

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, name: str) -> str:
        return self.prefix + name


def client_config() -> BotocoreConfig:
    return BotocoreConfig(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
        # Checksums only where S3 requires one: a trailing CRC on every upload is not
        # understood by every S3-compatible store, and the sha256 is checked anyway.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=32,
    )


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_absent(exc: BaseException) -> bool:
    """A 404 of a key or an upload: an answer, not a failure."""
    return isinstance(exc, ClientError) and error_code(exc) in ABSENT_CODES


class S3Calls:
    """Times and counts each call; turns a failure into StoreUnavailable naming the store."""

    def __init__(self, location: S3Location) -> None:
        self.location = location
        self.observer: Observer | None = None

    @contextmanager
    def reaching(self, operation: str, *, timed: bool = True) -> Iterator[None]:
        """Around one call (`timed`: observed for /metrics, as reads of a streamed body are not)."""
        started = time.perf_counter()
        failed = True
        try:
            yield
            failed = False
        except ClientError as exc:
            if error_code(exc) in ANSWER_CODES:
                failed = False
                raise
            raise StoreUnavailable(f"the S3 store {self.location.url} refused {operation}: {exc}") from exc
        except (TimeoutError, BotoCoreError, aiohttp.ClientError, OSError) as exc:
            raise StoreUnavailable(f"the S3 store {self.location.url} does not answer: {exc}") from exc
        finally:
            if timed and self.observer is not None:
                self.observer(operation, time.perf_counter() - started, failed)
