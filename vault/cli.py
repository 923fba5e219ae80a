"""The `vault` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from store.errors import StoreError
from vault import __version__
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
    return parser


def _fail(message: str) -> int:
    print(f"vault: {message}", file=sys.stderr)
    return EXIT_BAD_SETTING


def serve(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    for option, name in (("host", "HOST"), ("port", "PORT"), ("db_path", "DB_PATH")):
        value = getattr(args, option, None)
        if value is not None:
            environ[name] = value
    try:
        config = Config.from_env(environ)
    except ConfigError as exc:
        return _fail(str(exc))
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    app = create_app(config)

    async def announce(_: web.Application) -> None:
        logging.getLogger("vault").info(
            "The Vault %s listening on %s:%d, database %s", __version__, config.host, config.port, config.db_path
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in (None, "serve"):
        return serve(args)
    return _fail(f"unknown command {args.command}")


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
