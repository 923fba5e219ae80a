"""The orphan sweep, and backups and restores that carry artifact bytes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from vault.jobs.artifacts import ORPHAN_AGE_SECONDS, OrphanSweep, sweep_orphan_blobs
from vault.jobs.backups import take_backup
from vault.jobs.wiring import build_jobs
from vault.store.backup_files import backup_files
from vault.store.blobfs import FilesystemBlobStore
from vault.store.blobs import artifacts_folder
from vault.store.sqlite import SQLiteStore, backup

from tests import store_settings
from vault.inputs import NewArtifact


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def age(path: Path, seconds: float) -> None:
    """Make a file look `seconds` old (no waiting)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def blobs_of(store: SQLiteStore) -> FilesystemBlobStore:
    """The store's artifact folder (beside its database), seen from outside the store."""
    return FilesystemBlobStore(Path(store.path).parent / "artifacts")


async def stored(store, data: bytes, **fields):
    async with store.upload_content() as upload:
        await upload.write(data)
        return await store.create_artifact(NewArtifact(name=fields.pop("name", "a"), **fields), content=upload)


async def unclaimed(store, data: bytes) -> str:
    """Bytes placed as a blob with no record, as a crash between place and commit leaves them."""
    async with store.upload_content() as upload:
        await upload.write(data)
        await upload.place()
        return upload.info.sha256


# -- orphans


async def test_the_sweep_removes_old_unclaimed_blobs_and_partials_only(store):
    claimed = await stored(store, b"claimed")
    old_orphan = await unclaimed(store, b"old orphan")
    young_orphan = await unclaimed(store, b"young orphan")
    for sha in (claimed.sha256, old_orphan):
        age(blobs_of(store).path(sha), ORPHAN_AGE_SECONDS + 60)
    old_partial = blobs_of(store).tmp_dir / "crashed.partial"
    old_partial.write_bytes(b"half an upload")
    age(old_partial, ORPHAN_AGE_SECONDS + 60)
    live_partial = blobs_of(store).tmp_dir / "in-flight.partial"
    live_partial.write_bytes(b"still arriving")

    assert await sweep_orphan_blobs(store) == OrphanSweep(blobs=1, partials=1)
    assert blobs_of(store).contains(claimed.sha256)
    assert not blobs_of(store).contains(old_orphan)
    assert blobs_of(store).contains(young_orphan)
    assert not old_partial.exists() and live_partial.exists()
    assert await sweep_orphan_blobs(store) == OrphanSweep(blobs=0, partials=0)


async def test_the_sweep_pages_through_many_blobs(store, still_clock):
    shas = [await unclaimed(store, f"orphan {n}".encode()) for n in range(25)]
    keep = await stored(store, b"orphan 3")
    still_clock.shift(ORPHAN_AGE_SECONDS + 60)
    result = await sweep_orphan_blobs(store)
    assert result.blobs == 24
    assert [sha for sha in shas if blobs_of(store).contains(sha)] == [keep.sha256]


async def test_the_sweep_job_is_scheduled(config, store):
    runner = build_jobs(config, store)
    assert "artifact-orphans" in {status.id for status in runner.statuses()}


# -- backups


async def test_a_backup_carries_the_bytes_its_records_point_at(store, tmp_path):
    kept = await stored(store, b"kept bytes")
    gone = await stored(store, b"deleted before the backup")
    await store.delete_artifact(gone.id)
    await unclaimed(store, b"never claimed")

    info = await store.backup(str(tmp_path / "copy.db"))
    assert info.artifacts == 1
    folder = artifacts_folder(tmp_path / "copy.db")
    assert sorted(path.name for path in folder.rglob("*") if path.is_file()) == [kept.sha256]

    restored_db = tmp_path / "restored" / "storage.db"
    restored_db.parent.mkdir()
    restored_blobs = FilesystemBlobStore(tmp_path / "restored" / "artifacts")
    backup.restore(tmp_path / "copy.db", restored_db, restored_blobs)
    restored = SQLiteStore(str(restored_db), store_settings.SQLITE, blobs=restored_blobs)
    await restored.start()
    try:
        artifact = await restored.get_artifact(kept.id)
        assert restored_blobs.path(artifact.sha256).read_bytes() == b"kept bytes"
    finally:
        await restored.close()


async def test_pruning_a_backup_prunes_its_bytes(store, tmp_path):
    await stored(store, b"in every backup")
    folder = tmp_path / "backups"
    made = [Path((await take_backup(store, str(folder), keep=2)).file) for _ in range(3)]
    assert backup_files(str(folder)) == [made[2], made[1]]
    assert not artifacts_folder(made[0]).exists()
    assert artifacts_folder(made[1]).is_dir() and artifacts_folder(made[2]).is_dir()


def vault_cli(*args: str, db_path: str, artifact_dir: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vault", *args, "--db-path", db_path],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VAULT_ARTIFACT_DIR": artifact_dir},
    )


async def test_cli_backup_and_restore_carry_the_bytes(store, db_path, tmp_path):
    artifact = await stored(store, b"through the command line")
    copy = tmp_path / "cli-copy.db"
    result = vault_cli("backup", "--to", str(copy), db_path=db_path, artifact_dir=blobs_of(store).location)
    assert result.returncode == 0, result.stderr
    assert "artifact content: 1 files" in result.stdout

    other_db = str(tmp_path / "other" / "storage.db")
    other_blobs = str(tmp_path / "other" / "artifacts")
    result = vault_cli("restore", str(copy), db_path=other_db, artifact_dir=other_blobs)
    assert result.returncode == 0, result.stderr
    assert FilesystemBlobStore(other_blobs).path(artifact.sha256).read_bytes() == b"through the command line"


async def test_cli_restore_says_how_many_artifact_files_it_brought_back(store, db_path, tmp_path):
    # The restore's summary counts the artifact files it brought back.
    await stored(store, b"first")
    await stored(store, b"second")
    copy = tmp_path / "cli-copy.db"
    assert (
        vault_cli("backup", "--to", str(copy), db_path=db_path, artifact_dir=blobs_of(store).location).returncode == 0
    )
    other_db = str(tmp_path / "other" / "storage.db")
    other_blobs = str(tmp_path / "other" / "artifacts")
    result = vault_cli("restore", str(copy), db_path=other_db, artifact_dir=other_blobs)
    assert result.returncode == 0, result.stderr
    assert f"artifact content: 2 files brought back into {other_blobs}" in result.stdout.splitlines()
