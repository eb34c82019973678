"""Headless Chromium (the Debian package) driven by Playwright against a real uvicorn server.

One server per module on an analysed demo subdistrict in SpatiaLite. Every page the tests open
routes any request to another host into a failure and records it; console errors and uncaught
exceptions are recorded too, and a test fails if any were seen.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from servers import ADMIN, PASSWORD, demo_database, require, start_server

CHROMIUM = os.environ.get("GRIDMAP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# what a sandboxed, offline machine needs: no background calls home, no GPU, root allowed
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTEFACTS = Path(os.environ.get("GRIDMAP_ARTEFACTS", Path(__file__).parents[2] / "test-artifacts"))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    """URL of a SpatiaLite file with the demo subdistrict, loaded and analysed."""
    return demo_database(f"sqlite:///{tmp_path_factory.mktemp('webdemo') / 'demo.db'}")


@pytest.fixture(scope="module")
def demo_server(demo_db) -> Iterator[str]:
    """Base URL of a real server on the demo subdistrict."""
    proc, base = start_server(demo_db)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        require(False, "playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Watched:
    """A page plus what it asked of other hosts and what it complained about."""

    def __init__(self, page, base: str):
        self.page = page
        self.base = base
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.expected: list[str] = []  # console errors a test provokes on purpose (e.g. a 409)

    def open(self, path: str = "/map"):
        self.page.goto(self.base + path)
        self.page.wait_for_function("document.getElementById('map').dataset.ready === '1'")
        return self.page

    def data(self, name: str) -> str | None:
        return self.page.evaluate(f"document.getElementById('map').dataset[{name!r}] ?? null")

    def wait_view(self) -> None:
        """Until the layers and gaps of the map's present view are in (map-layers.js marks the
        view whose requests have all answered)."""
        self.page.wait_for_function(
            "document.getElementById('map').dataset.viewLoaded === gridmapKit.viewKey(gridmap.map)"
        )

    def shot(self, name: str) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / name
        self.page.screenshot(path=str(path))
        return path


def _watch(context, base: str) -> Watched:
    page = context.new_page()
    watched = Watched(page, base)
    own = urlsplit(base).netloc

    def route(r):
        url = r.request.url
        if urlsplit(url).netloc == own or url.startswith("data:"):
            r.continue_()
        else:
            watched.outside.append(url)
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and watched.errors.append(m.text))
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    return watched


def log_in(context, base: str, name: str = ADMIN) -> None:
    """Log ``context`` in through the login form (its cookie jar keeps the session)."""
    import re

    form = context.request.get(base + "/login").text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = context.request.post(
        base + "/login", form={"name": name, "password": PASSWORD, "csrf": csrf, "next": "/api/me"}
    )
    assert answer.ok and answer.json()["name"] == name, answer.text()


def _page(browser, base: str, account: str | None = ADMIN, **context_options) -> Iterator[Watched]:
    context = browser.new_context(locale="zh-CN", **context_options)
    if account:
        log_in(context, base, account)
    watched = _watch(context, base)
    yield watched
    context.close()
    assert watched.outside == [], f"requests to other hosts: {watched.outside}"
    errors = [e for e in watched.errors if not any(x in e for x in watched.expected)]
    assert errors == [], f"console errors: {errors}"


@pytest.fixture
def desktop(browser, demo_server) -> Iterator[Watched]:
    yield from _page(browser, demo_server, viewport={"width": 1366, "height": 860})


@pytest.fixture
def phone(browser, demo_server) -> Iterator[Watched]:
    yield from _page(
        browser, demo_server, viewport={"width": 390, "height": 844}, is_mobile=True,
        has_touch=True, device_scale_factor=2,
    )  # fmt: skip


@pytest.fixture(scope="module")
def desk(browser, demo_server) -> Iterator[Watched]:
    """One desktop page shared by a module's tests (keeps a long module quick)."""
    yield from _page(browser, demo_server, viewport={"width": 1366, "height": 860})


@pytest.fixture(scope="module")
def handset(browser, demo_server) -> Iterator[Watched]:
    """One phone page (390 × 844, touch) shared by a module's tests."""
    yield from _page(
        browser, demo_server, viewport={"width": 390, "height": 844}, is_mobile=True,
        has_touch=True, device_scale_factor=2,
    )  # fmt: skip


@pytest.fixture
def planner(browser, demo_server) -> Iterator[Watched]:
    """A planner of the demo subdistrict at a desktop."""
    yield from _page(browser, demo_server, "规划员甲", viewport={"width": 1366, "height": 860})


@pytest.fixture
def tablet_planner(browser, demo_server) -> Iterator[Watched]:
    """A planner of the demo subdistrict on a touch tablet (1024 × 768)."""
    yield from _page(browser, demo_server, "规划员甲", viewport={"width": 1024, "height": 768}, has_touch=True)  # fmt: skip


@pytest.fixture
def other_desktop(browser, demo_server) -> Iterator[Watched]:
    """A second, independent browser session (another planner)."""
    yield from _page(browser, demo_server, "规划员乙", viewport={"width": 1280, "height": 800})


@pytest.fixture
def anonymous(browser, demo_server) -> Iterator[Watched]:
    """A browser that has not logged in."""
    yield from _page(browser, demo_server, None, viewport={"width": 1280, "height": 800})


@pytest.fixture
def page_at(browser):
    """Open watched pages on another server (started by the test with other settings)."""
    contexts = []

    def open_at(base: str, account: str = ADMIN) -> Watched:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 700})
        contexts.append(context)
        log_in(context, base, account)
        return _watch(context, base)

    yield open_at
    for context in contexts:
        context.close()
