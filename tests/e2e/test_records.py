"""Record cards in a real browser: a customer clicking from the portal home to an invoice and on
to its project, staff walking Records → account → invoices → invoice and editing a project from
its card, and the account and invoice cards on a phone.

The clicks under test follow links and buttons by their role and text, as a person would. Ids are
read from the server's demo database only where a person would have typed a URL (another
account's card) or to pick a project no other test leans on. The staff test changes that
project's status and sets it back; should the test fail halfway, the ``quiet_project`` fixture
restores the status in the database so the shared server stays as the other tests expect it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy import select, update

from domain.db import Database
from domain.demo.logins import CUSTOMER, DEMO_LOGINS, EMPLOYEE, DemoLogin
from domain.people.models import User
from domain.records.org import Employee
from domain.records.projects import Project, ProjectMember, ProjectPartner, ProjectStatus
from domain.records.relations import Account, AccountType, Contact
from tests.e2e.conftest import PHONE, SCREENSHOT_DIR, OpenTab, Tab
from tests.e2e.test_sign_in import horizontal_overflow, sign_in
from tests.server import Server

pytestmark = pytest.mark.e2e

CUSTOMER_CODE = "C10001"
STATUS_LABELS = {
    ProjectStatus.PLANNED: "Planned",
    ProjectStatus.ACTIVE: "Active",
    ProjectStatus.ON_HOLD: "On hold",
    ProjectStatus.COMPLETED: "Completed",
    ProjectStatus.CANCELLED: "Cancelled",
}
INVOICE_STATUS = re.compile(r"^(Open|Overdue|Paid)$")
NOT_FOUND_MESSAGE = "This page does not exist, or you do not have access to it."
SAVED_NOTICE = "Your changes have been saved. The Data Log below shows them."
NOT_SAVED_ALERT = "The changes were not saved. Correct the fields marked below."
END_BEFORE_START = "The end date is before the start date."


@dataclass(frozen=True)
class AccountRef:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class ProjectRef:
    id: int
    code: str
    name: str
    status: ProjectStatus


def database_of(server: Server) -> Database:
    return Database(f"sqlite+aiosqlite:///{server.log_path.parent / 'atrium.sqlite3'}")


async def account_by_code(server: Server, code: str) -> AccountRef:
    db = database_of(server)
    try:
        async with db.session() as session:
            account = (
                await session.execute(select(Account).where(Account.code == code))
            ).scalar_one()
            return AccountRef(account.id, account.code, account.name)
    finally:
        await db.dispose()


@pytest.fixture
async def other_account(e2e_server: Server) -> AccountRef:
    """The first customer account (by code) that is not the customer login's own."""
    db = database_of(e2e_server)
    try:
        async with db.session() as session:
            account = (
                await session.execute(
                    select(Account)
                    .where(Account.type == AccountType.CUSTOMER, Account.code != CUSTOMER_CODE)
                    .order_by(Account.code)
                    .limit(1)
                )
            ).scalar_one()
            return AccountRef(account.id, account.code, account.name)
    finally:
        await db.dispose()


@pytest.fixture
async def quiet_project(e2e_server: Server) -> AsyncIterator[ProjectRef]:
    """An active project with both dates set that no demo login is tied to: not of their
    accounts (as customer or partner), not managed by or staffed with a demo employee. The last
    such one by id, so a test picking "the first" elsewhere does not collide with this one.

    Afterwards its status is put back in the database if the test left it changed."""
    logins = select(User.id).where(User.email.in_([login.email for login in DEMO_LOGINS]))
    login_accounts = select(Contact.account_id).where(Contact.user_id.in_(logins))
    login_employees = select(Employee.id).where(Employee.user_id.in_(logins))
    db = database_of(e2e_server)
    try:
        async with db.session() as session:
            project = (
                await session.execute(
                    select(Project)
                    .where(
                        Project.status == ProjectStatus.ACTIVE,
                        Project.start_date.is_not(None),
                        Project.end_date.is_not(None),
                        Project.account_id.not_in(login_accounts),
                        Project.manager_id.is_(None) | Project.manager_id.not_in(login_employees),
                        Project.id.not_in(
                            select(ProjectPartner.project_id).where(
                                ProjectPartner.account_id.in_(login_accounts)
                            )
                        ),
                        Project.id.not_in(
                            select(ProjectMember.project_id).where(
                                ProjectMember.employee_id.in_(login_employees)
                            )
                        ),
                    )
                    .order_by(Project.id.desc())
                    .limit(1)
                )
            ).scalar_one()
            ref = ProjectRef(project.id, project.code, project.name, project.status)
        yield ref
        async with db.transaction() as session:
            await session.execute(
                update(Project)
                .where(Project.id == ref.id, Project.status != ref.status)
                .values(status=ref.status)
            )
    finally:
        await db.dispose()


def problems_besides(tab: Tab, base_url: str, answers: dict[str, int]) -> list[str]:
    """The tab's problems, without Chromium's "Failed to load resource" line for each expected
    error answer (path → status): the browser logs those for any 4xx document."""
    expected = [
        (f"console error at {base_url}{path}: Failed to load resource", f"status of {status}")
        for path, status in answers.items()
    ]
    return [
        p
        for p in tab.problems
        if not any(p.startswith(start) and status in p for start, status in expected)
    ]


def section(page: Page, heading: str) -> Locator:
    """A card section of the main content, by its heading."""
    return page.locator("main").get_by_role("region", name=re.compile(rf"^{re.escape(heading)}\b"))


def facts_value(page: Page, term: str) -> Locator:
    """The value (``dd``) of a fact of the card, by its term (``dt``)."""
    return page.locator("main dl.facts").locator(f"dt:text-is('{term}') + dd")


async def sign_in_at_home(page: Page, login: DemoLogin) -> None:
    await page.goto("/")
    await sign_in(page, login.email)
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {login.name}")


async def open_invoice_with_project(page: Page, invoices: Locator) -> str:
    """Click the invoices of a table in turn, coming back each time, until one shows a project;
    leave that invoice's card open and return its number. The list's order is fixed for the
    day's demo data, so this always ends on the same invoice."""
    numbers = await invoices.get_by_role("link").all_inner_texts()
    assert numbers, "the list shows no invoices"
    for number in numbers:
        await invoices.get_by_role("link", name=number, exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(number)
        if await facts_value(page, "Project").count():
            return number
        await page.go_back()
    return ""


async def test_customer_follows_an_invoice_to_its_project(
    open_tab: OpenTab, e2e_server: Server, other_account: AccountRef
) -> None:
    tab = await open_tab()
    page = tab.page
    own = await account_by_code(e2e_server, CUSTOMER_CODE)
    await sign_in_at_home(page, CUSTOMER)

    recent = section(page, "Your invoices").get_by_role("table")
    await expect(recent.get_by_role("row")).not_to_have_count(0)
    number = await open_invoice_with_project(page, recent)
    if not number:  # none of the recent ones has a project: look through all of them
        await page.get_by_role("link", name="Your account card").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(own.name)
        number = await open_invoice_with_project(
            page, section(page, "Invoices").get_by_role("table")
        )
    assert number, f"no invoice of {own.code} on the account card has a project"

    # The invoice card: number, status, customer, lines with their totals.
    main = page.locator("main")
    await expect(page).to_have_title(f"Invoice {number} · Atrium")
    await expect(main.locator(".record-head .badge")).to_have_text(INVOICE_STATUS)
    await expect(facts_value(page, "Customer")).to_contain_text(own.name)
    lines = section(page, "Lines").get_by_role("table")
    await expect(lines.locator("tbody tr")).not_to_have_count(0)
    await expect(lines.locator("tbody tr").first.locator("td").first).not_to_be_empty()
    await expect(lines.locator("tfoot")).to_contain_text("Total")
    await expect(section(page, "Payments")).to_be_visible()

    # On to its project.
    project_link = facts_value(page, "Project").get_by_role("link")
    project_name = (await project_link.inner_text()).strip()
    await project_link.click()
    await expect(page.locator(".record-head .record-kind")).to_have_text("Project")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(project_name)
    await expect(facts_value(page, "Customer")).to_have_text(own.name)
    await expect(section(page, "Budget and realised")).to_be_visible()
    await expect(section(page, "Invoices")).to_be_visible()  # the customer's own project
    # Staff-only parts stay away from a customer.
    await expect(main.get_by_text("Edit project")).to_have_count(0)
    await expect(main.get_by_role("heading", name="Data Log")).to_have_count(0)
    tab.assert_clean()

    # Another customer's card, typed into the address bar, is a page that does not exist.
    path = f"/records/accounts/{other_account.id}"
    response = await page.goto(path)
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    await expect(main).to_contain_text(NOT_FOUND_MESSAGE)
    await expect(main).not_to_contain_text(other_account.name)
    await expect(main.get_by_role("link", name="Go to the home page")).to_be_visible()
    assert problems_besides(tab, e2e_server.base_url, {path: 404}) == []


async def test_staff_walk_from_records_to_an_invoice_and_edit_a_project(
    open_tab: OpenTab, e2e_server: Server, quiet_project: ProjectRef
) -> None:
    tab = await open_tab()
    page = tab.page
    main = page.locator("main")
    nav = page.get_by_role("navigation", name="Main")
    customer = await account_by_code(e2e_server, CUSTOMER_CODE)
    await sign_in_at_home(page, EMPLOYEE)

    # Records → Accounts → the customer, found with the list's search.
    await nav.get_by_role("link", name="Records").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Records")
    await main.get_by_role("link", name="Accounts", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    await main.get_by_label("Search").fill(CUSTOMER_CODE)
    await main.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(rf"[?&]q={CUSTOMER_CODE}\b"))
    await main.get_by_role("link", name=customer.name, exact=True).click()

    # The account card, with the staff's view of its invoices.
    await expect(page.get_by_role("heading", level=1)).to_contain_text(customer.name)
    await expect(page.get_by_role("heading", level=1)).to_contain_text(CUSTOMER_CODE)
    await expect(section(page, "Contacts")).to_contain_text(CUSTOMER.name)
    invoices = section(page, "Invoices")
    await expect(invoices.get_by_role("table")).to_be_visible()
    total = int(await invoices.locator("h2 .count").inner_text())
    shown = await invoices.get_by_role("table").locator("tbody tr").count()
    show_all = invoices.get_by_role("link", name=f"Show all {total}", exact=True)
    if shown < total:
        # The card shows the newest; "Show all" opens the invoice list of this customer.
        await show_all.click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Invoices")
        await expect(main.get_by_label("Customer")).to_have_value(str(customer.id))
        rows = main.locator("#rows tr")
        await expect(rows).not_to_have_count(0)
        customers = await main.locator("#rows td[data-label='Customer']").all_inner_texts()
        assert customers and {c.strip() for c in customers} == {customer.name}, customers
        first = rows.first.get_by_role("link").first
    else:
        await expect(show_all).to_have_count(0)
        first = invoices.get_by_role("table").get_by_role("link").first
    number = (await first.inner_text()).strip()
    await first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(number)
    await expect(facts_value(page, "Customer")).to_contain_text(customer.name)
    await expect(section(page, "Lines").locator("tbody tr")).not_to_have_count(0)

    # A project's card, found through Records → Projects.
    await nav.get_by_role("link", name="Records").click()
    await main.get_by_role("link", name="Projects", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Projects")
    await main.get_by_label("Search").fill(quiet_project.code)
    await main.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(rf"[?&]q={quiet_project.code}\b"))
    await main.get_by_role("link", name=quiet_project.name, exact=True).click()
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_contain_text(quiet_project.name)
    badge = main.locator(".record-head .badge")
    old_label = STATUS_LABELS[quiet_project.status]
    await expect(badge).to_have_text(old_label)
    log_rows = section(page, "Data Log").locator("tbody tr")
    logged = await log_rows.count()
    card_url = page.url

    # Change its status with the edit form.
    new_status = ProjectStatus.ON_HOLD
    new_label = STATUS_LABELS[new_status]
    await main.get_by_text("Edit project", exact=True).click()
    form = main.locator("details.record-edit form")
    status = form.get_by_label("Status")
    await expect(status).to_have_value(quiet_project.status.value)
    await status.select_option(label=new_label)
    await form.get_by_role("button", name="Save changes").click()
    await expect(main.get_by_role("status")).to_have_text(SAVED_NOTICE)
    await expect(badge).to_have_text(new_label)
    await expect(log_rows).to_have_count(logged + 1)
    newest = log_rows.first
    await expect(newest.locator("td[data-label='Who']")).to_have_text(EMPLOYEE.name)
    await expect(newest.locator("td[data-label='Field']")).to_have_text("Status")
    await expect(newest.locator(".change .old")).to_have_text(old_label)
    await expect(newest.locator(".change .new")).to_have_text(new_label)
    await expect(newest.locator("td[data-label='Change']")).to_have_text(
        f"{old_label} → {new_label}"
    )

    # A bad edit: the end date before the start date. A message at the field, nothing saved.
    end_shown = await facts_value(page, "End date").inner_text()
    await main.get_by_text("Edit project", exact=True).click()
    start = date.fromisoformat(await form.get_by_label("Start date").input_value())
    end = form.get_by_label("End date")
    await end.fill((start - timedelta(days=1)).isoformat())
    await form.get_by_role("button", name="Save changes").click()
    await expect(main.get_by_role("alert")).to_have_text(NOT_SAVED_ALERT)
    await expect(end).to_have_attribute("aria-invalid", "true")
    await expect(end).to_have_accessible_description(END_BEFORE_START)
    await expect(main.locator("#edit-end_date-error")).to_have_text(END_BEFORE_START)
    await expect(main.get_by_role("status")).to_have_count(0)
    await page.goto(card_url)  # the card as stored, not the form as sent
    await expect(facts_value(page, "End date")).to_have_text(end_shown)
    await expect(badge).to_have_text(new_label)
    await expect(log_rows).to_have_count(logged + 1)

    # Set the status back, so the shared server is as the other tests expect it.
    await main.get_by_text("Edit project", exact=True).click()
    await form.get_by_label("Status").select_option(label=old_label)
    await form.get_by_role("button", name="Save changes").click()
    await expect(main.get_by_role("status")).to_have_text(SAVED_NOTICE)
    await expect(badge).to_have_text(old_label)
    await expect(log_rows).to_have_count(logged + 2)
    await expect(log_rows.first.locator("td[data-label='Change']")).to_have_text(
        f"{new_label} → {old_label}"
    )

    post = f"/records/projects/{quiet_project.id}"
    assert problems_besides(tab, e2e_server.base_url, {post: 422}) == []


@pytest.mark.parametrize("login", [EMPLOYEE, CUSTOMER], ids=["staff", "customer"])
async def test_account_and_invoice_cards_fit_a_phone(
    open_tab: OpenTab, e2e_server: Server, login: DemoLogin
) -> None:
    tab = await open_tab(PHONE)
    page = tab.page
    customer = await account_by_code(e2e_server, CUSTOMER_CODE)
    await sign_in_at_home(page, login)
    who = login.email.split("@")[0]
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    await page.goto(f"/records/accounts/{customer.id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(customer.name)
    await page.screenshot(path=SCREENSHOT_DIR / f"account-card-{who}-phone.png", full_page=True)
    assert await horizontal_overflow(page) == 0, "the account card scrolls sideways"

    invoice = section(page, "Invoices").get_by_role("table").get_by_role("link").first
    number = (await invoice.inner_text()).strip()
    await invoice.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(number)
    await page.screenshot(path=SCREENSHOT_DIR / f"invoice-card-{who}-phone.png", full_page=True)
    assert await horizontal_overflow(page) == 0, "the invoice card scrolls sideways"
    tab.assert_clean()
