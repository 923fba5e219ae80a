"""/ui: the console's page and assets, their headers, and that they hand out no stored data."""

from __future__ import annotations

import re

import pytest
from vault.handlers.console import console_assets

from vault.app import create_app
from vault.config import Config

DEEP_LINKS = [
    "/ui",
    "/ui/",
    "/ui/sessions",
    "/ui/sessions/session_0661abc",
    "/ui/sessions/session_0661abc/state",
    "/ui/artifacts/artifact_1",
    "/ui/metrics/latency_ms?bucket=day",
    "/ui/operations",
    "/ui/no/such/view",
]


@pytest.fixture
async def keyed_client(aiohttp_client, db_path):
    return await aiohttp_client(create_app(Config(db_path=db_path, api_keys=("the-key",))))


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";"))


@pytest.mark.parametrize("path", DEEP_LINKS)
async def test_every_console_address_answers_the_page(client, path):
    # Rule: every view has an address that can be opened directly (the page routes on the client).
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert '<script type="module" src="/ui/assets/app.js">' in page


async def test_the_page_has_a_strict_content_security_policy(client):
    # Rule: only the console's own files run; nothing inline; no framing; previews only as blob: or data:.
    response = await client.get("/ui/sessions/session_1")
    directives = csp_directives(response)
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' blob: data:"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_page_has_no_inline_script_or_style_and_nothing_from_elsewhere(client):
    # Rule: the console works without internet and under its own policy (no inline code).
    page = await (await client.get("/ui")).text()
    assert re.findall(r"<script\b[^>]*>", page) == ['<script type="module" src="/ui/assets/app.js">']
    assert "<style" not in page and " style=" not in page and " on" not in re.sub(r"<!--.*?-->", "", page, flags=re.S)
    for asset in console_assets().values():
        text = asset.body.decode()
        assert not re.search(
            r"(?i)\b(?:https?:|wss?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text.replace("http://www.w3.org/", "")
        )
        assert "@import" not in text


async def test_scripts_and_styles_come_with_their_types_and_the_same_policy(client):
    for path, content_type in [
        ("app.js", "text/javascript"),
        ("views/sessions.js", "text/javascript"),
        ("style.css", "text/css"),
    ]:
        response = await client.get(f"/ui/assets/{path}")
        assert response.status == 200, path
        assert response.content_type == content_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_every_module_the_scripts_import_is_served(client):
    # Rule: a renamed or missing module would leave the console blank; each import names a real asset.
    assets = console_assets()
    for name, asset in assets.items():
        if not name.endswith(".js"):
            continue
        folder = name.rpartition("/")[0]
        for target in re.findall(r'from "(\.{1,2}/[^"]+)"', asset.body.decode()):
            parts = [*filter(None, folder.split("/")), *target.split("/")]
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                elif part != ".":
                    resolved.append(part)
            assert "/".join(resolved) in assets, f"{name} imports {target}"


async def test_an_unknown_asset_is_a_404(client):
    for path in ["/ui/assets/nope.js", "/ui/assets/views", "/ui/assets/views/"]:
        response = await client.get(path)
        assert response.status == 404, path
        assert (await response.json())["error"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/ui/assets/../../app.py", "/ui/assets/%2e%2e/%2e%2e/app.py", "/ui/assets/..%2F..%2Fapp.py"]
)
async def test_no_asset_path_reaches_the_disk(client, path):
    # Rule: an asset is looked up among the packaged files by name; no path is ever opened.
    response = await client.get(path)
    assert response.status in (200, 404)
    assert "import" not in await response.text() or response.content_type == "text/html"


async def test_an_unchanged_asset_is_a_304(client):
    first = await client.get("/ui/assets/app.js")
    again = await client.get("/ui/assets/app.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    assert await again.read() == b""


async def test_with_keys_the_page_is_open_and_the_data_is_not(keyed_client):
    # Rule: the page and its assets hold no stored data and open without a key; every data call needs one.
    created = await keyed_client.post(
        "/storage/sessions", json={"agent_name": "secret_agent_name"}, headers={"Authorization": "Bearer the-key"}
    )
    session_id = (await created.json())["id"]
    for path in ["/ui", f"/ui/sessions/{session_id}", "/ui/assets/app.js", "/ui/assets/views/conversation.js"]:
        response = await keyed_client.get(path)
        assert response.status == 200, path
        assert "secret_agent_name" not in await response.text()
    for path in ["/storage/sessions", f"/storage/sessions/{session_id}", "/openapi.json"]:
        assert (await keyed_client.get(path)).status == 401, path


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../storage/sessions",
        "/ui/%2e%2e/storage/sessions",
        "/ui%2F..%2Fstorage/sessions",
        "/ui/..%2Fstorage/sessions",
    ],
)
async def test_no_console_address_leads_past_the_key(keyed_client, path):
    # Rule: "open under /ui" never opens an API route, however the path is spelled.
    await keyed_client.post(
        "/storage/sessions", json={"agent_name": "secret_agent_name"}, headers={"Authorization": "Bearer the-key"}
    )
    response = await keyed_client.get(path)
    assert "secret_agent_name" not in await response.text()
    assert response.content_type != "application/json" or response.status in (401, 404)


async def test_only_health_and_the_console_are_open(keyed_client):
    # Rule: opening /ui opens nothing else: a path that merely starts with "/ui" still needs the key.
    assert (await keyed_client.get("/health")).status == 200
    for path in ["/uix", "/ui.json", "/docs", "/openapi.json", "/storage/admin/jobs"]:
        assert (await keyed_client.get(path)).status == 401, path
