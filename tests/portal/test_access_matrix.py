"""The cross-account access matrix: every record kind x every kind of visitor x every channel.

Visitors: the administrator, an employee, HR, the customer contact of account A
(customer@example.com), a contact of another customer account B (given a login here), the
partner, a staff user deactivated after signing in (their cookie must be worth nothing), and an
anonymous browser. Each walks the same targets — records of A, of B, of the partner's projects,
of nobody's, and one that does not exist — through every channel: the card page, the card
fragment (plain and htmx), the JSON record, the staff edit form's POST, the list page, the JSON
list, the CSV and XML exports, the people directory and the records index.

What each should get is computed by ``tests.portal.matrix`` from the relations in the record
tables, restating the audience rules by hand — never by calling the code under test. A record
the visitor may see answers 200 with the record (or lists it); any other answers exactly what a
record or kind that does not exist answers: the same 404 page, modulo the CSP nonce (or the same
JSON error), never 403 or 500 — and the anonymous and the deactivated are sent to sign in (401
for JSON). On top of the cells, for every visitor: each list and export holds exactly the
records they may see; no answer links to, names by id, or mentions the code, number or email
address of a record they may not see; HR-private fields reach only HR and the employee
themself; externals never get the Data Log nor staff-only fields and columns.

Every mismatch is collected, so one run reports all of them. The meta-test at the end fails when
a route of the app is neither a channel of the matrix nor exempt with a reason.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import func, select
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute

from domain.db import Database
from domain.demo import DEMO_PASSWORD, load_demo
from domain.people.actions import do_create_user, do_set_user_active
from domain.people.models import Role, User, UserKind, UserRole
from domain.people.passwords import hash_password
from domain.records.datalog import RecordChange
from domain.records.models import AccountType, Contact
from portal.app import create_app
from portal.settings import Settings
from tests.conftest import CSRF_RE, PASSWORD, login
from tests.portal.matrix import (
    CHANNEL_ROUTES,
    CHANNEL_SAMPLES,
    EDITABLE,
    EXEMPT,
    MISSING_ID,
    Company,
    Kind,
    Standing,
    Target,
    Viewer,
    load_company,
    pick_targets,
)

ClientFactory = Callable[[], httpx.AsyncClient]  # conftest's make_client

ROLES = (
    "admin",
    "employee",
    "hr",
    "customer_a",
    "contact_b",
    "partner",
    "deactivated",
    "anonymous",
)
B_EMAIL = "contact-b@example.com"
GONE_EMAIL = "gone@example.com"

SIGN_IN = {"error": {"status": 401, "message": "Sign in first."}}
HX = {"HX-Request": "true"}
NONCE_IN_BODY = re.compile(r'nonce="[^"]*"')
NONCE_IN_HEADER = re.compile(r"'nonce-[^']*'")
VOLATILE_HEADERS = frozenset({"date", "set-cookie"})
RECORD_LINK = re.compile(r"/records/(accounts|contacts|projects|employees|invoices|items)/(\d+)")
MORE_LINK = re.compile(r'<a class="more" href="([^"]+)"')
SLUG_KINDS = {kind.slug: kind for kind in Kind}
MAX_PAGES = 100  # a list that pages on longer than this is looping

# Fields of one record (JSON) that only staff get; an external's employee is a contact person.
STAFF_ONLY_FIELDS: dict[Kind, frozenset[str]] = {
    Kind.ACCOUNT: frozenset({"credit_limit_cents", "account_manager_id"}),
    Kind.CONTACT: frozenset({"user_id"}),
    Kind.PROJECT: frozenset({"budget_cents", "manager_id"}),
    Kind.EMPLOYEE: frozenset({"number", "department_id", "manager_id", "hired_on"}),
}
EXTERNAL_EMPLOYEE_FIELDS = frozenset({"id", "name", "job_title", "email", "work_phone"})
# Columns of lists and exports that only staff get (exports name ``x_cents`` ``x_amount``).
STAFF_ONLY_COLUMNS: dict[Kind, frozenset[str]] = {
    Kind.ACCOUNT: frozenset({"credit_limit_cents", "account_manager_id"}),
    Kind.PROJECT: frozenset({"budget_cents", "manager_id"}),
    Kind.EMPLOYEE: frozenset({"department_id", "department_name", "manager_id"}),
}
PRIVATE_FIELDS = frozenset({"private_address", "date_of_birth"})
# Fields naming another record: an external's answers may only name records they may see.
FOREIGN_KEYS = {
    "account_id": Kind.ACCOUNT,
    "project_id": Kind.PROJECT,
    "manager_id": Kind.EMPLOYEE,
    "account_manager_id": Kind.EMPLOYEE,
}
# Markers of staff-only sections of card pages (English: the test client sends no language).
DATA_LOG = 'id="datalog-title"'
STAFF_ONLY_MARKERS: dict[Kind, str] = {
    Kind.ACCOUNT: "<dt>Credit limit</dt>",
    Kind.PROJECT: '<span class="meter-label">Amount</span>',
    Kind.CONTACT: "<dt>Portal access</dt>",
}
PRIVATE_SECTION = 'id="private-title"'


def export_name(key: str) -> str:
    return key.removesuffix("_cents") + "_amount" if key.endswith("_cents") else key


def describe(response: httpx.Response) -> str:
    location = response.headers.get("location")
    where = f" -> {location}" if location else ""
    return f"{response.status_code}{where} {response.text[:100]!r}"


def json_body(response: httpx.Response) -> dict[str, Any]:
    """A JSON object answer, or {} for anything else."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def snapshot(response: httpx.Response) -> tuple[int, list[tuple[str, str]], str]:
    """A response as a visitor could tell it apart from another: status, headers and body, with
    the per-request CSP nonce blanked out."""
    headers = sorted(
        (key.lower(), NONCE_IN_HEADER.sub("'nonce-'", value))
        for key, value in response.headers.multi_items()
        if key.lower() not in VOLATILE_HEADERS
    )
    return response.status_code, headers, NONCE_IN_BODY.sub('nonce=""', response.text)


def first_difference(a: httpx.Response, b: httpx.Response) -> str:
    sa, sb = snapshot(a), snapshot(b)
    if sa[0] != sb[0]:
        return f"status {sa[0]} vs {sb[0]}"
    if sa[2] != sb[2]:
        at = next((i for i, (x, y) in enumerate(zip(sa[2], sb[2], strict=False)) if x != y), None)
        at = min(len(sa[2]), len(sb[2])) if at is None else at
        context = slice(max(at - 40, 0), at + 60)
        return f"body differs at {at}: {sa[2][context]!r} vs {sb[2][context]!r}"
    return f"headers {sorted(set(sa[1]) ^ set(sb[1]))}"


def csv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def xml_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    root = ElementTree.fromstring(text.encode())  # noqa: S314 - our own app's export
    rows = [{child.tag: child.text or "" for child in element} for element in root]
    return (list(rows[0]) if rows else []), rows


async def csrf_from(client: httpx.AsyncClient, path: str, *, follow: bool) -> str:
    """The CSRF token of the page at ``path`` (following redirects), for the POST cells."""
    response = await client.get(path, follow_redirects=follow)
    match = CSRF_RE.search(response.text)
    assert match, f"no csrf meta tag on {path}: {describe(response)}"
    return match.group(1)


# -- the world: the demo company, its logins, and the expectations --------------------------------


@dataclass
class World:
    db: Database
    company: Company
    targets: list[Target]
    viewers: dict[str, Viewer]
    logins: dict[str, tuple[str, str]]  # role -> (email, password)


@pytest.fixture
async def world(db: Database) -> World:
    await load_demo(db, social=False)
    company = await load_company(db)
    async with db.session() as s:
        users = {
            email: (uid, kind)
            for email, uid, kind in (await s.execute(select(User.email, User.id, User.kind))).all()
        }
        hr_id = await s.scalar(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.HR, User.kind == UserKind.STAFF, User.is_active)
            .order_by(User.id)
        )
        assert hr_id is not None, "the demo company has no HR user"
        roles: dict[int, set[Role]] = {}
        for uid, role in (await s.execute(select(UserRole.user_id, UserRole.role))).all():
            roles.setdefault(uid, set()).add(role)
    contact_of = {row.user_id: cid for cid, row in company.contacts.items() if row.user_id}
    employee_of = {row.user_id: eid for eid, row in company.employees.items() if row.user_id}
    a_contact = contact_of[users["customer@example.com"][0]]
    p_contact = contact_of[users["partner@example.com"][0]]
    a = company.contacts[a_contact].account_id
    partner = company.contacts[p_contact].account_id
    partner_customers = {company.projects[p].account_id for p, acc in company.partners}

    def fit_for_b(account: int) -> bool:
        row = company.accounts[account]
        return (
            row.type is AccountType.CUSTOMER
            and account != a
            and account not in partner_customers
            and row.manager_id != company.accounts[a].manager_id
            and sum(
                c.account_id == account and c.email is not None for c in company.contacts.values()
            )
            >= 2
            and any(i.account_id == account for i in company.invoices.values())
            and any(p.account_id == account for p in company.projects.values())
        )

    b = min(filter(fit_for_b, company.accounts))
    b_contact = min(
        cid for cid, c in company.contacts.items() if c.account_id == b and c.email is not None
    )

    # HR signs in with a password set here; B's contact gets a login, as an administrator would
    # grant it (a customer user linked through Contact.user_id).
    async with db.transaction() as s:
        hr_user = await s.get(User, hr_id)
        assert hr_user is not None
        hr_user.password_hash = await asyncio.to_thread(hash_password, PASSWORD)
        # The demo's HR officer reads Dutch; the markers checked below are the English labels.
        hr_user.language = None
        b_user = await do_create_user(
            s,
            email=B_EMAIL,
            name=company.contacts[b_contact].name,
            password=PASSWORD,
            kind=UserKind.CUSTOMER,
        )
        contact = await s.get(Contact, b_contact)
        assert contact is not None and contact.user_id is None
        contact.user_id = b_user.id
    company = await load_company(db)

    def staff(email: str) -> Viewer:
        uid = users[email][0]
        return Viewer(
            Standing.STAFF, employee_id=employee_of.get(uid), is_hr=Role.HR in roles.get(uid, ())
        )

    hr_email = next(email for email, (uid, _kind) in users.items() if uid == hr_id)
    viewers = {
        "admin": staff("admin@example.com"),
        "employee": staff("employee@example.com"),
        "hr": staff(hr_email),
        "customer_a": Viewer(Standing.CUSTOMER, account_id=a),
        "contact_b": Viewer(Standing.CUSTOMER, account_id=b),
        "partner": Viewer(Standing.PARTNER, account_id=partner),
        "deactivated": Viewer(Standing.GONE),
        "anonymous": Viewer(Standing.ANONYMOUS),
    }
    assert viewers["hr"].is_hr and not viewers["admin"].is_hr
    own = {
        role: v.employee_id
        for role, v in viewers.items()
        if v.is_staff and v.employee_id is not None
    }
    targets = pick_targets(
        company,
        a=a,
        b=b,
        partner=partner,
        a_login_contact=a_contact,
        b_login_contact=b_contact,
        partner_login_contact=p_contact,
        own_employees=own,
        outsiders=[viewers["customer_a"], viewers["contact_b"], viewers["partner"]],
    )
    logins = {
        "admin": ("admin@example.com", DEMO_PASSWORD),
        "employee": ("employee@example.com", DEMO_PASSWORD),
        "hr": (hr_email, PASSWORD),
        "customer_a": ("customer@example.com", DEMO_PASSWORD),
        "contact_b": (B_EMAIL, PASSWORD),
        "partner": ("partner@example.com", DEMO_PASSWORD),
    }
    return World(db, company, targets.items, viewers, logins)


async def browser_for(world: World, role: str, make_client: ClientFactory) -> httpx.AsyncClient:
    """A browser of this role, signed in (or, for the deactivated, signed in and then cut off)."""
    client: httpx.AsyncClient = make_client()
    if role == "anonymous":
        return client
    if role == "deactivated":
        async with world.db.transaction() as s:
            gone = await do_create_user(
                s,
                email=GONE_EMAIL,
                name="Gone Away",
                password=PASSWORD,
                kind=UserKind.STAFF,
                roles=frozenset({Role.ADMIN, Role.HR}),
            )
        assert (await login(client, GONE_EMAIL)).status_code == 303
        # Their cookie works until they are deactivated...
        account = next(t for t in world.targets if t.kind is Kind.ACCOUNT)
        assert (await client.get(f"/records/accounts/{account.id}")).status_code == 200
        async with world.db.transaction() as s:
            await do_set_user_active(s, gone.id, False)
        return client
    email, password = world.logins[role]
    response = await login(client, email, password)
    assert response.status_code == 303, (role, describe(response))
    return client


# -- the walker: one visitor, every target, every channel ------------------------------------------


@dataclass
class Walker:
    client: httpx.AsyncClient
    role: str
    viewer: Viewer
    company: Company
    csrf: str
    findings: list[str] = field(default_factory=list)
    cells: int = 0
    channels: set[str] = field(default_factory=set)
    references: dict[tuple[str, str, bool], httpx.Response] = field(default_factory=dict)
    # Answers that show records (not echoing a search for a hidden one), for the leak scans.
    shown: list[tuple[str, str]] = field(default_factory=list)

    # -- recording ---------------------------------------------------------------------------

    def cell(self, channel: str) -> None:
        self.cells += 1
        self.channels.add(channel)

    def finding(self, where: str, expected: str, got: str) -> None:
        self.findings.append(f"[{self.role}] {where}: expected {expected}; got {got}")

    def show(self, where: str, text: str) -> None:
        self.shown.append((where, text))

    async def request(self, method: str, url: str, *, htmx: bool = False) -> httpx.Response:
        headers = dict(HX) if htmx else {}
        if method == "POST":
            headers["X-CSRF-Token"] = self.csrf
            return await self.client.post(url, headers=headers, data={"name": ""})
        return await self.client.get(url, headers=headers)

    # -- the two answers a cell may expect -----------------------------------------------------

    async def hidden(
        self,
        channel: str,
        where: str,
        method: str,
        url: str,
        response: httpx.Response,
        reference: str,
        *,
        json: bool = False,
        htmx: bool = False,
    ) -> None:
        """Not visible: exactly the answer for a record or kind that does not exist."""
        self.cell(channel)
        if not self.viewer.signed_in:
            self.sent_to_sign_in(where, url, response, json=json)
            return
        if response.status_code != 404:
            self.finding(where, "404 as for a record that does not exist", describe(response))
            return
        if json and json_body(response).get("error", {}).get("status") != 404:
            self.finding(where, "a JSON error 404", describe(response))
            return
        if url == reference:
            return
        key = (method, reference, htmx)
        if key not in self.references:
            self.references[key] = await self.request(method, reference, htmx=htmx)
        if json:
            expected = json_body(self.references[key])
            if json_body(response) != expected:
                self.finding(
                    where, f"the JSON error of {reference}: {expected}", describe(response)
                )
            return
        if snapshot(response) != snapshot(self.references[key]):
            self.finding(
                where,
                f"the same 404 as {method} {reference}",
                first_difference(response, self.references[key]),
            )

    def sent_to_sign_in(
        self, where: str, url: str, response: httpx.Response, *, json: bool
    ) -> None:
        if json:
            if response.status_code != 401 or json_body(response) != SIGN_IN:
                self.finding(where, f"401 {SIGN_IN}", describe(response))
            return
        location = urlsplit(response.headers.get("location", ""))
        if (
            response.status_code != 303
            or location.path != "/login"
            or parse_qs(location.query).get("next") != [url]
        ):
            self.finding(where, f"303 to /login?next={url}", describe(response))

    def ok(self, channel: str, where: str, response: httpx.Response, text: str | None) -> bool:
        """Visible: 200, showing ``text``."""
        self.cell(channel)
        if response.status_code != 200:
            self.finding(where, "200 with the record", describe(response))
            return False
        if text is not None and text not in html.unescape(response.text):
            self.finding(where, f"200 showing {text!r}", f"200 without it {describe(response)}")
            return False
        return True

    def listed(
        self,
        channel: str,
        where: str,
        response: httpx.Response,
        ids: set[int] | None,
        record_id: int,
        expected: bool,
    ) -> None:
        self.cell(channel)
        if response.status_code != 200 or ids is None:
            self.finding(where, "200 with a list", describe(response))
        elif (record_id in ids) != expected:
            verb = "listed" if expected else "not listed"
            self.finding(where, f"the record {verb}", f"the opposite ({len(ids)} rows)")

    # -- lists, through every page -------------------------------------------------------------

    async def list_page_ids(
        self, url: str, slug: str
    ) -> tuple[httpx.Response, set[int] | None, list[str]]:
        """The record ids a list page shows, following its "Load more" links; and the pages."""
        first = response = await self.client.get(url)
        ids: set[int] = set()
        pages: list[str] = []
        link = re.compile(rf'href="/records/{slug}/(\d+)"')
        for _page in range(MAX_PAGES):
            if response.status_code != 200:
                return first, None, pages
            pages.append(response.text)
            ids |= {int(i) for i in link.findall(response.text)}
            more = MORE_LINK.search(response.text)
            if more is None:
                return first, ids, pages
            response = await self.client.get(html.unescape(more.group(1)))
        raise AssertionError(f"{url}: more than {MAX_PAGES} pages")

    async def json_items(
        self, path: str, params: dict[str, str]
    ) -> tuple[httpx.Response, list[dict[str, Any]] | None]:
        query = {**params, "limit": "200"}
        first = response = await self.client.get(path, params=query)
        items: list[dict[str, Any]] = []
        for _page in range(MAX_PAGES):
            if response.status_code != 200:
                return first, None
            body = response.json()
            items += body["items"]
            if body["next"] is None:
                return first, items
            response = await self.client.get(path, params={**query, "cursor": body["next"]})
        raise AssertionError(f"{path} {params}: more than {MAX_PAGES} pages")

    async def exported(
        self, url: str, fmt: str
    ) -> tuple[httpx.Response, list[str], list[dict[str, str]] | None]:
        response = await self.client.get(url)
        if response.status_code != 200:
            return response, [], None
        columns, rows = csv_rows(response.text) if fmt == "csv" else xml_rows(response.text)
        return response, columns, rows

    # -- one target through every channel ------------------------------------------------------

    async def walk(self, target: Target) -> None:
        c, v = self.company, self.viewer
        kind, slug, rid = target.kind, target.kind.slug, target.id
        exists = rid != MISSING_ID
        sees = c.sees(v, kind, rid)
        what = f"{kind.value} {rid} ({target.why})"
        card = f"/records/{slug}/{rid}"
        missing = f"/records/{slug}/{MISSING_ID}"

        # The card page.
        where = f"page GET {card} [{what}]"
        response = await self.client.get(card)
        if sees:
            if self.ok("page", where, response, c.label(kind, rid)):
                self.show(where, response.text)
                self.check_card_page(where, target, response.text)
        else:
            await self.hidden("page", where, "GET", card, response, missing)

        # The compact card, opened directly and by htmx.
        for channel, htmx in (("fragment", False), ("fragment_htmx", True)):
            url = f"{card}/card"
            where = f"{channel} GET {url} [{what}]"
            response = await self.request("GET", url, htmx=htmx)
            if not sees:
                await self.hidden(
                    channel, where, "GET", url, response, f"{missing}/card", htmx=htmx
                )
                continue
            if not self.ok(channel, where, response, None):
                continue
            self.show(where, response.text)
            text = response.text
            if f'data-record="{kind.value}-{rid}"' not in text:
                self.finding(where, "the record's compact card", describe(response))
            if "HX-Request" not in response.headers.get("vary", ""):
                self.finding(where, "Vary: HX-Request", response.headers.get("vary", "none"))
            if htmx and not text.lstrip().startswith("<article"):
                self.finding(where, "the bare fragment", describe(response))
            if not htmx and "<!doctype html>" not in text.lower():
                self.finding(where, "the fragment in a document", describe(response))
            self.check_private(where, target, text, shown_here=False)

        # The JSON record.
        url = f"/api/v1/{slug}/{rid}"
        where = f"json_item GET {url} [{what}]"
        response = await self.client.get(url)
        # One record follows its card page (the audience alone), not the list rule: a customer
        # reads its own account, a partner its projects' customers, though accounts are not a
        # list for them.
        if sees:
            if self.ok("json_item", where, response, None):
                body = response.json()
                self.show(where, response.text)
                if body.get("id") != rid:
                    self.finding(where, f"the record {rid}", repr(body)[:100])
                self.check_record_fields(where, target, body)
        else:
            await self.hidden(
                "json_item", where, "GET", url, response, f"/api/v1/{slug}/{MISSING_ID}", json=True
            )

        # The staff edit form's POST (with a valid CSRF token and an invalid, empty name:
        # staff get the form back with 422 and nothing changes).
        where = f"edit POST {card} [{what}]"
        response = await self.request("POST", card)
        if v.is_staff:
            self.cell("edit")
            expected = 405 if kind not in EDITABLE else (422 if exists else 404)
            if response.status_code != expected:
                self.finding(where, str(expected), describe(response))
            elif expected == 422 and c.label(kind, rid) not in html.unescape(response.text):
                self.finding(where, "the card with the form's messages", describe(response))
        else:
            await self.hidden("edit", where, "POST", card, response, missing)

        if not exists:
            return
        await self.walk_lists(target, sees, what)

    async def walk_lists(self, target: Target, sees: bool, what: str) -> None:
        """The target searched for in its kind's list page, JSON list and exports."""
        c, v = self.company, self.viewer
        kind, slug, rid = target.kind, target.kind.slug, target.id
        query = urlencode({"q": c.needle(kind, rid)})
        listable = v.may_list(kind)

        url = f"/records/{slug}?{query}"
        where = f"list_page GET {url} [{what}]"
        if listable:
            response, ids, _pages = await self.list_page_ids(url, slug)
            self.listed("list_page", where, response, ids, rid, sees)
        else:
            response = await self.client.get(url)
            await self.hidden(
                "list_page", where, "GET", url, response, f"/records/nonsense?{query}"
            )

        path = f"/api/v1/{slug}"
        where = f"json_list GET {path}?{query} [{what}]"
        response, items = await self.json_items(path, {"q": c.needle(kind, rid)})
        if listable:
            ids = {item["id"] for item in items} if items is not None else None
            self.listed("json_list", where, response, ids, rid, sees)
        else:
            await self.hidden(
                "json_list",
                where,
                "GET",
                f"{path}?{query}&limit=200",
                response,
                "/api/v1/nonsense",
                json=True,
            )

        for fmt in ("csv", "xml"):
            url = f"/records/{slug}/export.{fmt}?{query}"
            where = f"export_{fmt} GET {url} [{what}]"
            response, _columns, rows = await self.exported(url, fmt)
            if listable:
                ids = {int(row["id"]) for row in rows} if rows is not None else None
                self.listed(f"export_{fmt}", where, response, ids, rid, sees)
            else:
                reference = f"/records/nonsense/export.{fmt}?{query}"
                await self.hidden(f"export_{fmt}", where, "GET", url, response, reference)

        if kind is Kind.EMPLOYEE:
            url = f"/people?{query}"
            where = f"people GET {url} [{what}]"
            if v.is_staff:
                response, ids, _pages = await self.list_page_ids(url, slug)
                self.listed("people", where, response, ids, rid, sees)
            else:
                response = await self.client.get(url)
                await self.hidden("people", where, "GET", url, response, f"/no-such-page?{query}")

    # -- once per visitor ----------------------------------------------------------------------

    async def walk_index(self) -> None:
        where = "records_index GET /records"
        response = await self.client.get("/records")
        if self.viewer.is_staff:
            if self.ok("records_index", where, response, None):
                for kind in Kind:
                    if f'/records/{kind.slug}"' not in response.text:
                        self.finding(where, f"a link to the {kind.slug} list", "none")
        else:
            await self.hidden("records_index", where, "GET", "/records", response, "/no-such-page")

    async def walk_whole_lists(self) -> None:
        """Every list and export, unfiltered, holds exactly the records the visitor may see."""
        c, v = self.company, self.viewer
        for kind in Kind:
            if not v.may_list(kind):
                continue
            expected = c.visible_ids(v, kind)
            slug = kind.slug

            where = f"json_list GET /api/v1/{slug} (every page)"
            response, items = await self.json_items(f"/api/v1/{slug}", {})
            self.cell("json_list")
            if items is None:
                self.finding(where, "200", describe(response))
            else:
                self.same_records(where, kind, [item["id"] for item in items], expected)
                self.check_columns(where, kind, {key for item in items for key in item}, False)
                self.check_foreign_keys(where, items)
                self.show(where, response.text)

            for fmt in ("csv", "xml"):
                where = f"export_{fmt} GET /records/{slug}/export.{fmt} (whole)"
                response, columns, rows = await self.exported(f"/records/{slug}/export.{fmt}", fmt)
                self.cell(f"export_{fmt}")
                if rows is None:
                    self.finding(where, "200", describe(response))
                    continue
                self.same_records(where, kind, [int(r["id"]) for r in rows], expected)
                self.check_columns(where, kind, set(columns), True)
                self.check_foreign_keys(where, rows)
                self.show(where, response.text)

            if v.is_staff:
                continue  # staff lists run to thousands of rows; the searched cells cover them
            where = f"list_page GET /records/{slug} (every page)"
            response, ids, pages = await self.list_page_ids(f"/records/{slug}", slug)
            self.cell("list_page")
            if ids is None:
                self.finding(where, "200", describe(response))
                continue
            self.same_records(where, kind, list(ids), expected)
            for page in pages:
                self.show(where, page)

    def same_records(self, where: str, kind: Kind, ids: list[int], expected: set[int]) -> None:
        if len(ids) != len(set(ids)):
            self.finding(where, "each record once", f"{len(ids) - len(set(ids))} repeated")
        extra, lacking = set(ids) - expected, expected - set(ids)
        if extra:
            self.finding(where, "no record they may not see", f"{kind.slug} {sorted(extra)[:10]}")
        if lacking:
            self.finding(where, "every record they may see", f"missing {sorted(lacking)[:10]}")

    # -- fields -----------------------------------------------------------------------------

    def entitled_to_private(self, employee_id: int) -> bool:
        v = self.viewer
        return v.is_staff and (v.is_hr or v.employee_id == employee_id)

    def check_private(self, where: str, target: Target, text: str, *, shown_here: bool) -> None:
        """HR-private fields: on the card page exactly for HR and the employee themself;
        elsewhere (``shown_here=False``) never for anyone else."""
        if target.kind is not Kind.EMPLOYEE:
            return
        entitled = self.entitled_to_private(target.id)
        address = self.company.employees[target.id].private_address
        has_section = PRIVATE_SECTION in text
        has_address = bool(address and address in html.unescape(text))
        if shown_here:
            if has_section != entitled:
                self.finding(where, f"private details {'shown' if entitled else 'hidden'}", "not")
            if address and has_address != entitled:
                self.finding(where, f"private address {'shown' if entitled else 'hidden'}", "not")
        elif not entitled and (has_section or has_address):
            self.finding(where, "no HR-private details", "the private address or section")

    def check_card_page(self, where: str, target: Target, text: str) -> None:
        staff = self.viewer.is_staff
        # The Data Log is on the cards of the kinds staff edit; nobody else ever gets it.
        logged = staff and target.kind in EDITABLE
        if (DATA_LOG in text) != logged:
            self.finding(where, f"the Data Log {'shown' if logged else 'hidden'}", "not")
        marker = STAFF_ONLY_MARKERS.get(target.kind)
        if marker is not None and (marker in text) != staff:
            self.finding(where, f"{marker!r} {'shown' if staff else 'hidden'}", "not")
        if target.kind is Kind.EMPLOYEE:
            number = f'<span class="code">{self.company.employees[target.id].number}</span>'
            if (number in text) != staff:
                self.finding(where, f"the employee number {'shown' if staff else 'hidden'}", "not")
        self.check_private(where, target, text, shown_here=True)

    def check_record_fields(self, where: str, target: Target, body: dict[str, Any]) -> None:
        keys = set(body)
        staff_only = STAFF_ONLY_FIELDS.get(target.kind, frozenset())
        if self.viewer.is_staff and not staff_only <= keys:
            self.finding(where, f"staff fields {sorted(staff_only)}", f"keys {sorted(keys)}")
        if not self.viewer.is_staff:
            if keys & staff_only:
                self.finding(where, "no staff-only fields", f"{sorted(keys & staff_only)}")
            if target.kind is Kind.EMPLOYEE and not keys <= EXTERNAL_EMPLOYEE_FIELDS:
                extra = sorted(keys - EXTERNAL_EMPLOYEE_FIELDS)
                self.finding(where, "an employee as a contact person only", f"also {extra}")
            self.check_foreign_keys(where, [body])
        if target.kind is Kind.EMPLOYEE:
            entitled = self.entitled_to_private(target.id)
            for name in PRIVATE_FIELDS:
                if (name in keys) != entitled:
                    state = "present" if entitled else "absent"
                    self.finding(where, f"{name} {state}", f"keys {sorted(keys)}")

    def check_columns(self, where: str, kind: Kind, columns: set[str], export: bool) -> None:
        if not self.viewer.is_hr and columns & PRIVATE_FIELDS:
            self.finding(where, "no HR-private columns", f"{sorted(columns & PRIVATE_FIELDS)}")
        if self.viewer.is_staff:
            return
        staff_only = {
            export_name(c) if export else c for c in STAFF_ONLY_COLUMNS.get(kind, frozenset())
        }
        if columns & staff_only:
            self.finding(where, "no staff-only columns", f"{sorted(columns & staff_only)}")

    def check_foreign_keys(self, where: str, rows: list[dict[str, Any]]) -> None:
        """An external's rows name only records they may see."""
        if self.viewer.is_staff:
            return
        for row in rows:
            for key, kind in FOREIGN_KEYS.items():
                value = row.get(key)
                if value in (None, ""):
                    continue
                if not self.company.sees(self.viewer, kind, int(value)):
                    self.finding(where, f"{key} only of visible {kind.slug}", f"{key}={value}")

    # -- scans over everything shown ---------------------------------------------------------

    def scan(self, targets: list[Target]) -> None:
        """No answer links to a record the visitor may not see, or mentions the code, number or
        email address of one of the targets they may not see."""
        c, v = self.company, self.viewer
        secrets: list[tuple[re.Pattern[str], str]] = []
        for t in targets:
            if t.id == MISSING_ID or c.sees(v, t.kind, t.id):
                continue
            secret = c.secret(t.kind, t.id)
            if secret:
                pattern = re.compile(rf"(?<![\w.@-]){re.escape(secret)}(?![\w@-])")
                secrets.append((pattern, f"{t.kind.value} {t.id} ({t.why})"))
        for where, text in self.shown:
            for slug, raw_id in set(RECORD_LINK.findall(text)):
                kind = SLUG_KINDS[slug]
                if not c.sees(v, kind, int(raw_id)):
                    self.finding(
                        where, "links to visible records only", f"/records/{slug}/{raw_id}"
                    )
            plain = html.unescape(text)
            for pattern, what in secrets:
                if pattern.search(plain):
                    self.finding(where, f"no mention of {what}", f"{pattern.pattern!r} found")


# -- the matrix -----------------------------------------------------------------------------------


def check_coverage(world: World) -> None:
    """The targets make the matrix mean something: for each external and kind, some target they
    may see and some they may not — but no item, nor an invoice for a partner whose account
    is never invoiced (the demo's partners are not)."""
    c = world.company
    for role in ("customer_a", "contact_b", "partner"):
        viewer = world.viewers[role]
        for kind in Kind:
            existing = [t for t in world.targets if t.kind is kind and t.id != MISSING_ID]
            seen = [t for t in existing if c.sees(viewer, kind, t.id)]
            assert len(seen) < len(existing), (role, kind, "no target hidden")
            none_to_see = kind is Kind.ITEM or not c.visible_ids(viewer, kind)
            assert none_to_see != bool(seen), (role, kind, "no target visible")


ALL_CHANNELS = frozenset(channel for channels in CHANNEL_ROUTES.values() for channel in channels)


@pytest.mark.parametrize("role", ROLES)
async def test_the_access_matrix(
    world: World, make_client: ClientFactory, role: str, request: pytest.FixtureRequest
) -> None:
    check_coverage(world)
    client = await browser_for(world, role, make_client)
    viewer = world.viewers[role]
    # Signed in: the token of their pages. Anonymous or cut off: the one the sign-in page gives
    # (should a revoked cookie still work, /login redirects home, and the cells say so).
    csrf = await csrf_from(client, "/" if viewer.signed_in else "/login", follow=True)
    walker = Walker(client, role, viewer, world.company, csrf)

    for target in world.targets:
        await walker.walk(target)
    await walker.walk_index()
    if viewer.signed_in:
        await walker.walk_whole_lists()
        home = await client.get("/")
        assert home.status_code == 200
        walker.show("home GET /", home.text)
    walker.scan(world.targets)

    async with world.db.session() as s:
        changes = await s.scalar(select(func.count()).select_from(RecordChange))
    request.node.user_properties.append(("cells", walker.cells))
    assert walker.channels == ALL_CHANNELS, sorted(ALL_CHANNELS ^ walker.channels)
    assert changes == 0, "the matrix's requests changed records"
    assert not walker.findings, f"{len(walker.findings)} of {walker.cells} cells:\n" + "\n".join(
        walker.findings
    )


# -- the meta-test: every route is in the matrix or exempt -----------------------------------------


def flatten(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, method) of every route, through mounts; HEAD goes with GET."""
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or {"*"}) - {"HEAD"}):
                yield prefix + route.path, method
        elif isinstance(route, WebSocketRoute):
            yield prefix + route.path, "WEBSOCKET"
        elif isinstance(route, Mount):
            if route.routes:
                yield from flatten(route.routes, prefix + route.path)
            else:
                yield prefix + route.path, "MOUNT"
        else:
            yield prefix + str(getattr(route, "path", route)), type(route).__name__


@pytest.fixture
def app_routes(tmp_path: Path) -> list[BaseRoute]:
    settings = Settings.from_env(
        {
            "ATRIUM_DATA_DIR": str(tmp_path / "data"),
            "ATRIUM_SECRET_KEY": "test-secret-key-" + "x" * 32,
        }
    )
    return list(create_app(settings).routes)


def test_every_route_is_in_the_matrix_or_exempt(app_routes: list[BaseRoute]) -> None:
    routes = list(flatten(app_routes))
    assert len(routes) == len(set(routes)), "a (path, method) is routed twice"
    both = set(CHANNEL_ROUTES) & set(EXEMPT)
    assert not both, f"in the matrix and exempt at once: {sorted(both)}"
    new = [r for r in routes if r not in CHANNEL_ROUTES and r not in EXEMPT]
    assert not new, (
        f"New route(s) {new} are not in the access matrix. If they show records (by id or in a "
        "list, as a page, fragment, JSON or file), add them to CHANNEL_ROUTES in "
        "tests/portal/matrix.py and a probe of the channel to Walker in "
        "tests/portal/test_access_matrix.py; otherwise add them to EXEMPT there, with a comment "
        "naming the tests that check who may reach them."
    )
    gone = sorted((set(CHANNEL_ROUTES) | set(EXEMPT)) - set(routes))
    assert not gone, f"routes in tests/portal/matrix.py that the app no longer has: {gone}"


def test_each_channel_reaches_the_route_it_stands_for(app_routes: list[BaseRoute]) -> None:
    """A channel's request is served by its route (not shadowed by an earlier one)."""
    assert set(CHANNEL_SAMPLES) == ALL_CHANNELS
    for channel, (method, path) in CHANNEL_SAMPLES.items():
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        served = next((r for r in app_routes if r.matches(scope)[0] is Match.FULL), None)
        assert isinstance(served, Route), (channel, method, path, "no route serves it")
        assert channel in CHANNEL_ROUTES.get((served.path, method), ()), (
            channel,
            method,
            path,
            f"served by {served.path}",
        )
