"""The LangGraph savers: langgraph-checkpoint-conformance against a real service, and a graph
resumed from The Vault by another process than the one that started it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integrations.conftest import require

require("langgraph.checkpoint.conformance", "langgraph")

from langgraph.checkpoint.conformance import checkpointer_test, validate  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.types import Command  # noqa: E402

from tests.integrations import graph_app  # noqa: E402
from vault.integrations.langgraph import AsyncVaultSaver, VaultSaver  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]


def failures_of(report) -> dict[str, object]:
    """Each capability that was not detected or did not pass, with what failed."""
    return {
        name: result.failures or "not detected"
        for name, result in report.results.items()
        if not (result.detected and result.passed)
    }


@pytest.mark.timeout(300)
@pytest.mark.parametrize("saver_class", [AsyncVaultSaver, VaultSaver])
async def test_every_conformance_capability_passes(vault_url, saver_class):
    @checkpointer_test(name=saver_class.__name__)
    async def saver():
        made = saver_class(vault_url)
        yield made
        if isinstance(made, AsyncVaultSaver):
            await made.aclose()
        else:
            made.close()

    report = await validate(saver)

    assert len(report.results) == 8
    assert failures_of(report) == {}


@pytest.mark.timeout(120)
async def test_a_graph_stopped_at_an_interrupt_resumes_in_another_process(vault_url):
    thread_id = f"thread-{uuid.uuid4().hex}"
    started = subprocess.run(
        [sys.executable, "-m", "tests.integrations.graph_app", vault_url, thread_id, "otters"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "a draft about otters"

    # That process is gone; everything the graph knows now comes from The Vault.
    config = {"configurable": {"thread_id": thread_id}}
    async with AsyncVaultSaver(vault_url) as saver:
        graph = graph_app.build(saver)
        paused = await graph.aget_state(config)
        assert paused.next == ("review",)
        assert paused.values == {"topic": "otters", "draft": "a draft about otters"}

        result = await graph.ainvoke(Command(resume="approved"), config)

        assert result == {
            "topic": "otters",
            "draft": "a draft about otters",
            "verdict": "approved",
            "final": "a draft about otters (approved)",
        }
        assert (await graph.aget_state(config)).next == ()
        history = [(s.metadata["step"], s.next, s.values) async for s in graph.aget_state_history(config)]
    assert history == await history_in_memory()


async def history_in_memory() -> list[tuple]:
    """The same run, start to end, in one process on LangGraph's own in-memory saver."""
    graph = graph_app.build(InMemorySaver())
    config = {"configurable": {"thread_id": "in-memory"}}
    await graph.ainvoke({"topic": "otters"}, config)
    await graph.ainvoke(Command(resume="approved"), config)
    return [(s.metadata["step"], s.next, s.values) async for s in graph.aget_state_history(config)]
