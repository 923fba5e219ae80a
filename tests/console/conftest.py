"""The console in a real browser: headless Chromium driven by Playwright, against `vault serve`.

The browser is the system's (Debian's `chromium`), named by VAULT_TEST_CHROMIUM;
without it these tests skip as a missing service (tests/services.py). Screenshots
of each view go to VAULT_TEST_SCREENSHOTS (default: a temporary folder), so CI
can keep them with its output.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.console.seed import Seeded, seed
from tests.console.service import Api, ConsoleService
from tests.services import missing

CHROMIUM_VARIABLE = "VAULT_TEST_CHROMIUM"
SCREENSHOTS_VARIABLE = "VAULT_TEST_SCREENSHOTS"
WIDTHS = (360, 1280)
ROLLUP_DEADLINE = 30.0


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get(CHROMIUM_VARIABLE, "").strip()
    if not path:
        pytest.skip(missing(f"a Chromium for the console's browser tests ({CHROMIUM_VARIABLE})"))
    return path


# Per module, not per session: while Playwright's sync API runs, its event loop is
# the thread's running loop, which the asyncio tests after these would trip over.
@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    configured = os.environ.get(SCREENSHOTS_VARIABLE, "").strip()
    folder = Path(configured) if configured else tmp_path_factory.mktemp("console-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def running_service(tmp_path_factory, name: str, **env: str) -> Iterator[ConsoleService]:
    service = ConsoleService(tmp_path_factory.mktemp(name), **env)
    try:
        yield service.start()
    finally:
        service.stop()


def wait_for_rollups(api: Api, metric_name: str) -> None:
    """The rollup job runs every second here; the charts need its first fold."""
    deadline = time.monotonic() + ROLLUP_DEADLINE
    while not api.get(f"/storage/metrics/rollups?metric_name={metric_name}&bucket=minute"):
        assert time.monotonic() < deadline, "the rollup job did not fold the seeded points"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def seeded_service(tmp_path_factory, chromium_path) -> Iterator[tuple[ConsoleService, Seeded]]:
    with running_service(tmp_path_factory, "console", VAULT_ROLLUP_SECONDS="1") as service:
        api = Api(service.url)
        seeded = seed(api)
        api.post("/storage/admin/backup", {})
        wait_for_rollups(api, "latency_ms")
        yield service, seeded


@pytest.fixture
def open_page(browser) -> Iterator[Callable]:
    """A new page at a width (its own context: its own sessionStorage), recording what a test checks after."""
    contexts = []

    def make(width: int = 1280, **options):
        context = browser.new_context(viewport={"width": width, "height": 800}, **options)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.dialogs = []
        # Anything the console's own pages do against their Content-Security-Policy is an error too.
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', (event) => "
            "console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`))"
        )
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))

        def refuse(dialog):
            page.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", refuse)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shoot(screenshots) -> Callable:
    def take(page, name: str) -> Path:
        path = screenshots / f"{name}-{page.viewport_size['width']}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
