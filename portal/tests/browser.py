"""Real-browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Loaded for the whole suite by `pytest_plugins` in the root conftest.py. A test asks for
`browser_page` and gets a fresh phone-sized Ukrainian browser tab on the live server; after
the test the fixture fails it if the browser requested anything from another host. Tests
that use the browser run after all others (see pytest_collection_modifyitems).

The browser is Debian's /usr/bin/chromium, installed by scripts/setup-browser (`make test`
runs it), never `playwright install`: that downloads browser builds from hosts outside the
package registries, which our machines and CI cannot reach.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from pytest_django.live_server_helper import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
PHONE_VIEWPORT = {"width": 390, "height": 844}  # an iPhone 12-14: most residents come by phone
# Fail a wait in seconds, not Playwright's default 30 s: the live server answers at once.
TIMEOUT_MS = 15_000
# Schemes whose "requests" never leave the browser.
LOCAL_SCHEMES = frozenset({"data", "about", "blob"})


def chromium_args(server_host: str, server_ip: str) -> list[str]:
    """Chromium's flags: headless, and no reaching out to any host on its own at start or later."""
    return [
        "--headless",
        "--no-sandbox",  # runs as root in containers, where the sandbox cannot start
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        # A proxy from the environment would carry requests off the machine.
        "--no-proxy-server",
        # Chromium resolves no name at all: the live server's host goes straight to the address
        # it listens on, and every other host (IP addresses too) fails at once. So a stray
        # outside request, or a Google service the flags above missed, sends no DNS query and
        # gets no further than the browser, while the test still sees it in BrowserPage.requests.
        f"--host-resolver-rules=MAP {server_host} {server_ip}, MAP * ~NOTFOUND",
    ]


def artifacts_dir() -> Path:
    """Where test artifacts go: TEST_ARTIFACTS_DIR, else artifacts/ in the repo (gitignored)."""
    return Path(os.environ.get("TEST_ARTIFACTS_DIR") or REPO / "artifacts")


def is_outside(url: str, server_netloc: str) -> bool:
    """True for a URL the browser would fetch from anywhere but the live server (host and port)."""
    parts = urlsplit(url)
    return parts.scheme not in LOCAL_SCHEMES and parts.netloc != server_netloc


def file_safe(name: str) -> str:
    """A test's name as a folder name: parametrized ids may hold slashes, brackets, spaces."""
    return re.sub(r"[^\w.-]+", "_", name).strip("_")


@dataclass
class BrowserPage:
    """One test's browser tab on the live server, and what it asked the network for.

    Fetch through the page (goto, clicks, expect_response), not `page.request`: that client
    runs in Playwright's Node driver, outside Chromium, so `requests` never sees it and the
    host rules of chromium_args do not hold for it (it asks the system's DNS for localhost).
    """

    page: Page
    server_url: str
    screenshot_dir: Path
    requests: list[str] = field(default_factory=list)
    # What the Content-Security-Policy stopped: a page that needs it blocked is broken for residents.
    csp_violations: list[str] = field(default_factory=list)
    shots: int = 0

    def url(self, path: str) -> str:
        """The live server's address of a path like /admin/login/."""
        return self.server_url + "/" + path.lstrip("/")

    def shot(self, name: str) -> Path:
        """Saves a full-page screenshot as <artifacts>/screenshots/<test>/<NN>-<name>.png."""
        self.shots += 1
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.screenshot_dir / f"{self.shots:02d}-{file_safe(name)}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def outside_requests(self) -> list[str]:
        """Every requested URL not on the live server; a test that wants one clears `requests`."""
        server_netloc = urlsplit(self.server_url).netloc
        return [url for url in self.requests if is_outside(url, server_netloc)]


def expect(target):
    """Playwright's assertions, which wait (up to 5 s) until they hold. After a click that submits
    a form, `inner_text()` can read the next page while it is still arriving and find it empty."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@pytest.fixture(scope="session")
def chromium(live_server: LiveServer) -> Iterator[Browser]:
    """Debian's Chromium under Playwright, started once for the whole run."""
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}: run scripts/setup-browser (make test does)")
    from playwright.sync_api import sync_playwright  # only runs that have browser tests pay for it

    # Playwright's sync API keeps an asyncio loop marked as running in this (the main) thread
    # from its first call until it stops, at the end of the run. Django sees that loop and
    # refuses every ORM call in this thread with SynchronousOnlyOperation: the test's own, and
    # pytest-django's creating and flushing of the test database. There is no real concurrency
    # (the loop only runs while a Playwright call waits), so the guard is off for as long as
    # Playwright runs. A per-test monkeypatch.setenv is not enough: pytest-django flushes the
    # database after it is undone, and creates it after Chromium started (session fixtures first).
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        # The address the server thread's socket is bound to: IPv4, as Django's WSGIServer is.
        listening_ip = live_server.thread.httpd.server_address[0]
        args = chromium_args(live_server.thread.host, listening_ip)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        browser.close()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Runs the browser tests last, after pytest-django's own reordering (tryfirst).

    Why: once Playwright has started, the main thread looks as if it ran an asyncio loop (see
    `chromium`), and tests after it that call asyncio.run() or async_to_sync() would fail.
    """
    items.sort(key=lambda item: "chromium" in getattr(item, "fixturenames", ()))


CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps whether the test's body failed, so `browser_page` can screenshot a failure."""
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


@pytest.fixture
def browser_page(request: pytest.FixtureRequest, chromium: Browser, live_server: LiveServer) -> Iterator[BrowserPage]:
    """A fresh phone-sized, Ukrainian browser tab on the live server; checks for outside requests
    and for anything the Content-Security-Policy blocked, after."""
    context = chromium.new_context(viewport=PHONE_VIEWPORT, locale="uk-UA", color_scheme="light")
    context.set_default_timeout(TIMEOUT_MS)
    screenshot_dir = artifacts_dir() / "screenshots" / file_safe(request.node.name)
    shutil.rmtree(screenshot_dir, ignore_errors=True)  # only this run's screenshots
    tab = BrowserPage(page=context.new_page(), server_url=live_server.url, screenshot_dir=screenshot_dir)
    # Context-wide, so requests of popups and frames count too.
    context.on("request", lambda req: tab.requests.append(req.url))
    tab.page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and tab.csp_violations.append(message.text),
    )
    try:
        yield tab
        if request.node.stash.get(CALL_FAILED, False):
            tab.shot("failure")
        outside = tab.outside_requests()
        assert not outside, f"the browser requested outside hosts: {outside}"
        assert not tab.csp_violations, f"the Content-Security-Policy blocked: {tab.csp_violations}"
    finally:
        context.close()
