"""The README's client examples run, as written, against the real service."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def client_examples() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Python client") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def test_the_readme_shows_both_clients():
    # Rule: the README's client section stays true.
    [async_example, sync_example] = client_examples()
    assert "AsyncVaultClient" in async_example and "VaultClient(" in sync_example


# Rule: the async example runs as written, asyncio.run included (it once needed wrapping to run at all).
async def test_the_async_example_runs(service):
    [example, _] = client_examples()
    assert "asyncio.run(main())" in example
    code = example.replace("http://localhost:8084", service.url)
    # Its own thread, as a script would be: asyncio.run cannot run inside this test's loop.
    await asyncio.to_thread(exec, code, {"__name__": "__main__"})


def test_the_sync_example_runs(service, tmp_path, monkeypatch):
    [_, example] = client_examples()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7 a small report")
    exec(example.replace("http://localhost:8084", service.url), {})
    assert (tmp_path / "copy.pdf").read_bytes() == b"%PDF-1.7 a small report"
