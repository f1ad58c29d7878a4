"""Real-browser tests: Playwright driving Debian's ``chromium`` against the session's api-server.

Playwright's own browser download cannot run here, so the browser is the system's ``/usr/bin/chromium``
(``apt-get install chromium``; ``.ci/run`` installs it when missing). Without it these tests are skipped, except
in CI (``AEOPS_REQUIRE_BROWSER=1``), where a missing browser fails them. Screenshots of every test are written
to ``var/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("AEOPS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def _unavailable(reason: str) -> None:
    if os.environ.get("AEOPS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One chromium for the browser tests, closed after them: Playwright's sync API runs an event loop in the main
    thread while it is open, and later tests that start their own (``asyncio.run``) must not find it running."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (make venv installs it)")
    if not Path(CHROMIUM).is_file():
        _unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A browser page with its console errors and failed requests recorded."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)

    def _failed(self, request: Any) -> None:
        # a navigation cancels the page's pending polls (net::ERR_ABORTED): that is the browser, not a fault
        if request.failure != "net::ERR_ABORTED" or "/aeops/" in request.url:
            self.errors.append(f"request failed: {request.url} {request.failure}")

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def logged_in(browser: Any, airflow_server: Any) -> Iterator[Page]:
    """A page of a browser session logged in as admin (the Airflow UI's ``_token`` cookie)."""
    # English browser locale: the Airflow UI's own labels (its i18n follows the browser) stay what the tests click;
    # aeops's pages follow the store's language, whatever the browser's
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.add_cookies([{"name": "_token", "value": airflow_server.token("admin"), "url": airflow_server.url}])
    page = Page(context.new_page())
    page.page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def anonymous(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = Page(context.new_page())
    try:
        yield page
    finally:
        context.close()
