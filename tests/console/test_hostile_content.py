"""Stored strings are shown as text: agent output that holds markup never runs in the console.

The pages are opened with the Content-Security-Policy bypassed, so what is
checked is the console's own discipline (text nodes, never markup), not only
the policy that would stop an injected script as a second line of defence.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.console.conftest import running_service, wait_for_rollups
from tests.console.service import Api

pytestmark = pytest.mark.slow

# Each would run `alert` and set window.__xss if it ever became markup.
IMAGE = '<img src=x onerror="window.__xss=1;alert(1)">'
SCRIPT = "<script>window.__xss=2;alert(2)</script>"
SVG = '<svg onload="window.__xss=3;alert(3)"></svg>'
LINK = '<a href="javascript:alert(4)">click</a>'
SVG_FILE = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(5)"><script>alert(6)</script></svg>'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, chromium_path):
    with running_service(tmp_path_factory, "hostile", VAULT_ROLLUP_SECONDS="1") as service:
        api = Api(service.url)
        session = api.post("/storage/sessions", {"agent_name": IMAGE, "user_id": SCRIPT, "metadata": {SCRIPT: SVG}})
        sid = session["id"]
        call = {"id": IMAGE, "type": "function", "function": {"name": SVG, "arguments": f'{{"q": "{LINK}"}}'}}
        messages = [
            {"role": "user", "content": IMAGE + " " + SCRIPT, "name": SVG},
            {"role": "assistant", "content": None, "tool_calls": [call], "metadata": {IMAGE: LINK}},
            {"role": "tool", "tool_call_id": IMAGE, "content": f'{{"answer": "{SCRIPT}"}}'},
            {"role": "assistant", "content": [{"type": "text", "text": LINK}, {"type": SVG, SCRIPT: IMAGE}]},
        ]
        api.post("/storage/history/batch", {"session_id": sid, "messages": messages})
        api.put(f"/storage/state/{sid}", {"data": {IMAGE: {SCRIPT: SVG}, LINK: [IMAGE]}})
        text = api.post(
            "/storage/artifacts",
            {"session_id": sid, "name": IMAGE, "type": SCRIPT, "content_type": "text/plain", "content": SCRIPT},
        )
        drawing = api.post(
            "/storage/artifacts",
            {
                "session_id": sid,
                "name": "drawing.svg",
                "content_type": "image/svg+xml",
                "content_base64": base64.b64encode(SVG_FILE.encode()).decode(),
            },
        )
        api.post(
            "/storage/metrics",
            {"entity_name": SCRIPT, "metric_name": IMAGE, "value": 1, "session_id": sid, "labels": {SVG: LINK}},
        )
        wait_for_rollups(api, quote(IMAGE))
        yield service, sid, text["id"], drawing["id"]


def views(sid: str, text: str, drawing: str) -> list[str]:
    return [
        "/ui/sessions",
        f"/ui/sessions/{sid}",
        f"/ui/sessions/{sid}/state",
        f"/ui/sessions/{sid}/artifacts",
        f"/ui/artifacts/{text}",
        f"/ui/artifacts/{drawing}",
        "/ui/artifacts",
        "/ui/metrics?bucket=minute",
        f"/ui/metrics/{quote(IMAGE, safe='')}?bucket=minute",
    ]


INJECTED = """() => {
  const scripts = [...document.scripts].filter((script) => script.src === location.origin + "/ui/assets/app.js");
  const active = (attribute) => attribute.name.startsWith("on") || attribute.value.startsWith("javascript:");
  const handlers = [...document.querySelectorAll("*")].filter((node) => [...node.attributes].some(active));
  return {
    scripts: document.scripts.length - scripts.length,
    handlers: handlers.map((node) => node.outerHTML.slice(0, 80)),
    images: document.querySelectorAll("img[src='x']").length,
    frames: document.querySelectorAll("iframe, object, embed").length,
    xss: window.__xss ?? null,
  };
}"""


@pytest.mark.parametrize("width", [360, 1280])
def test_hostile_strings_are_shown_as_text_and_never_run(hostile, open_page, shoot, width):
    service, sid, text, drawing = hostile
    page = open_page(width, bypass_csp=True)
    for path in views(sid, text, drawing):
        page.goto(service.url + path)
        # Not "networkidle": a conversation keeps a long poll of the change feed open.
        page.wait_for_load_state()
        expect(page.locator("main[aria-busy]")).to_have_count(0)
        found = page.evaluate(INJECTED)
        assert found == {"scripts": 0, "handlers": [], "images": 0, "frames": 0, "xss": None}, path
        assert page.dialogs == [], path
        # What was stored is there to read, as the characters it is.
        main = page.locator("main")
        if "/metrics" in path or "/artifacts/" in path:
            expect(main).to_contain_text(IMAGE if path != f"/ui/artifacts/{drawing}" else "onload")
        else:
            expect(main).to_contain_text(IMAGE)
    page.goto(f"{service.url}/ui/sessions/{sid}")
    main = page.locator("main")
    for stored in (IMAGE, SCRIPT, SVG, LINK):
        expect(main).to_contain_text(stored)
    shoot(page, "hostile-conversation")
    page.goto(f"{service.url}/ui/sessions/{sid}/state")
    tree = page.locator("section.card .json-tree")
    expect(tree).to_contain_text(f"{IMAGE} {{1 key}}")
    expect(tree).to_contain_text(f"{SCRIPT}: {json.dumps(SVG)}")
    page.goto(f"{service.url}/ui/artifacts/{drawing}")
    # An SVG is shown as its source, never drawn: it could carry scripts.
    expect(page.locator("pre.preview-text")).to_have_text(SVG_FILE)
    expect(page.locator("main svg")).to_have_count(0)
