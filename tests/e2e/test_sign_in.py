"""Signing in and out in a real browser, as each kind of demo visitor, on desktop and phone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, ViewportSize, expect

from domain.demo.logins import ADMIN, CUSTOMER, DEMO_PASSWORD, EMPLOYEE, PARTNER, DemoLogin
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOT_DIR, OpenTab
from tests.server import Server

pytestmark = pytest.mark.e2e

LOGIN_URL = re.compile(r"/login(\?.*)?$")


async def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def sign_out(page: Page) -> None:
    await page.locator("details.profile-menu > summary").click()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(LOGIN_URL)


async def htmx_loaded(page: Page) -> bool:
    loaded: bool = await page.evaluate("typeof window.htmx !== 'undefined'")
    return loaded


async def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0 when it fits)."""
    overflow: int = await page.evaluate(
        "Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )
    return overflow


@pytest.mark.parametrize(
    "login", [ADMIN, EMPLOYEE, CUSTOMER, PARTNER], ids=lambda x: x.email.split("@")[0]
)
async def test_each_demo_user_signs_in_and_out(
    open_tab: OpenTab, e2e_server: Server, account_names: dict[str, str], login: DemoLogin
) -> None:
    tab = await open_tab()
    page = tab.page
    await page.goto("/")
    await expect(page).to_have_url(f"{e2e_server.base_url}/login?next=/")
    assert await htmx_loaded(page)

    await sign_in(page, login.email)
    await expect(page).to_have_url(f"{e2e_server.base_url}/")
    main = page.locator("main")
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {login.name}")
    await expect(page.locator("details.profile-menu .who")).to_have_text(login.name)
    if login in (ADMIN, EMPLOYEE):
        await expect(main.get_by_role("heading", name="The company at a glance")).to_be_visible()
        await expect(main.get_by_role("heading", name="My projects")).to_be_visible()
        if login is EMPLOYEE:  # a project leader; the admin need not be on any project
            await expect(main.locator("table.list tbody tr").first).to_be_visible()
        await expect(page.get_by_role("navigation", name="Main")).to_contain_text("Records")
    elif login is CUSTOMER:
        await expect(main).to_contain_text(account_names[login.email])
        await expect(main.get_by_role("heading", name="Your invoices")).to_be_visible()
        for tile in ("Open invoices", "Overdue invoices", "Paid invoices"):
            await expect(main.locator(".tile .label", has_text=tile)).to_be_visible()
        await expect(main.get_by_role("heading", name="Your projects")).to_be_visible()
    else:
        await expect(main).to_contain_text(account_names[login.email])
        projects = main.get_by_role("heading", name="Projects we work on together")
        await expect(projects).to_be_visible()
        await expect(main.locator("table.list tbody tr").first).to_be_visible()
        await expect(main).not_to_contain_text("Your invoices")
    if login in (CUSTOMER, PARTNER):
        await expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("Records")
    assert await htmx_loaded(page)

    await sign_out(page)
    await page.goto("/")
    await expect(page).to_have_url(LOGIN_URL)
    tab.assert_clean()


async def test_wrong_password_shows_the_error(open_tab: OpenTab, e2e_server: Server) -> None:
    tab = await open_tab()
    page = tab.page
    await page.goto("/login")
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await sign_in(page, EMPLOYEE.email, "not-the-password")
    assert (await answer.value).status == 400
    await expect(page.get_by_role("alert")).to_have_text(
        "The email address or password is not correct."
    )
    await expect(page.get_by_label("Email address")).to_have_value(EMPLOYEE.email)
    await expect(page.get_by_label("Password")).to_have_value("")
    await page.goto("/")
    await expect(page).to_have_url(LOGIN_URL)
    # Chromium logs the 400 answer to the form post itself as a failed resource; nothing else.
    form_post = f"console error at {e2e_server.base_url}/login: Failed to load resource"
    unexpected = [p for p in tab.problems if not (p.startswith(form_post) and "400" in p)]
    assert unexpected == [], unexpected


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_layout_fits_the_window(open_tab: OpenTab, viewport: ViewportSize) -> None:
    tab = await open_tab(viewport)
    page = tab.page
    await page.goto("/login")
    assert await horizontal_overflow(page) == 0, "the sign-in page scrolls sideways"

    await sign_in(page, EMPLOYEE.email)
    await expect(page.get_by_role("heading", name="The company at a glance")).to_be_visible()
    assert await horizontal_overflow(page) == 0, "the home page scrolls sideways"
    await expect(page.locator("details.profile-menu > summary")).to_be_visible()

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    name = "phone" if viewport == PHONE else "desktop"
    await page.screenshot(path=SCREENSHOT_DIR / f"staff-home-{name}.png", full_page=True)

    await sign_out(page)
    tab.assert_clean()


async def test_the_page_watch_catches_csp_violations(open_tab: OpenTab) -> None:
    """The check the other tests rely on: an inline script without the nonce is blocked by the
    Content-Security-Policy, and the tab records it."""
    tab = await open_tab()
    await tab.page.goto("/login")
    tab.assert_clean()
    async with tab.page.expect_console_message(lambda m: "CSP violation" in m.text):
        await tab.page.evaluate(
            """() => {
              const script = document.createElement("script");
              script.textContent = "window.injected = true";
              document.body.append(script);
            }"""
        )
    assert any("CSP violation: script-src" in p for p in tab.problems), tab.problems
    assert await tab.page.evaluate("window.injected === undefined")
