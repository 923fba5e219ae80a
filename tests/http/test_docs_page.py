"""The /docs page's own script: checked in Node when it is installed (the page has no other dependency)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.services import missing

NODE = shutil.which("node")


def page_function(page: str, name: str) -> str:
    match = re.search(rf"^(?:async )?function {name}\(.*?^}}$", page, re.MULTILINE | re.DOTALL)
    assert match is not None, f"{name} is not in the /docs page"
    return match.group()


def run_in_node(source: str, expression: str):
    done = subprocess.run(
        [NODE, "-e", f"{source}\nprocess.stdout.write(JSON.stringify({expression}));"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def _inputs(*fields: tuple[str, str, bool, str]) -> str:
    return json.dumps(
        [{"param": {"name": n, "in": where, "required": req}, "input": {"value": v}} for n, where, req, v in fields]
    )


# Rule: "Try it" refuses to send while a required field is empty, and names each such field.
@pytest.mark.skipif(NODE is None, reason=missing("node, to run the /docs page's script"))
async def test_try_it_names_the_required_fields_left_empty(client):
    page = await (await client.get("/docs")).text()
    source = page_function(page, "missingRequired")
    empty_path = _inputs(("session_id", "path", True, ""), ("limit", "query", False, ""))
    assert run_in_node(source, f"missingRequired({empty_path})") == ["session_id (path)"]
    blank = _inputs(("session_id", "query", True, "  "), ("key", "path", True, ""))
    assert run_in_node(source, f"missingRequired({blank})") == ["session_id (query)", "key (path)"]
    filled = _inputs(("session_id", "path", True, "session_1"), ("limit", "query", False, ""))
    assert run_in_node(source, f"missingRequired({filled})") == []
    # send() asks before it builds the request.
    send = page_function(page, "send")
    assert send.index("missingRequired(inputs)") < send.index("fetch(")
