"""Timestamps: always UTC, always ISO 8601 with an offset and microseconds.

One fixed text form means stored timestamps sort correctly as strings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def now_text() -> str:
    return format_time(now())


def parse_time(text: str) -> datetime:
    """Parse any ISO 8601 form; no zone means UTC. Raises ValueError."""
    if not isinstance(text, str) or not text or len(text) > 64:
        raise ValueError("must be an ISO 8601 timestamp")
    candidate = text.strip()
    if candidate.endswith(("z", "Z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range") from None


def normalize_time(text: str) -> str:
    return format_time(parse_time(text))


def seconds_from_now(seconds: float) -> str:
    return format_time(now() + timedelta(seconds=seconds))


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
