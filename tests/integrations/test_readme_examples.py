"""The README's framework examples run, as written, against the real service."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path

import pytest

from tests.integrations.conftest import require

README = Path(__file__).resolve().parents[2] / "README.md"


def example(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(f"### {heading}") :]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)[0]


async def run(code: str, url: str) -> str:
    printed = io.StringIO()

    def script() -> None:
        with contextlib.redirect_stdout(printed):
            exec(code.replace("http://localhost:8084", url), {"__name__": "__main__"})

    # Its own thread, as a script would be: asyncio.run cannot run inside this test's loop.
    await asyncio.to_thread(script)
    return printed.getvalue()


@pytest.mark.timeout(120)
async def test_the_langgraph_example_runs(vault_url):
    require("langgraph", "langgraph")
    code = example("LangGraph").replace('"trip-42"', '"readme-trip-42"')
    printed = await run(code, vault_url)
    assert printed.strip() == "{'city': 'Lisbon', 'plan': 'three days in Lisbon', 'approved': True}"


@pytest.mark.timeout(120)
async def test_the_adk_example_runs(vault_url):
    require("google.adk", "adk")
    printed = await run(example("Google ADK"), vault_url)
    assert printed.splitlines() == ["{'city': 'Lisbon', 'user:lang': 'pt'}", "0"]
