"""The console with API keys set: it asks for a key, says when one is refused, and shows nothing before."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.console.conftest import running_service
from tests.console.seed import png
from tests.console.service import Api

pytestmark = pytest.mark.slow

READER = "reader-key-1234"
ADMIN = "admin-key-5678"
AGENT = "keyed_research_agent"
SECRET = "the stored answer only a key may read"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, chromium_path):
    env = {"VAULT_API_KEYS": f"{READER},{ADMIN}", "VAULT_ADMIN_API_KEYS": ADMIN}
    with running_service(tmp_path_factory, "keyed", **env) as service:
        api = Api(service.url, READER)
        sid = api.post("/storage/sessions", {"agent_name": AGENT})["id"]
        api.post("/storage/history", {"session_id": sid, "role": "assistant", "content": SECRET})
        image = api.post(
            "/storage/artifacts",
            {"session_id": sid, "name": "plot.png", "content_type": "image/png", "content_base64": _b64(png())},
        )
        yield service, sid, image["id"]


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def give_key(page, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use this key").click()


@pytest.mark.parametrize("width", [360, 1280])
def test_no_key_is_asked_for_a_wrong_one_is_refused_the_right_one_shows_the_data(keyed, open_page, shoot, width):
    service, sid, _ = keyed
    page = open_page(width)
    page.goto(f"{service.url}/ui/sessions/{sid}")
    expect(page.get_by_role("heading", name="API key needed")).to_be_visible()
    expect(page.get_by_label("API key")).to_be_focused()
    assert AGENT not in page.content() and SECRET not in page.content()
    shoot(page, "key-asked")

    give_key(page, "not-the-key")
    expect(page.get_by_role("alert")).to_have_text("That key was not accepted. Check it and try again.")
    assert SECRET not in page.content()
    assert page.evaluate("() => sessionStorage.length") == 0
    shoot(page, "key-refused")

    give_key(page, READER)
    expect(page.get_by_text(SECRET)).to_be_visible()
    expect(page.get_by_role("heading", name=AGENT)).to_be_visible()
    expect(page.locator("#key-status")).to_contain_text("Key set")
    assert READER not in page.url
    page.errors.clear()  # the refused calls' 401s, logged by the browser

    # Another tab of its own does not have the key.
    other = open_page(width)
    other.goto(f"{service.url}/ui/sessions/{sid}")
    expect(other.get_by_role("heading", name="API key needed")).to_be_visible()
    other.errors.clear()

    page.get_by_role("button", name="Forget key").click()
    expect(page.get_by_role("heading", name="API key needed")).to_be_visible()
    page.errors.clear()


def test_previews_and_downloads_send_the_key(keyed, open_page):
    service, _, image = keyed
    page = open_page()
    page.goto(f"{service.url}/ui/artifacts/{image}")
    give_key(page, READER)
    preview = page.get_by_role("img", name="Preview of plot.png")
    expect(preview).to_be_visible()
    assert preview.evaluate("node => node.complete && node.naturalWidth") == 240
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "plot.png"
    assert Path(download.value.path()).read_bytes() == png()
    page.errors.clear()


def test_administration_views_say_when_the_key_is_not_an_administration_key(keyed, open_page, shoot):
    service, _, _ = keyed
    page = open_page()
    page.goto(service.url + "/ui/operations")
    give_key(page, READER)
    expect(page.get_by_text("healthy")).to_be_visible()
    refused = page.get_by_text("Not allowed with this key.")
    expect(refused).to_have_count(2)  # the jobs and the backups
    expect(page.get_by_text("VAULT_ADMIN_API_KEYS").first).to_be_visible()
    shoot(page, "operations-not-allowed")

    page.get_by_role("button", name="Forget key").click()
    give_key(page, ADMIN)
    expect(page.locator("table.jobs")).to_contain_text("metric-rollups")
    expect(refused).to_have_count(0)
    page.errors.clear()
