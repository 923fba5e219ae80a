"""Each view of the console as a person sees it, at a phone's width and a desktop's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.console.conftest import WIDTHS
from tests.console.seed import AGENTS, SESSION_COUNT, TOOL_ARGUMENTS
from tests.console.service import Api

pytestmark = pytest.mark.slow


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def page(request, open_page, seeded_service):
    service, _ = seeded_service
    page = open_page(request.param)
    page.base = service.url
    yield page
    assert page.errors == [], "errors in the page"


@pytest.fixture
def seeded(seeded_service):
    return seeded_service[1]


def test_sessions_newest_first_paged_and_filtered(page, shoot):
    page.goto(page.base + "/ui")
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    rows = page.locator("table.sessions tbody tr")
    expect(rows).to_have_count(25)
    # The session made last (the long conversation) is at the top.
    expect(rows.first).to_contain_text("user_ada")
    shoot(page, "sessions")

    page.get_by_role("link", name="Older →").click()
    expect(page).to_have_url(page.base + "/ui/sessions?offset=25")
    expect(rows).to_have_count(SESSION_COUNT - 25)
    page.get_by_role("link", name="← Newer").click()
    expect(rows).to_have_count(25)

    page.get_by_label("Agent").fill("code_reviewer")
    page.get_by_label("Status").select_option("paused")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(page.base + "/ui/sessions?agent_name=code_reviewer&status=paused")
    expect(rows).to_have_count(SESSION_COUNT // len(AGENTS))
    for text in rows.all_inner_texts():
        assert "code_reviewer" in text and "paused" in text


def test_a_conversation_as_a_chat(page, seeded, shoot):
    page.goto(f"{page.base}/ui/sessions/{seeded.conversation}")
    newest = page.get_by_text(seeded.last_message)
    expect(newest).to_be_in_viewport()  # opened at its newest message
    for role in ("user", "assistant", "tool"):
        expect(page.locator(f"li.msg-{role}").first).to_be_visible()
    # The tool call: its name, its id and its arguments, indented one key a line.
    call = page.locator(".tool-call").last
    expect(call).to_contain_text("web_search")
    expect(call).to_contain_text("call_search_1")
    expect(call.locator("pre")).to_have_text(json.dumps(TOOL_ARGUMENTS, indent=2))
    expect(page.locator("li.msg-tool").last).to_contain_text("Result of call_search_1")
    expect(page.locator("li.msg-tool").last.locator("pre")).to_contain_text('"citations": 41')
    shoot(page, "conversation")

    # The long answer is folded until asked for.
    unfold = page.get_by_role("button", name="Show all (40 lines")
    expect(unfold).to_have_attribute("aria-expanded", "false")
    last_line = page.get_by_text("40. Qubit technology 40")
    assert last_line.evaluate("node => node.closest('.fold').classList.contains('folded')")
    unfold.click()
    expect(page.get_by_role("button", name="Show less")).to_have_attribute("aria-expanded", "true")
    assert not last_line.evaluate("node => node.closest('.fold').classList.contains('folded')")

    # Scrolling up loads the older messages, back to the first.
    first = page.get_by_text(seeded.first_message)
    expect(first).to_have_count(0)
    for _ in range(10):
        if first.count():
            break
        page.mouse.wheel(0, -20000)
        page.wait_for_function("() => !document.querySelector('.older button[disabled]')")
    expect(first).to_be_visible()
    expect(page.get_by_text("The start of the conversation.")).to_be_visible()
    seqs = page.locator("li.msg").evaluate_all("items => items.map(item => Number(item.dataset.seq))")
    assert seqs == list(range(1, len(seqs) + 1))


def test_state_with_its_version_and_etag(page, seeded, shoot):
    page.goto(f"{page.base}/ui/sessions/{seeded.conversation}/state")
    facts = page.locator("main dl.facts").last
    expect(facts).to_contain_text("Version")
    expect(facts.locator("dd").nth(0)).to_have_text("2")
    expect(facts.locator("dd").nth(1)).to_have_text('"2"')
    tree = page.locator("section.card .json-tree")
    expect(tree).to_contain_text('goal: "survey qubit coherence"')
    expect(tree).to_contain_text('0: "transmons"')
    expect(tree).to_contain_text("step: 4")
    shoot(page, "state")


def test_artifacts_listed_with_previews_and_a_download(page, seeded, shoot):
    page.goto(f"{page.base}/ui/sessions/{seeded.conversation}/artifacts")
    for name in ("notes.md", "coherence.png", "report.html", "data.parquet"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    shoot(page, "artifacts")

    page.get_by_role("link", name="notes.md").click()
    expect(page.locator("pre.preview-text")).to_have_text("# Notes\n\nT1 = 1.2 ms")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "notes.md"
    assert Path(download.value.path()).read_text(encoding="utf-8") == "# Notes\n\nT1 = 1.2 ms"

    page.goto(f"{page.base}/ui/artifacts/{seeded.image_artifact}")
    image = page.get_by_role("img", name="Preview of coherence.png")
    expect(image).to_be_visible()
    assert image.get_attribute("src").startswith("blob:")
    assert image.evaluate("node => node.complete && node.naturalWidth") == 240
    shoot(page, "artifact-image")

    # HTML is shown as its source text, never run or rendered.
    page.goto(f"{page.base}/ui/artifacts/{seeded.html_artifact}")
    expect(page.locator("pre.preview-text")).to_contain_text("<script>window.__artifact_ran = 1</script>")
    assert page.evaluate("() => window.__artifact_ran") is None
    expect(page.locator("main h1, main iframe, main object, main embed")).to_have_count(1)

    page.goto(f"{page.base}/ui/artifacts/{seeded.reference_artifact}")
    expect(page.locator("main")).to_contain_text("s3://lab/qubits.parquet")
    expect(page.get_by_role("link", name="Download")).to_have_count(0)


def test_metrics_as_charts_with_the_points_behind_them(page, shoot):
    page.goto(page.base + "/ui/metrics?bucket=minute")
    cards = page.locator("section.metric")
    expect(cards).to_have_count(2)
    for name in ("latency_ms", "tokens"):
        card = cards.filter(has=page.get_by_role("link", name=name))
        chart = card.locator("svg.chart")
        expect(chart).to_be_visible()
        points = chart.locator("polyline.line").get_attribute("points").split()
        assert len(points) > 1
        # Drawn at the width it is shown at: the text stays legible on a phone.
        box = chart.bounding_box()
        assert abs(box["width"] - float(chart.get_attribute("width"))) <= 1
    shoot(page, "metrics")

    page.get_by_role("link", name="latency_ms").click()
    expect(page.get_by_role("heading", name="latency_ms")).to_be_visible()
    expect(page.locator("table.points tbody tr")).to_have_count(25)
    page.get_by_role("button", name="More points").click()
    expect(page.locator("table.points tbody tr")).to_have_count(50)
    shoot(page, "metric")
    page.get_by_role("link", name="hour", exact=True).click()
    expect(page).to_have_url(page.base + "/ui/metrics/latency_ms?bucket=hour")
    expect(page.locator("svg.chart")).to_be_visible()


def test_operations_jobs_backups_and_storage(page, shoot):
    page.goto(page.base + "/ui/operations")
    jobs = page.locator("table.jobs")
    expect(jobs).to_contain_text("metric-rollups")
    expect(jobs.locator("tr", has_text="metric-rollups")).to_contain_text("ok")
    expect(page.locator("table.backups tbody tr")).to_have_count(1)
    expect(page.locator("table.backups")).to_contain_text(".db")
    # The storage figures, kind by kind.
    storage = page.locator("table.storage")
    for kind in ("messages", "state", "cache", "artifacts"):
        expect(storage.locator("tr", has_text=kind)).to_have_count(1)
    shoot(page, "operations")


def test_an_unknown_session_says_not_found(page):
    page.goto(page.base + "/ui/sessions/session_nope")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.errors.clear()  # the browser logs the 404 of the API call


def test_links_are_real_addresses_and_back_works(page, seeded):
    page.goto(page.base + "/ui/sessions")
    page.get_by_role("link", name="research_orchestrator").first.click()
    expect(page).to_have_url(f"{page.base}/ui/sessions/{seeded.conversation}")
    # Bringing the tabs into view brings the older messages' loader with them, and
    # those messages go in above the reader's place, moving the tabs up: a click
    # aimed while they load could land on a message. Click once they are in.
    page.get_by_role("navigation", name="Session views").scroll_into_view_if_needed()
    expect(page.get_by_text("The start of the conversation.")).to_be_attached()
    page.get_by_role("link", name="State").click()
    expect(page).to_have_url(f"{page.base}/ui/sessions/{seeded.conversation}/state")
    page.go_back()
    expect(page.get_by_role("heading", name="research_orchestrator")).to_be_visible()
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Conversation")
    page.go_back()
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()


def test_keyboard_reaches_every_view(page):
    page.goto(page.base + "/ui/sessions")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for name in ("The Vault", "Sessions", "Artifacts", "Metrics", "Operations"):
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name=name, exact=True)).to_be_focused()
    # The focused link is outlined, and Enter follows it.
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    expect(page).to_have_url(page.base + "/ui/operations")
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()


def test_a_conversation_shows_new_messages_live(page, seeded_service):
    service, _ = seeded_service
    api = Api(service.url)
    session = api.post("/storage/sessions", {"agent_name": "live_agent"})
    api.post("/storage/history", {"session_id": session["id"], "role": "user", "content": "Already here."})
    page.goto(f"{page.base}/ui/sessions/{session['id']}")
    expect(page.get_by_text("Already here.")).to_be_visible()
    expect(page.get_by_text("Live: new messages appear as they are stored.")).to_be_visible()

    api.post("/storage/history", {"session_id": session["id"], "role": "assistant", "content": "Arrived while open."})

    expect(page.get_by_text("Arrived while open.")).to_be_visible()
