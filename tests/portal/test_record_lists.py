"""Record list pages, the records index and the people directory, through HTTP on the demo
company: filters, sorting, keyset pagination with and without htmx, bad input, and what
customers and partners may list."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from domain.db import Database
from domain.demo import DEMO_PASSWORD, load_demo
from domain.people.models import User
from domain.records.invoicing import Invoice, InvoiceStatus, invoice_status
from domain.records.org import Department, Employee, EmployeeSkill
from domain.records.projects import Project, ProjectPartner, ProjectStatus
from domain.records.relations import Account, AccountType, Contact
from tests.conftest import login

ADMIN = "admin@example.com"
EMPLOYEE = "employee@example.com"
CUSTOMER = "customer@example.com"
PARTNER = "partner@example.com"

SignIn = Callable[[str], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def demo(db: Database) -> Database:
    await load_demo(db, social=False)
    return db


@pytest.fixture
def sign_in(demo: Database, make_client: Callable[[], httpx.AsyncClient]) -> SignIn:
    """A browser of its own, signed in as one of the demo logins."""

    async def signed_in(email: str) -> httpx.AsyncClient:
        client = make_client()
        response = await login(client, email, DEMO_PASSWORD)
        assert response.status_code == 303, f"demo login {email} failed"
        return client

    return signed_in


async def scalar(db: Database, stmt: Any) -> Any:
    async with db.session() as session:
        return await session.scalar(stmt)


async def scalars(db: Database, stmt: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.scalars(stmt)).all())


async def account_of(db: Database, email: str) -> int:
    account: int = await scalar(
        db,
        select(Contact.account_id)
        .join(User, User.id == Contact.user_id)
        .where(User.email == email),
    )
    return account


# --- reading the HTML -----------------------------------------------------------------------------


class Rows(HTMLParser):
    """The data rows of a list table (or a rows fragment) as {column label: text}, the ids the
    rows link to, the headers' sort links, and the "Load more" link."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.ids: list[int] = []
        self.more: str | None = None
        self.more_hx: str | None = None
        self.headers: dict[str, dict[str, str]] = {}
        self._cell: str | None = None
        self._text: list[str] = []
        self._row: dict[str, str] | None = None
        self._th: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and "class" not in a:
            self._row = {}
        elif tag == "td" and self._row is not None and "data-label" in a:
            self._cell, self._text = a["data-label"], []
        elif tag == "th":
            self._th = {"aria-sort": a.get("aria-sort", "")}
            self._text = []
        elif tag == "a" and "more" in a.get("class", "").split():
            self.more, self.more_hx = a["href"], a.get("hx-get")
        elif tag == "a" and self._th is not None:
            self._th["href"] = a["href"]
        elif tag == "a" and self._cell is not None and "/records/" in a.get("href", ""):
            self.ids.append(int(a["href"].rstrip("/").rsplit("/", 1)[1]))

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row[self._cell] = " ".join("".join(self._text).split())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.rows.append(self._row)
            self._row = None
        elif tag == "th" and self._th is not None:
            label = " ".join("".join(self._text).replace("▲", "").replace("▼", "").split())
            self.headers[label] = self._th
            self._th = None


def rows_of(html: str) -> Rows:
    parser = Rows()
    parser.feed(html)
    return parser


async def walk(client: httpx.AsyncClient, url: str, *, htmx: bool = False) -> list[Rows]:
    """Every page of a list, following "Load more" — as a plain link, or as htmx does."""
    pages = []
    headers: dict[str, str] = {}
    while url:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text[:500])
        page = rows_of(response.text)
        pages.append(page)
        url = (page.more_hx if htmx else page.more) or ""
        if htmx:
            headers = {"HX-Request": "true"}
    return pages


def all_ids(pages: list[Rows]) -> list[int]:
    return [i for page in pages for i in page.ids]


def column(pages: list[Rows], label: str) -> list[str]:
    return [row.get(label, "") for page in pages for row in page.rows]


def text_of(html: str) -> str:
    main = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", main.group(1) if main else html).split())


# --- the index ------------------------------------------------------------------------------------


async def test_the_records_index_links_every_kind_for_staff(sign_in: SignIn) -> None:
    client = await sign_in(EMPLOYEE)
    response = await client.get("/records")
    assert response.status_code == 200
    for slug in ("accounts", "contacts", "projects", "employees", "invoices", "items"):
        assert f'href="http://testserver/records/{slug}"' in response.text
    assert (await client.get("/records/nonsense")).status_code == 404


async def test_externals_have_no_records_index_and_no_staff_only_lists(sign_in: SignIn) -> None:
    for email in (CUSTOMER, PARTNER):
        client = await sign_in(email)
        assert (await client.get("/records")).status_code == 404
        assert (await client.get("/people")).status_code == 404
        for slug in ("accounts", "items"):
            assert (await client.get(f"/records/{slug}")).status_code == 404
        for slug in ("invoices", "projects", "employees", "contacts"):
            assert (await client.get(f"/records/{slug}")).status_code == 200


async def test_anonymous_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/records", "/records/invoices", "/people", "/records/invoices/export.csv"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


# --- filters --------------------------------------------------------------------------------------


async def test_invoice_status_filter_agrees_with_invoice_status(
    demo: Database, sign_in: SignIn
) -> None:
    client = await sign_in(ADMIN)
    today = date.today()
    async with demo.session() as session:
        invoices = (await session.execute(select(Invoice))).scalars().all()
        status_of = {
            i.id: invoice_status(i.total_cents, i.paid_cents, i.due_date, today) for i in invoices
        }
    expected = {s: {i for i, status in status_of.items() if status is s} for s in InvoiceStatus}
    for status in (InvoiceStatus.OVERDUE, InvoiceStatus.OPEN):
        pages = await walk(client, f"/records/invoices?status={status.value}")
        ids = all_ids(pages)
        assert len(ids) == len(set(ids))
        assert set(ids) == expected[status]
        label = {"overdue": "Overdue", "open": "Open"}[status.value]
        assert set(column(pages, "Status")) == {label}
    # The biggest set through the API, a page of 200 at a time.
    paid: list[int] = []
    url: str | None = "/api/v1/invoices?status=paid&limit=200"
    while url:
        body = (await client.get(url)).json()
        paid += [item["id"] for item in body["items"]]
        assert {item["status"] for item in body["items"]} <= {"paid"}
        url = body["next"] and f"/api/v1/invoices?status=paid&limit=200&cursor={body['next']}"
    assert sorted(paid) == sorted(expected[InvoiceStatus.PAID])


async def test_invoices_filter_by_account_period_and_search(
    demo: Database, sign_in: SignIn
) -> None:
    client = await sign_in(ADMIN)
    account = await account_of(demo, CUSTOMER)
    first_of_year = date(date.today().year, 1, 1)
    expected = set(
        await scalars(
            demo,
            select(Invoice.id).where(
                Invoice.account_id == account, Invoice.issue_date >= first_of_year
            ),
        )
    )
    pages = await walk(
        client, f"/records/invoices?account={account}&from={first_of_year.isoformat()}"
    )
    assert set(all_ids(pages)) == expected and expected
    until = date(date.today().year - 1, 12, 31)
    pages = await walk(client, f"/records/invoices?account={account}&to={until.isoformat()}")
    assert set(all_ids(pages)).isdisjoint(expected)
    number = await scalar(demo, select(Invoice.number).where(Invoice.id == min(expected)))
    pages = await walk(client, f"/records/invoices?q={number.lower()}")
    assert all_ids(pages) == [min(expected)]


async def test_project_account_employee_contact_and_item_filters(
    demo: Database, sign_in: SignIn
) -> None:
    client = await sign_in(EMPLOYEE)
    active = set(
        await scalars(demo, select(Project.id).where(Project.status == ProjectStatus.ACTIVE))
    )
    pages = await walk(client, "/records/projects?status=active")
    assert set(all_ids(pages)) == active and active
    assert set(column(pages, "Status")) == {"Active"}

    partners = await scalar(demo, select(func.count()).where(Account.type == AccountType.PARTNER))
    assert len(all_ids(await walk(client, "/records/accounts?type=partner"))) == partners

    department = await scalar(demo, select(Department.id).where(Department.name == "Verkoop"))
    in_department = set(
        await scalars(demo, select(Employee.id).where(Employee.department_id == department))
    )
    pages = await walk(client, f"/records/employees?department={department}")
    assert set(all_ids(pages)) == in_department and in_department
    assert set(column(pages, "Department")) == {"Verkoop"}

    skilled = set(
        await scalars(demo, select(EmployeeSkill.employee_id).where(EmployeeSkill.skill == "VCA"))
    )
    assert set(all_ids(await walk(client, "/records/employees?skill=vca"))) == skilled

    account = await account_of(demo, CUSTOMER)
    contacts = set(await scalars(demo, select(Contact.id).where(Contact.account_id == account)))
    assert set(all_ids(await walk(client, f"/records/contacts?account={account}"))) == contacts

    pages = await walk(client, "/records/items?unit=uur")
    assert len(all_ids(pages)) == 8
    assert set(column(pages, "Unit")) == {"uur"}


async def test_the_form_keeps_the_filters_and_offers_choices(
    demo: Database, sign_in: SignIn
) -> None:
    client = await sign_in(ADMIN)
    account = await account_of(demo, CUSTOMER)
    response = await client.get(f"/records/invoices?status=overdue&account={account}&q=INV")
    assert response.status_code == 200
    assert '<option value="overdue" selected>' in response.text
    assert f'<option value="{account}" selected>' in response.text
    assert 'name="q" value="INV"' in response.text
    # The export links carry the filters.
    exports = {fmt: href for href, fmt in re.findall(
        r'href="(/records/invoices/export\.(csv|xml)\?[^"]*)"', response.text)}  # fmt: skip
    for fmt in ("csv", "xml"):
        query = parse_qs(urlsplit(exports[fmt].replace("&amp;", "&")).query)
        assert query == {"status": ["overdue"], "account": [str(account)], "q": ["INV"]}
    # A filter the form has no control for (a card's "show all" link) is kept and can be dropped.
    project = await scalar(demo, select(Invoice.project_id).where(Invoice.project_id.is_not(None)))
    response = await client.get(f"/records/invoices?project={project}")
    assert f'<input type="hidden" name="project" value="{project}">' in response.text
    assert 'href="/records/invoices" aria-label="Remove this filter"' in response.text
    expected = set(await scalars(demo, select(Invoice.id).where(Invoice.project_id == project)))
    assert set(all_ids(await walk(client, f"/records/invoices?project={project}"))) == expected


# --- sorting and pagination -----------------------------------------------------------------------


async def test_sorting_both_directions(sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    ascending = await walk(client, "/records/projects?sort=end_date")
    descending = await walk(client, "/records/projects?sort=-end_date")
    assert all_ids(ascending) == list(reversed(all_ids(descending)))
    assert len(all_ids(ascending)) == 70
    up = rows_of((await client.get("/records/items?sort=price")).text)
    down = rows_of((await client.get("/records/items?sort=-price")).text)
    prices = [float(re.sub(r"[^\d.]", "", p)) for p in column([up], "Price")]
    assert prices == sorted(prices)
    prices = [float(re.sub(r"[^\d.]", "", p)) for p in column([down], "Price")]
    assert prices == sorted(prices, reverse=True)
    # The headers say how the table is sorted, and link to the other direction.
    assert up.headers["Price"]["aria-sort"] == "ascending"
    assert up.headers["Price"]["href"] == "/records/items?sort=-price"
    assert down.headers["Price"]["aria-sort"] == "descending"
    assert down.headers["Price"]["href"] == "/records/items?sort=price"
    assert up.headers["Code"] == {"aria-sort": "", "href": "/records/items?sort=code"}
    assert "href" not in up.headers["Unit"]  # not sortable


async def test_pagination_walks_every_row_exactly_once(demo: Database, sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    invoices = await scalar(demo, select(func.count()).select_from(Invoice))
    pages = await walk(client, "/records/invoices")
    ids = all_ids(pages)
    assert len(ids) == invoices == len(set(ids))
    assert all(len(page.ids) == 50 for page in pages[:-1])
    # Many rows share a city: the id breaks the ties, so nothing is skipped or repeated.
    accounts = await scalar(demo, select(func.count()).select_from(Account))
    for sort in ("city", "-city"):
        ids = all_ids(await walk(client, f"/records/accounts?sort={sort}", htmx=True))
        assert len(ids) == accounts == len(set(ids))


async def test_htmx_gets_the_rows_fragment_and_browsers_the_page(sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    full = await client.get("/records/contacts")
    assert full.status_code == 200
    assert full.headers["vary"] == "HX-Request"
    assert full.text.startswith("<!doctype html>")
    first = rows_of(full.text)
    assert first.more and first.more == first.more_hx
    assert 'hx-target="closest tr" hx-swap="outerHTML"' in full.text

    fragment = await client.get(first.more, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.headers["vary"] == "HX-Request"
    assert fragment.text.lstrip().startswith("<tr>")
    assert "<html" not in fragment.text and "<form" not in fragment.text
    second = rows_of(fragment.text)
    assert len(second.ids) == 50 and set(second.ids).isdisjoint(first.ids)

    # Without JavaScript the same link is a page of its own, with a way back to the start.
    plain = await client.get(first.more)
    assert plain.text.startswith("<!doctype html>")
    assert rows_of(plain.text).ids == second.ids
    assert 'href="/records/contacts">Back to the first page' in plain.text
    # A boosted navigation is a page too.
    boosted = await client.get(first.more, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert boosted.text.startswith("<!doctype html>")


# --- bad input ------------------------------------------------------------------------------------


def forged_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


BAD_QUERIES = [
    ("status=bogus", "This is not one of the allowed values."),
    ("from=2026-13-45", "Expected a date like 2026-01-31."),
    ("to=yesterday", "Expected a date like 2026-01-31."),
    ("account=abc", "Expected a whole number."),
    ("account=99999999999999999999", "Expected a whole number."),
    ("cursor=not-a-cursor", "This page link is no longer valid."),
    ("sort=; drop table invoices", "This is not one of the allowed values."),
    ("sort=--issue_date", "This is not one of the allowed values."),
    # Cursors made by hand, or for another sort: refused, never a database error.
    (f"cursor={forged_cursor('v', 'x', 1, '-issue_date')}", "no longer valid"),
    (f"cursor={forged_cursor('d', '2026-01-01', 2**40, '-issue_date')}", "no longer valid"),
    (f"sort=total&cursor={forged_cursor('v', 'x', 1, 'total')}", "no longer valid"),
    (f"sort=number&cursor={forged_cursor('v', 5, 1, 'number')}", "no longer valid"),
    (f"cursor={forged_cursor('d', '2026-01-01', 9, 'number')}", "no longer valid"),
    (f"cursor={forged_cursor('v', [1], 9, '-issue_date')}", "no longer valid"),
    (f"cursor={forged_cursor('v', 'x', 9)}", "no longer valid"),
]


async def test_bad_filters_re_render_the_page_with_a_message(sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    for query, says in BAD_QUERIES:
        response = await client.get(f"/records/invoices?{query}")
        assert response.status_code == 400, query
        assert response.headers["vary"] == "HX-Request"
        assert says in text_of(response.text), query
        assert '<form class="filters"' in response.text
        fragment = await client.get(f"/records/invoices?{query}", headers={"HX-Request": "true"})
        assert fragment.status_code == 400, query
        assert says in fragment.text, query
    # A project's status is another vocabulary, with the same answer.
    response = await client.get(
        "/records/projects?sort=status&cursor=" + forged_cursor("v", "x", 1, "status")
    )
    assert response.status_code == 400
    assert "no longer valid" in text_of(response.text)


async def test_a_bad_value_marks_its_field(sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    response = await client.get("/records/projects?status=done&manager=x")
    assert response.status_code == 400
    assert 'id="filter-status" name="status" aria-invalid="true"' in response.text
    response = await client.get("/records/invoices?from=31-01-2026")
    assert 'name="from" value="31-01-2026"' in response.text
    assert 'aria-invalid="true" aria-describedby="filter-from-error"' in response.text


async def test_every_kind_of_sort_key_paginates(demo: Database, sign_in: SignIn) -> None:
    """Sort keys of every type (text, enum, date with a stand-in for none) paginate in both
    directions on both databases."""
    client = await sign_in(ADMIN)
    projects = await scalar(demo, select(func.count()).select_from(Project))
    for sort in ("status", "-status", "account", "-name", "end_date"):
        ids = all_ids(await walk(client, f"/records/projects?sort={sort}"))
        assert len(ids) == projects == len(set(ids)), sort


# --- customers and partners -----------------------------------------------------------------------


async def test_a_customer_lists_only_their_own_rows(demo: Database, sign_in: SignIn) -> None:
    client = await sign_in(CUSTOMER)
    account = await account_of(demo, CUSTOMER)
    own = set(await scalars(demo, select(Invoice.id).where(Invoice.account_id == account)))
    pages = await walk(client, "/records/invoices")
    assert set(all_ids(pages)) == own and own
    # Another account's filter finds nothing of theirs, and no other account is offered.
    other = await scalar(demo, select(Account.id).where(Account.id != account))
    assert all_ids(await walk(client, f"/records/invoices?account={other}")) == []
    page = await client.get("/records/invoices")
    assert re.findall(r'<option value="(\d+)"', page.text) == [str(account)]

    projects = set(await scalars(demo, select(Project.id).where(Project.account_id == account)))
    assert set(all_ids(await walk(client, "/records/projects"))) == projects
    page = await client.get("/records/projects")
    assert "Budget" not in rows_of(page.text).headers
    assert 'name="manager"' not in page.text


async def test_a_partner_lists_only_the_projects_they_work_on(
    demo: Database, sign_in: SignIn
) -> None:
    client = await sign_in(PARTNER)
    account = await account_of(demo, PARTNER)
    shared = set(
        await scalars(
            demo, select(ProjectPartner.project_id).where(ProjectPartner.account_id == account)
        )
    )
    assert set(all_ids(await walk(client, "/records/projects"))) == shared and shared


async def test_externals_see_their_team_without_staff_only_columns_or_filters(
    demo: Database, sign_in: SignIn
) -> None:
    client = await sign_in(CUSTOMER)
    everyone = await scalar(demo, select(func.count()).select_from(Employee))
    page = await client.get("/records/employees")
    rows = rows_of(page.text)
    assert 0 < len(rows.ids) < everyone
    assert set(rows.headers) == {"Name", "Job title", "Email", "Phone"}
    assert 'name="department"' not in page.text and 'name="skill"' not in page.text
    # A staff-only filter in the URL is ignored, not used to probe the hidden column.
    department = await scalar(demo, select(Department.id).where(Department.name == "Directie"))
    filtered = rows_of((await client.get(f"/records/employees?department={department}")).text)
    assert filtered.ids == rows.ids


# --- the people directory -------------------------------------------------------------------------


async def test_the_people_directory_searches_by_name_skill_and_department(
    demo: Database, sign_in: SignIn
) -> None:
    client = await sign_in(EMPLOYEE)
    page = await client.get("/people")
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    departments = await scalars(demo, select(Department.name))
    for name in departments:
        assert f">{name}</option>" in page.text.replace("&amp;", "&")
    assert '<datalist id="filter-skill-choices">' in page.text
    cards = re.findall(r'<h2 class="person-name"><a href="/records/employees/(\d+)">', page.text)
    assert len(cards) == 50
    assert "+31 30 604" in page.text and "mailto:" in page.text

    me = await scalar(demo, select(Employee).where(Employee.email == EMPLOYEE))
    found = await client.get("/people", params={"q": me.name.split()[0].upper()})
    assert f'href="/records/employees/{me.id}">{me.name}</a>' in found.text
    assert me.job_title in found.text

    department = await scalar(demo, select(Department.id).where(Department.name == "Magazijn"))
    skilled = set(
        await scalars(
            demo,
            select(EmployeeSkill.employee_id)
            .join(Employee, Employee.id == EmployeeSkill.employee_id)
            .where(EmployeeSkill.skill == "VCA", Employee.department_id == department),
        )
    )
    found = await client.get("/people", params={"skill": "vca", "department": department})
    ids = re.findall(r'<h2 class="person-name"><a href="/records/employees/(\d+)">', found.text)
    assert {int(i) for i in ids} == skilled and skilled

    nobody = await client.get("/people", params={"q": "zzzz-nobody"})
    assert "Nobody matches these filters." in nobody.text
    bad = await client.get("/people", params={"department": "sales"})
    assert bad.status_code == 400
    assert "Expected a whole number." in text_of(bad.text)


async def test_the_people_directory_loads_more_with_htmx(demo: Database, sign_in: SignIn) -> None:
    client = await sign_in(ADMIN)
    everyone = await scalar(demo, select(func.count()).select_from(Employee))
    seen: list[str] = []
    url = "/people"
    headers: dict[str, str] = {}
    while url:
        response = await client.get(url, headers=headers)
        assert response.headers["vary"] == "HX-Request"
        if headers:
            assert response.text.lstrip().startswith('<li class="person">')
        seen += re.findall(r'href="/records/employees/(\d+)"', response.text)
        more = re.search(r'<a class="more" href="([^"]+)" hx-get="([^"]+)"', response.text)
        url = more.group(2).replace("&amp;", "&") if more else ""
        headers = {"HX-Request": "true"}
    assert len(seen) == everyone == len(set(seen))
