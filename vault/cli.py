"""The `vault` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from attrs import evolve

from vault import __version__, logs, server
from vault.app import build_blobs, build_cache, build_state, build_store, create_app, sqlite_settings
from vault.config import Config, ConfigError
from vault.copying import is_blob_store_url, row_progress, run_blob_copy, run_copy
from vault.settings import artifact_url
from vault.store.blobs import artifacts_folder
from vault.store.core import copies
from vault.store.errors import StoreError, StoreUnavailable
from vault.store.positions import ReplicaStatus, format_lsn
from vault.store.postgres import migrations as postgres_migrations
from vault.store.postgres.store import PostgresStore
from vault.store.sqlite import backup, diagnose
from vault.store.sqlite.migrations import LATEST_VERSION

T = TypeVar("T")

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
    backup.add_argument("--force", action="store_true", help="replace the file at PATH if there is one")
    backup.add_argument("--db-path", help="overrides DB_PATH")
    restore = commands.add_parser("restore", help="replace the database with a backup (stop the service first)")
    restore.add_argument("path", metavar="PATH", help="the backup file to restore")
    restore.add_argument("--db-path", help="overrides DB_PATH")
    compress = commands.add_parser(
        "compress",
        help="rewrite rows kept as plain text, then artifact blobs kept as sent, zstd-compressed"
        " (bounded batches; safe to run again)",
    )
    compress.add_argument("--db-path", help="overrides DB_PATH")
    copy = commands.add_parser(
        "copy",
        help="copy a whole database to an empty one (SQLite to PostgreSQL...), the cache and state to or from"
        " Redis, or every artifact blob to another blob store (a folder to S3...)",
    )
    urls = "sqlite:///path, postgresql://... or redis://...; for artifact bytes file:///path or s3://bucket/prefix"
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help=urls)
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help=urls)
    copy.add_argument(
        "--only",
        choices=["cache", "state"],
        help="with Redis on one side: copy only the cache or only the state (both otherwise)",
    )
    copy.add_argument("--redis-prefix", help="with Redis on one side: the key prefix (overrides VAULT_REDIS_PREFIX)")
    return parser


def _fail(message: str) -> int:
    print(f"vault: {message}", file=sys.stderr)
    return EXIT_BAD_SETTING


def _config(args: argparse.Namespace) -> Config:
    environ = dict(os.environ)
    options = (("host", "HOST"), ("port", "PORT"), ("db_path", "DB_PATH"), ("redis_prefix", "VAULT_REDIS_PREFIX"))
    for option, name in options:
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


def _on_postgres(config: Config, use: Callable[[PostgresStore], Awaitable[T]], progress: Any = None) -> T:
    """Start the configured PostgreSQL store (which migrates it, telling `progress`), use it, close it."""

    async def run_it() -> T:
        store = build_store(config)
        store.migration_progress = progress
        await store.start()
        try:
            return await use(store)
        finally:
            await store.close()

    return asyncio.run(run_it())


async def _applied_migrations(store: PostgresStore) -> list:
    return store.applied_migrations


def backup_command(args: argparse.Namespace) -> int:
    config = _config(args)
    if Path(args.to).exists() and not args.force:
        return _fail(f"{args.to} already exists; pass --force to replace it")
    if config.database_url is not None:
        info = _on_postgres(config, lambda store: store.backup(args.to, row_progress("copying", sys.stderr)))
        print(
            f"backup written: {info.file} ({_mib(info.size)}, a SQLite snapshot of {config.database},"
            f" integrity_check {info.integrity_check}, {info.artifacts} artifact files) in {info.duration_seconds:.1f}s"
        )
        return 0
    if not Path(config.db_path).exists():
        return _fail(f"no database at {config.db_path}")
    started = time.monotonic()
    progress = _progress_bar("copying")
    checked = backup.copy_database(config.db_path, args.to, progress)
    if progress is not None:
        print(file=sys.stderr)
    size = Path(args.to).stat().st_size
    exported = copies.copy_artifacts(args.to, build_blobs(config.artifact_location))
    print(
        f"backup written: {args.to} ({_mib(size)}, schema version {checked.schema_version},"
        f" integrity_check {checked.result}) in {time.monotonic() - started:.1f}s"
    )
    if exported.copied:
        print(f"artifact content: {exported.copied} files ({_mib(exported.size)}) in {artifacts_folder(args.to)}")
    if exported.missing:
        # Only the service can hold removals while it copies; from outside, a delete can race the copy.
        return _fail(
            f"{len(exported.missing)} artifact files were removed while the copy was taken; take the backup"
            " through the running service (POST /storage/admin/backup) or retry"
        )
    return 0


def restore_command(args: argparse.Namespace) -> int:
    config = _config(args)
    if config.database_url is not None:
        return _fail(
            f"restore replaces a SQLite file; to load {args.path} into PostgreSQL, run"
            f" vault copy --from {args.path} --to <an empty database's postgresql:// URL>"
        )
    if not Path(args.path).is_file():
        return _fail(f"no backup file at {args.path}")
    checked = copies.check(args.path)
    if not checked.ok:
        return _fail(f"refusing {args.path}: integrity_check says {checked.result}")
    started = time.monotonic()
    blobs = build_blobs(config.artifact_location, config.compression == "zstd")
    restored = backup.restore(args.path, config.db_path, blobs)
    print(f"restored {args.path} (schema version {checked.schema_version}) to {config.db_path}")
    print(f"artifact content: {restored.artifacts} files brought back into {blobs.location}")
    if restored.aside is not None:
        print(f"the previous database was kept at {restored.aside}")
    print(f"done in {time.monotonic() - started:.1f}s")
    return 0


def serve(args: argparse.Namespace) -> int:
    config = _config(args)
    logs.configure(config.log_level, config.log_format)
    app = create_app(config)

    def announce() -> None:
        log = logging.getLogger("vault")
        log.info("The Vault %s listening on %s:%d, database %s", __version__, config.host, config.port, config.database)
        if config.unsafe_ack_before_commit:
            log.warning("VAULT_UNSAFE_ACK_BEFORE_COMMIT is set: writes are answered before they are durable")
        if not config.api_keys and config.listens_beyond_loopback:
            log.warning(
                "VAULT_API_KEYS is not set and the service listens on %s: anyone who can reach this port"
                " can read and change every session",
                config.host,
            )

    try:
        server.run(
            app, config.host, config.port, config.shutdown_timeout, on_listening=announce, event_loop=config.event_loop
        )
    except StoreError as exc:
        return _fail(f"cannot start: {exc}")
    except OSError as exc:
        # asyncio's message repeats the address; the system's own words say it once.
        return _fail(f"cannot listen on {config.host}:{config.port}: {os.strerror(exc.errno) if exc.errno else exc}")
    return 0


def _redis_answers(config: Config) -> bool:
    """One line per Redis the settings name (cache, state); False when one does not answer."""
    answered = True
    for kind, adapter in (("cache", build_cache(config)), ("state", build_state(config))):
        if adapter is None:
            continue

        async def ping(adapter=adapter) -> None:
            try:
                await adapter.ping()
            finally:
                await adapter.close()

        try:
            asyncio.run(ping())
        except StoreUnavailable as exc:
            print(f"PROBLEM: {kind}: {exc}")
            answered = False
        else:
            print(f"{kind}: redis at {adapter.address} answers")
    return answered


async def _primary_and_replicas(store: PostgresStore) -> list[ReplicaStatus]:
    await store.ping()
    await store.refresh_replicas()
    return store.replicas()


def _report_replicas(replicas: list[ReplicaStatus]) -> bool:
    """One line per read replica; False when one does not serve reads."""
    for replica in replicas:
        if replica.state != "up":
            print(f"PROBLEM: replica {replica.name}: {replica.state}, serves no reads")
            continue
        lag = "lag unknown" if replica.lag_bytes is None else f"{replica.lag_bytes} bytes behind"
        print(
            f"replica {replica.name}: up, replayed to {format_lsn(replica.replay_lsn)}"
            f" ({lag}, {replica.lag_seconds:.1f}s)"
        )
    return all(replica.state == "up" for replica in replicas)


def check_command(args: argparse.Namespace) -> int:
    config = _config(args)
    if config.database_url is not None:
        # The store's ping would ping Redis too; Redis gets lines of its own, so one cannot hide the other.
        replicas = _on_postgres(evolve(config, cache_url=None, state_url=None), _primary_and_replicas)
        print(f"settings: ok (port {config.port}, database {config.database}); the database answers")
        replicas_ok = _report_replicas(replicas)
        return 0 if _redis_answers(config) and replicas_ok else 1
    print(f"settings: ok (port {config.port}, database {config.db_path}, synchronous={config.sqlite_synchronous})")
    print(f"api keys: {len(config.api_keys) or 'none'}; backups: {config.backup_dir}")
    report = diagnose.inspect_database(config.db_path)
    for line in report.lines:
        print(line)
    redis_ok = _redis_answers(config)
    return 0 if report.ok and redis_ok else 1


def _migration_progress() -> Callable[[Any, int, int], None] | None:
    """A redrawn line per migration that writes rows, on a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    bars: dict[int, Callable[[int, int], None] | None] = {}

    def show(migration: Any, done: int, total: int) -> None:
        if migration.version not in bars:
            bars[migration.version] = row_progress(f"{migration.version}: {migration.name}", sys.stderr)
        bar = bars[migration.version]
        if bar is not None:
            bar(done, total)

    return show


def migrate_command(args: argparse.Namespace) -> int:
    config = _config(args)
    if config.database_url is not None:
        applied = _on_postgres(config, _applied_migrations, _migration_progress())
        latest = postgres_migrations.LATEST_VERSION
    else:
        applied = asyncio.run(diagnose.migrate(config.db_path, sqlite_settings(config), _migration_progress()))
        latest = LATEST_VERSION
    for migration in applied:
        print(f"applied {migration.version}: {migration.name}")
    print(f"schema is at version {latest}" + ("" if applied else " (nothing to apply)"))
    return 0


def compress_command(args: argparse.Namespace) -> int:
    config = _config(args)
    if config.compression == "off":
        return _fail("VAULT_COMPRESSION=off: nothing is compressed; set it to zstd first")
    terminal = sys.stderr.isatty()

    def show(kind: str, looked: int, rewritten: int) -> None:
        if terminal:
            print(f"\r{kind}: {looked:,} plain read, {rewritten:,} rewritten compressed", end="", file=sys.stderr)

    async def run_it() -> dict[str, int]:
        # Through the store, in bounded write batches: on PostgreSQL the instances keep serving.
        store = build_store(config)
        await store.start()
        try:
            return await store.compress_existing(show)
        finally:
            await store.close()

    done = asyncio.run(run_it())
    if terminal:
        print(file=sys.stderr)
    units = {"artifacts": "blobs"}
    print(
        ", ".join(f"{kind}: {count:,} {units.get(kind, 'rows')} rewritten compressed" for kind, count in done.items())
    )
    return 0


def copy_command(args: argparse.Namespace) -> int:
    if is_blob_store_url(args.source) or is_blob_store_url(args.target):
        # Artifact bytes: both ends are blob stores, each URL checked as VAULT_ARTIFACT_URL is.
        source = artifact_url("--from", args.source)
        target = artifact_url("--to", args.target)
        if source == target:
            return _fail("--from and --to name the same blob store")
        # The target keeps what it receives as its own VAULT_COMPRESSION says (packed where that pays, or raw).
        packing = _config(args).compression == "zstd"
        return run_blob_copy(build_blobs(source), build_blobs(target, packing))
    return run_copy(args.source, args.target, _config(args).redis_prefix, [args.only] if args.only else None)


COMMANDS = {
    "serve": serve,
    "check": check_command,
    "migrate": migrate_command,
    "backup": backup_command,
    "restore": restore_command,
    "copy": copy_command,
    "compress": compress_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command or "serve"](args)
    except ConfigError as exc:
        return _fail(str(exc))
    except (StoreError, ValueError) as exc:
        return _fail(str(exc))


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
