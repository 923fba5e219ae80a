"""The README's client examples run, as written, against the real service."""

from __future__ import annotations

import re
import textwrap
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


async def test_the_async_example_runs(service):
    [example, _] = client_examples()
    code = example.replace("http://localhost:8084", service.url)
    namespace: dict = {}
    exec("async def example():\n" + textwrap.indent(code, "    "), namespace)
    await namespace["example"]()


def test_the_sync_example_runs(service, tmp_path, monkeypatch):
    [_, example] = client_examples()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7 a small report")
    exec(example.replace("http://localhost:8084", service.url), {})
    assert (tmp_path / "copy.pdf").read_bytes() == b"%PDF-1.7 a small report"
