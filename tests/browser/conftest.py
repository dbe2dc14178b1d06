"""Browser tests: Debian's Chromium driven by Playwright against a live gunicorn server.

Chromium cannot be downloaded here, so Playwright launches ``/usr/bin/chromium``. Without it
the tests skip locally and fail in CI (``CI=true``), where ``.ci/run`` installs it.
"""

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.demo.services import allow_demo_site
from dashboard.extensions import db
from tests.browser.helpers import JOURNEY_CONTACTS, seed_demo_store
from tests.live_server import free_port, gunicorn
from tests.tracking_helpers import BROWSER_UA

CHROMIUM = os.environ.get("DASHBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def playwright_browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(playwright_browser):
    # A regular desktop user agent: the tracker drops HeadlessChrome as a bot, as it should.
    context = playwright_browser.new_context(
        user_agent=BROWSER_UA, viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


def _serve(app, tmp_path):  # type: ignore[no-untyped-def]
    return gunicorn(
        app.config["DATABASE_URL"],
        str(tmp_path),
        workers=2,
        TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE="100000",
    )


@pytest.fixture
def live_server(app, tmp_path) -> Iterator[str]:
    """The dashboard under gunicorn (2 workers) over the test database."""
    with _serve(app, tmp_path) as base:
        yield base


@pytest.fixture
def demo_server(app, tmp_path, request) -> Iterator[str]:
    """The dashboard under gunicorn over a store seeded with demo data (``JOURNEY_CONTACTS``
    contacts, or the fixture's ``indirect`` parameter), as ``make run`` shows it; the demo
    website channels accept the server's own origin, as ``setup --url`` makes them."""
    seed_demo_store(getattr(request, "param", JOURNEY_CONTACTS))
    with _serve(app, tmp_path) as base:
        allow_demo_site(base)
        db.session.rollback()  # hold no SQLite read lock while the server writes
        yield base


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def other_origin(tmp_path) -> Iterator[tuple[str, Path]]:
    """A static web server on another origin (``localhost`` rather than ``127.0.0.1``, so even
    cookies are separate); yields its base URL and the folder it serves."""
    root = tmp_path / "site"
    root.mkdir()
    port = free_port()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}", root
    finally:
        server.shutdown()
        server.server_close()
