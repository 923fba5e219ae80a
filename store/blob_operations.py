"""Store operations over artifact bytes and the backup folder, the same for every backend.

A backend mixes these in; it holds its blob store as `_blobs` and provides
the interface's get_artifact, referenced_blobs, release_blobs and backup,
which these build on. Contracts: vault.store.interface.Store.
"""

from __future__ import annotations

from collections.abc import Callable

from vault.store import backup_files
from vault.store.artifact_content import ArtifactContent, open_content
from vault.store.blob_repacking import pack_beside
from vault.store.blobs import BlobStore, BlobUpload
from vault.store.orphans import OrphanSweep, sweep_orphans

from vault.models import Artifact, BackupFile, BackupInfo

# Raw blobs listed at a time by `compress_blobs`.
BLOB_PAGE = 100


class BlobOperations:
    _blobs: BlobStore

    def upload_content(self, limit: int | None = None) -> BlobUpload:
        return self._blobs.upload(limit)

    async def artifact_content(self, artifact: Artifact) -> ArtifactContent:
        return await open_content(self._blobs, artifact, self.get_artifact)

    async def sweep_orphans(self, cutoff: float) -> OrphanSweep:
        return await sweep_orphans(self._blobs, self.referenced_blobs, self.release_blobs, cutoff)

    async def compress_blobs(self, progress: Callable[[str, int, int], None] | None = None) -> int:
        """Pack every blob kept raw where that pays (see vault.store.blob_repacking); answer how many were."""
        looked = packed = 0
        async for page in self._blobs.raw_blobs(BLOB_PAGE):
            for sha256 in page:
                looked += 1
                stored_size = await pack_beside(self._blobs, sha256)
                if stored_size is not None and await self._drop_raw(sha256, stored_size):
                    packed += 1
            if progress is not None:
                progress("artifacts", looked, packed)
        return packed

    async def list_backups(self, backup_dir: str) -> list[BackupFile]:
        return await backup_files.list_backups(backup_dir)

    async def backup_into(self, backup_dir: str, keep: int) -> BackupInfo:
        return await backup_files.backup_into(self.backup, backup_dir, keep)

    # Provided by the backend.

    async def get_artifact(self, artifact_id: str) -> Artifact:
        raise NotImplementedError

    async def referenced_blobs(self, sha256s: list[str]) -> set[str]:
        raise NotImplementedError

    async def release_blobs(self, sha256s: list[str]) -> int:
        raise NotImplementedError

    async def backup(self, target: str, progress: object = None) -> BackupInfo:
        raise NotImplementedError

    async def _drop_raw(self, sha256: str, stored_size: int) -> bool:
        raise NotImplementedError
