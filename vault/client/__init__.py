"""Python clients for The Vault: AsyncVaultClient (asyncio) and VaultClient (blocking).

    async with AsyncVaultClient("http://localhost:8084") as vault:
        session = await vault.create_session("research_orchestrator", user_id="user_123")

Results are the records of vault.models; failures raise the typed errors of
vault.client.errors, all subclasses of VaultError.
"""

from vault.client.async_client import UNSET, AsyncVaultClient
from vault.client.errors import (
    AlreadyExists,
    BadRequest,
    Busy,
    Conflict,
    ConnectionFailed,
    Forbidden,
    Gone,
    IdempotencyKeyReused,
    InsufficientStorage,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RangeNotSatisfiable,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
    UnsupportedMediaType,
    ValidationError,
    VaultError,
)
from vault.client.records import BackupFile, Content, Health, JobStatus
from vault.client.sync_client import VaultClient
from vault.models import (
    Artifact,
    BackupInfo,
    CacheEntry,
    Checkpoint,
    CheckpointKey,
    KeyedSession,
    Message,
    Metric,
    Rollup,
    ScopedState,
    SearchHit,
    Session,
    State,
)

__all__ = [
    "UNSET",
    "AlreadyExists",
    "Artifact",
    "AsyncVaultClient",
    "BackupFile",
    "BackupInfo",
    "BadRequest",
    "Busy",
    "CacheEntry",
    "Checkpoint",
    "CheckpointKey",
    "Conflict",
    "ConnectionFailed",
    "Content",
    "Forbidden",
    "Gone",
    "Health",
    "IdempotencyKeyReused",
    "InsufficientStorage",
    "JobStatus",
    "KeyedSession",
    "Message",
    "MethodNotAllowed",
    "Metric",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "Rollup",
    "ScopedState",
    "SearchHit",
    "ServerError",
    "Session",
    "State",
    "Unauthorized",
    "UnexpectedResponse",
    "UnsupportedMediaType",
    "ValidationError",
    "VaultClient",
    "VaultError",
]
