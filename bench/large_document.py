"""Does one large document slow writes to other sessions?

Runs the same workload on two fresh SQLite stores, one of them also holding
a session with a large `metadata` document (16 MiB by default): a batch
append of 1,000 messages to another session, then deleting a session of
3,000 messages. Prints the median seconds of each over the rounds, and the
ratio of the store with the large document to the one without (1.0 means
the large document costs the others nothing).

    python bench/large_document.py [--mib 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from vault.app import build_store
from vault.config import Config
from vault.inputs import NewMessage, NewSession


async def one_round(folder: Path, large_mib: int) -> tuple[float, float]:
    # Documents this large are refused since VAULT_MAX_DOCUMENT_BYTES; stores made before it may hold them.
    environ = {"DB_PATH": str(folder / "bench.db"), "HOME": str(folder), "VAULT_MAX_DOCUMENT_BYTES": str(2**31)}
    config = Config.from_env(environ)
    store = build_store(config)
    await store.start()
    try:
        if large_mib:
            await store.create_session(NewSession(agent_name="large", metadata={"blob": "x" * (large_mib << 20)}))
        target = await store.create_session(NewSession(agent_name="target"))
        doomed = await store.create_session(NewSession(agent_name="doomed"))
        batch = [NewMessage(session_id=doomed.id, role="user", content=f"message {n}") for n in range(1000)]
        for _ in range(3):
            await store.add_messages(doomed.id, batch)
        started = time.perf_counter()
        await store.add_messages(target.id, batch)
        append = time.perf_counter() - started
        started = time.perf_counter()
        await store.delete_session(doomed.id)
        delete = time.perf_counter() - started
        return append, delete
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[int, list[tuple[float, float]]] = {0: [], args.mib: []}
    for _ in range(args.rounds):
        for size in results:
            with tempfile.TemporaryDirectory() as folder:
                results[size].append(await one_round(Path(folder), size))
    medians = {size: [statistics.median(run[i] for run in runs) for i in (0, 1)] for size, runs in results.items()}
    print(f"{'workload':<34}{'no large doc':>14}{f'{args.mib} MiB doc':>14}{'ratio':>8}")
    for i, name in enumerate(("append 1,000 messages (s)", "delete a 3,000-message session (s)")):
        base, large = medians[0][i], medians[args.mib][i]
        print(f"{name:<34}{base:>14.4f}{large:>14.4f}{large / base:>8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
