"""The `vault` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from store.errors import StoreError
from store.sqlite import backup, diagnose
from store.sqlite.migrations import LATEST_VERSION
from vault import __version__, logs
from vault.app import create_app
from vault.config import Config, ConfigError

EXIT_BAD_SETTING = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vault", description="The Vault: storage for agent sessions.")
    parser.add_argument("--version", action="version", version=f"vault {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the HTTP service (the default)")
    serve.add_argument("--host", help="overrides HOST")
    serve.add_argument("--port", help="overrides PORT")
    serve.add_argument("--db-path", help="overrides DB_PATH")
    check = commands.add_parser("check", help="validate the settings and the database, print what was found")
    check.add_argument("--db-path", help="overrides DB_PATH")
    migrate = commands.add_parser("migrate", help="apply pending schema migrations and list them")
    migrate.add_argument("--db-path", help="overrides DB_PATH")
    backup = commands.add_parser("backup", help="write a checked copy of the database (safe while it runs)")
    backup.add_argument("--to", required=True, metavar="PATH", help="the backup file to write")
    backup.add_argument("--db-path", help="overrides DB_PATH")
    restore = commands.add_parser("restore", help="replace the database with a backup (stop the service first)")
    restore.add_argument("path", metavar="PATH", help="the backup file to restore")
    restore.add_argument("--db-path", help="overrides DB_PATH")
    return parser


def _fail(message: str) -> int:
    print(f"vault: {message}", file=sys.stderr)
    return EXIT_BAD_SETTING


def _config(args: argparse.Namespace) -> Config:
    environ = dict(os.environ)
    for option, name in (("host", "HOST"), ("port", "PORT"), ("db_path", "DB_PATH")):
        value = getattr(args, option, None)
        if value is not None:
            environ[name] = value
    return Config.from_env(environ)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _progress_bar(label: str):
    """A progress line on a terminal; nothing when stderr is not one."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        print(f"\r{label} [{bar:<30}] {share:4.0%} {_mib(done)} / {_mib(total)}", end="", file=sys.stderr, flush=True)

    return show


def backup_command(args: argparse.Namespace) -> int:
    config = _config(args)
    if not Path(config.db_path).exists():
        return _fail(f"no database at {config.db_path}")
    started = time.monotonic()
    progress = _progress_bar("copying")
    checked = backup.copy_database(config.db_path, args.to, progress)
    if progress is not None:
        print(file=sys.stderr)
    size = Path(args.to).stat().st_size
    print(
        f"backup written: {args.to} ({_mib(size)}, schema version {checked.schema_version},"
        f" integrity_check {checked.result}) in {time.monotonic() - started:.1f}s"
    )
    return 0


def restore_command(args: argparse.Namespace) -> int:
    config = _config(args)
    checked = backup.check(args.path)
    if not checked.ok:
        return _fail(f"refusing {args.path}: integrity_check says {checked.result}")
    started = time.monotonic()
    aside = backup.restore(args.path, config.db_path)
    print(f"restored {args.path} (schema version {checked.schema_version}) to {config.db_path}")
    if aside is not None:
        print(f"the previous database was kept at {aside}")
    print(f"done in {time.monotonic() - started:.1f}s")
    return 0


def serve(args: argparse.Namespace) -> int:
    config = _config(args)
    logs.configure(config.log_level, config.log_format)
    app = create_app(config)

    async def announce(_: web.Application) -> None:
        log = logging.getLogger("vault")
        log.info("The Vault %s listening on %s:%d, database %s", __version__, config.host, config.port, config.db_path)
        if not config.api_keys and config.listens_beyond_loopback:
            log.warning(
                "VAULT_API_KEYS is not set and the service listens on %s: anyone who can reach this port"
                " can read and change every session",
                config.host,
            )

    app.on_startup.append(announce)
    try:
        # SIGTERM and SIGINT stop taking connections, let requests finish, then
        # run the cleanup contexts: the store drains its queue and commits.
        web.run_app(app, host=config.host, port=config.port, print=None, access_log=None)
    except StoreError as exc:
        return _fail(f"cannot start: {exc}")
    except OSError as exc:
        return _fail(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}")
    return 0


def check_command(args: argparse.Namespace) -> int:
    config = _config(args)
    print(f"settings: ok (port {config.port}, database {config.db_path}, synchronous={config.sqlite_synchronous})")
    print(f"api keys: {len(config.api_keys) or 'none'}; backups: {config.backup_dir}")
    report = diagnose.inspect_database(config.db_path)
    for line in report.lines:
        print(line)
    return 0 if report.ok else 1


def migrate_command(args: argparse.Namespace) -> int:
    config = _config(args)
    applied = asyncio.run(diagnose.migrate(config.db_path))
    for migration in applied:
        print(f"applied {migration.version}: {migration.name}")
    print(f"schema is at version {LATEST_VERSION}" + ("" if applied else " (nothing to apply)"))
    return 0


COMMANDS = {
    "serve": serve,
    "check": check_command,
    "migrate": migrate_command,
    "backup": backup_command,
    "restore": restore_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command or "serve"](args)
    except ConfigError as exc:
        return _fail(str(exc))
    except StoreError as exc:
        return _fail(str(exc))


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
