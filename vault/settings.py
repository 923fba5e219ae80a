"""How a setting is declared: an attrs field of Config that carries its variable, parser and help.

Declaring all of it on the field means a default is written once: Config takes it
as the field's default, and SETTINGS (built from the fields) shows it in the
README's table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from apscheduler.triggers.cron import CronTrigger
from attrs import NOTHING, Attribute, field, fields, frozen

Parser = Callable[[str, str], Any]


class ConfigError(ValueError):
    """A setting has a value The Vault cannot use; the message names it."""


@frozen
class Setting:
    """One environment variable: which Config field it fills, its default as documented, how it is read."""

    name: str
    field: str
    default: str
    parse: Parser
    help: str


@frozen
class _Declared:
    name: str
    parse: Parser
    help: str
    shown: str | None


_METADATA_KEY = "vault.setting"


def setting(name: str, default: Any, parse: Parser, help: str, *, shown: str | None = None) -> Any:
    """A Config field read from the variable `name`.

    `default` may be an attrs Factory, or NOTHING for a field Config.from_env
    always fills; `shown` is the default as the README states it, where the value
    itself would not say it (a Factory, or None meaning off).
    """
    return field(default=default, metadata={_METADATA_KEY: _Declared(name, parse, help, shown)})


def settings_of(cls: type) -> tuple[Setting, ...]:
    return tuple(_setting(attribute) for attribute in fields(cls))


def _setting(attribute: Attribute) -> Setting:
    declared: _Declared = attribute.metadata[_METADATA_KEY]
    shown = declared.shown if declared.shown is not None else _shown(attribute.default)
    return Setting(declared.name, attribute.name, shown, declared.parse, declared.help)


def _shown(default: Any) -> str:
    if default is NOTHING or default is None or not isinstance(default, bool | int | str):
        raise TypeError(f"say how the default {default!r} is documented (shown=...)")
    if isinstance(default, bool):
        return "1" if default else "0"
    return str(default)


# -- parsers: (variable name, raw text) -> value, or ConfigError naming the variable


def int_between(low: int, high: int) -> Parser:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: must be a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}={raw!r}: must be from {low} to {high}")
        return value

    return parse


def one_of(*choices: str) -> Parser:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name}={raw!r}: must be one of {', '.join(choices)}")
        return value

    return parse


def cron(name: str, raw: str) -> str:
    try:
        CronTrigger.from_crontab(raw.strip(), timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: not a cron expression ({exc})") from None
    return raw.strip()


def flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("0", "1", "true", "false"):
        raise ConfigError(f"{name}={raw!r}: must be 0 or 1")
    return value in ("1", "true")


def listing(name: str, raw: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    if not items:
        raise ConfigError(f"{name} is set but lists nothing")
    return items


# Heroku writes postgres://; asyncpg takes both.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def url_of(schemes: tuple[str, ...], expected: str) -> Parser:
    """A parser taking a URL with one of `schemes`; `expected` finishes the error's "must be ..."."""

    def parse(name: str, raw: str) -> str:
        url = raw.strip()
        if not url.startswith(schemes):
            raise ConfigError(f"{name} must be {expected}")
        return url

    return parse


postgres_url = url_of(POSTGRES_SCHEMES, "a postgresql:// URL (for SQLite, set DB_PATH instead)")


def postgres_urls(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated postgresql:// URLs, each naming one server."""
    urls = listing(name, raw)
    for url in urls:
        if not url.startswith(POSTGRES_SCHEMES):
            raise ConfigError(
                f"{name}: {url!r} is not a postgresql:// URL (each comma-separated item is the URL of one server)"
            )
    return urls


redis_url = url_of(("redis://", "rediss://"), "a redis:// or rediss:// URL")


def artifact_url(name: str, raw: str) -> str:
    """file:///an/absolute/path or s3://bucket[/prefix]; checked whole here, so a typo fails at start."""
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ConfigError(f"{name}={raw!r}: a file URL names an absolute path, file:///path")
        return url
    if parts.scheme == "s3":
        if not parts.netloc or parts.query or parts.fragment:
            raise ConfigError(f"{name}={raw!r}: an S3 URL names a bucket and an optional prefix, s3://bucket/prefix")
        return url
    raise ConfigError(f"{name} must be a file:///path or an s3://bucket/prefix URL")


def text(name: str, raw: str) -> str:
    if not raw.strip():
        raise ConfigError(f"{name} is set but empty")
    return raw.strip()
