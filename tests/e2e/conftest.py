"""Browser fixtures: one real server with the demo company, one headless Chromium, a fresh
browser context per page.

Playwright cannot download browsers here, so Debian's Chromium (or ``ATRIUM_TEST_CHROMIUM``) is
launched directly with the flags of STACK-NOTES trap 6. Without it these tests are skipped,
except under ``CI=true``, where a missing browser fails the run. The async API is used because
the suite runs every test on one session-wide asyncio loop, inside which the sync API refuses to
work.

Every page records console errors, uncaught exceptions and CSP violations (an init script turns
each ``securitypolicyviolation`` event into a console error), so a test can assert the page ran
cleanly with ``tab.assert_clean()``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, ViewportSize, async_playwright
from sqlalchemy import select

from domain.db import Database
from domain.demo.logins import DEMO_LOGINS
from domain.people.models import User
from domain.records.relations import Account, Contact
from tests.conftest import IN_CI
from tests.server import Server, atrium_env, prepare, serve

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
SCREENSHOT_DIR = Path("/tmp/atrium-shots")  # noqa: S108 - for people to look at, not committed

REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


def chromium_executable() -> str:
    """Chromium to drive: ``ATRIUM_TEST_CHROMIUM`` if set (it must exist), else Debian's."""
    configured = os.environ.get("ATRIUM_TEST_CHROMIUM")
    if configured:
        if not shutil.which(configured):
            pytest.fail(f"ATRIUM_TEST_CHROMIUM={configured} is not an executable", pytrace=False)
        return configured
    for candidate in CHROMIUM_CANDIDATES:
        if shutil.which(candidate):
            return candidate
    message = "Chromium is not installed (run `make chromium`, or set ATRIUM_TEST_CHROMIUM)"
    if IN_CI:
        pytest.fail(f"CI=true: {message}; the browser tests must run", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``atrium serve`` on SQLite, migrated and loaded with the demo company by the CLI."""
    env = atrium_env(tmp_path_factory.mktemp("e2e"))
    prepare(env)
    with serve(env) as running:
        yield running


@pytest.fixture(scope="session")
async def account_names(e2e_server: Server) -> dict[str, str]:
    """The account each external demo login belongs to, by email, read from the server's
    database."""
    data_dir = e2e_server.log_path.parent
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'atrium.sqlite3'}")
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(User.email, Account.name)
                .join(Contact, Contact.user_id == User.id)
                .join(Account, Account.id == Contact.account_id)
                .where(User.email.in_([login.email for login in DEMO_LOGINS]))
            )
            return {email: name for email, name in rows}
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_executable()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Tab:
    """A page in a browser context of its own, with what went wrong on it so far."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.problems == [], "the page logged errors:\n" + "\n".join(self.problems)


OpenTab = Callable[..., Awaitable[Tab]]


@pytest.fixture
async def open_tab(browser: Browser, e2e_server: Server) -> AsyncIterator[OpenTab]:
    """Open a new tab with its own cookies: ``await open_tab(viewport=PHONE)``."""
    contexts = []

    async def factory(viewport: ViewportSize = DESKTOP) -> Tab:
        context = await browser.new_context(
            base_url=e2e_server.base_url,
            viewport=viewport,
            locale="en-US",
        )
        contexts.append(context)
        context.set_default_timeout(10_000)
        await context.add_init_script(REPORT_CSP_VIOLATIONS)
        page = await context.new_page()
        tab = Tab(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            where = message.location.get("url", "")
            tab.problems.append(f"console error at {where}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: tab.problems.append(f"uncaught: {exc}"))
        return tab

    yield factory
    for context in contexts:
        await context.close()
