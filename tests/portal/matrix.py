"""The cross-account access matrix: who should see which record, through which route.

This module holds the *expectations* of ``test_access_matrix``, written out independently of the
code under test: the company's relations are read straight from the record tables (never from
``record_audiences``, ``domain.access`` or ``domain.records.queries``), and ``sees`` restates the
rules of ARCHITECTURE.md ("Who sees what") and of ``domain/records/audience.py``'s docstring by
hand. If the application and this module disagree, one of them is wrong — and the test says
which cell.

It also holds the route tables of the meta-test: every route of the app is either a channel of
the matrix (``CHANNEL_ROUTES``) or exempt with a reason and the tests that cover it (``EXEMPT``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from domain.db import Database
from domain.records.models import (
    Account,
    AccountType,
    Contact,
    Employee,
    Invoice,
    Item,
    Project,
    ProjectMember,
    ProjectPartner,
)

MISSING_ID = 999_999  # an id no demo record has: the reference answer for "does not exist"


class Kind(enum.StrEnum):
    """Record kinds, named as in URLs; the value is the singular (``data-record`` markers)."""

    ACCOUNT = "account"
    CONTACT = "contact"
    PROJECT = "project"
    EMPLOYEE = "employee"
    INVOICE = "invoice"
    ITEM = "item"

    @property
    def slug(self) -> str:
        return f"{self.value}s"


# Kinds an external may *list* (list page, JSON list, JSON item, export), per the docstrings of
# portal/routes/records_lists.py and portal/routes/api.py: "Accounts are not a list for them —
# their own account is on their home page — nor are items; those answer 404 [...] The JSON API
# follows the same rule" (and tests/portal/test_api_records.py: "not there at all, even their own
# account"). Their own account's card page is still theirs to open.
EXTERNAL_LISTABLE = frozenset({Kind.CONTACT, Kind.PROJECT, Kind.EMPLOYEE, Kind.INVOICE})
# Kinds staff edit from the card (POST /records/{kind}/{id}); others answer 405 to staff.
EDITABLE = frozenset({Kind.ACCOUNT, Kind.CONTACT, Kind.PROJECT})


class Standing(enum.StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"
    PARTNER = "partner"
    GONE = "gone"  # deactivated after signing in: the cookie they hold must be worth nothing
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Viewer:
    """Who is asking, as the rules see them."""

    standing: Standing
    account_id: int | None = None  # externals: the account of their contact
    employee_id: int | None = None  # staff: their own employee record
    is_hr: bool = False

    @property
    def signed_in(self) -> bool:
        return self.standing in (Standing.STAFF, Standing.CUSTOMER, Standing.PARTNER)

    @property
    def is_staff(self) -> bool:
        return self.standing is Standing.STAFF

    @property
    def is_external(self) -> bool:
        return self.standing in (Standing.CUSTOMER, Standing.PARTNER)

    def may_list(self, kind: Kind) -> bool:
        return self.is_staff or (self.is_external and kind in EXTERNAL_LISTABLE)


@dataclass(frozen=True)
class AccountRow:
    code: str
    name: str
    type: AccountType
    manager_id: int | None


@dataclass(frozen=True)
class ContactRow:
    account_id: int
    name: str
    email: str | None
    user_id: int | None


@dataclass(frozen=True)
class ProjectRow:
    account_id: int
    manager_id: int | None
    code: str
    name: str


@dataclass(frozen=True)
class EmployeeRow:
    user_id: int | None
    name: str
    email: str
    number: str
    private_address: str | None


@dataclass(frozen=True)
class InvoiceRow:
    account_id: int
    project_id: int | None
    number: str


@dataclass(frozen=True)
class ItemRow:
    code: str
    description: str


@dataclass
class Company:
    """The relations the rules depend on, read from the record tables as they are."""

    accounts: dict[int, AccountRow]
    contacts: dict[int, ContactRow]
    projects: dict[int, ProjectRow]
    employees: dict[int, EmployeeRow]
    invoices: dict[int, InvoiceRow]
    items: dict[int, ItemRow]
    members: set[tuple[int, int]]  # (project, employee)
    partners: set[tuple[int, int]]  # (project, partner account)

    def ids(self, kind: Kind) -> set[int]:
        return set(self.table(kind))

    def table(self, kind: Kind) -> dict[int, object]:
        tables: dict[Kind, dict[int, object]] = {
            Kind.ACCOUNT: dict(self.accounts),
            Kind.CONTACT: dict(self.contacts),
            Kind.PROJECT: dict(self.projects),
            Kind.EMPLOYEE: dict(self.employees),
            Kind.INVOICE: dict(self.invoices),
            Kind.ITEM: dict(self.items),
        }
        return tables[kind]

    def projects_of(self, viewer: Viewer) -> set[int]:
        """The projects an external works on: a customer's own, a partner's partnered ones."""
        if viewer.standing is Standing.CUSTOMER:
            return {p for p, row in self.projects.items() if row.account_id == viewer.account_id}
        if viewer.standing is Standing.PARTNER:
            return {p for p, a in self.partners if a == viewer.account_id}
        return set()

    def team(self, project_id: int) -> set[int]:
        manager = self.projects[project_id].manager_id
        members = {e for p, e in self.members if p == project_id}
        return members | ({manager} if manager is not None else set())

    def sees(self, viewer: Viewer, kind: Kind, record_id: int) -> bool:
        """The rules, by hand (ARCHITECTURE.md and domain/records/audience.py):

        - staff see every record; the deactivated and the anonymous see none;
        - account A: A's contacts, and the partners on any of A's projects;
        - contact of A, invoice of A: A's contacts;
        - project P of A: A's contacts, and P's partners;
        - employee E: the contacts of accounts E manages, and the contacts of the customers and
          partners of the projects E manages or is a member of;
        - item: staff only.
        """
        if record_id not in self.table(kind):
            return False
        if viewer.is_staff:
            return True
        if not viewer.is_external or viewer.account_id is None:
            return False
        own = viewer.account_id
        mine = self.projects_of(viewer)
        if kind is Kind.ACCOUNT:
            return record_id == own or any(self.projects[p].account_id == record_id for p in mine)
        if kind is Kind.CONTACT:
            return self.contacts[record_id].account_id == own
        if kind is Kind.PROJECT:
            return record_id in mine or self.projects[record_id].account_id == own
        if kind is Kind.INVOICE:
            return self.invoices[record_id].account_id == own
        if kind is Kind.EMPLOYEE:
            if self.accounts[own].manager_id == record_id:
                return True
            return any(record_id in self.team(p) for p in mine)
        return False

    def visible_ids(self, viewer: Viewer, kind: Kind) -> set[int]:
        return {i for i in self.table(kind) if self.sees(viewer, kind, i)}

    def label(self, kind: Kind, record_id: int) -> str:
        """What a record's card page shows as its heading."""
        if kind is Kind.ACCOUNT:
            return self.accounts[record_id].name
        if kind is Kind.CONTACT:
            return self.contacts[record_id].name
        if kind is Kind.PROJECT:
            return self.projects[record_id].name
        if kind is Kind.EMPLOYEE:
            return self.employees[record_id].name
        if kind is Kind.INVOICE:
            return self.invoices[record_id].number
        return self.items[record_id].description

    def needle(self, kind: Kind, record_id: int) -> str:
        """A unique value the list's ``q`` filter matches, to find one record in a list."""
        if kind is Kind.ACCOUNT:
            return self.accounts[record_id].code
        if kind is Kind.CONTACT:
            email = self.contacts[record_id].email
            return email or self.contacts[record_id].name
        if kind is Kind.PROJECT:
            return self.projects[record_id].code
        if kind is Kind.EMPLOYEE:
            return self.employees[record_id].email
        if kind is Kind.INVOICE:
            return self.invoices[record_id].number
        return self.items[record_id].code

    def secret(self, kind: Kind, record_id: int) -> str | None:
        """A unique string of a record that no page may show to someone who may not see it."""
        if kind is Kind.CONTACT:
            return self.contacts[record_id].email
        if kind is Kind.EMPLOYEE:
            return self.employees[record_id].email
        return self.needle(kind, record_id)


async def load_company(db: Database) -> Company:
    async with db.session() as s:
        accounts = {
            a.id: AccountRow(a.code, a.name, a.type, a.account_manager_id)
            for a in (await s.scalars(select(Account))).all()
        }
        contacts = {
            c.id: ContactRow(c.account_id, c.name, c.email, c.user_id)
            for c in (await s.scalars(select(Contact))).all()
        }
        projects = {
            p.id: ProjectRow(p.account_id, p.manager_id, p.code, p.name)
            for p in (await s.scalars(select(Project))).all()
        }
        employees = {
            e.id: EmployeeRow(e.user_id, e.name, e.email, e.number, e.private_address)
            for e in (await s.scalars(select(Employee))).all()
        }
        invoices = {
            i: InvoiceRow(a, p, n)
            for i, a, p, n in (
                await s.execute(
                    select(Invoice.id, Invoice.account_id, Invoice.project_id, Invoice.number)
                )
            ).all()
        }
        items = {
            i: ItemRow(c, d)
            for i, c, d in (await s.execute(select(Item.id, Item.code, Item.description))).all()
        }
        members = {
            (p, e)
            for p, e in (
                await s.execute(select(ProjectMember.project_id, ProjectMember.employee_id))
            ).all()
        }
        partners = {
            (p, a)
            for p, a in (
                await s.execute(select(ProjectPartner.project_id, ProjectPartner.account_id))
            ).all()
        }
    return Company(accounts, contacts, projects, employees, invoices, items, members, partners)


@dataclass(frozen=True)
class Target:
    kind: Kind
    id: int
    why: str  # what this record is, for messages: "invoice of B"


@dataclass
class Targets:
    """The records the matrix probes: per kind, ones of A, of B, of the partner's work, of
    nobody's, and one that does not exist."""

    items: list[Target] = field(default_factory=list)

    def add(self, kind: Kind, record_id: int | None, why: str) -> None:
        if record_id is None:
            raise AssertionError(f"the demo company has no {kind.value} that is {why}")
        if all((t.kind, t.id) != (kind, record_id) for t in self.items):
            self.items.append(Target(kind, record_id, why))


def first(ids: Iterable[int | None]) -> int | None:
    """The smallest id, for a choice that is the same on every run; None when there is none."""
    return min((i for i in ids if i is not None), default=None)


def pick_targets(
    company: Company,
    *,
    a: int,
    b: int,
    partner: int,
    a_login_contact: int,
    b_login_contact: int,
    partner_login_contact: int,
    own_employees: dict[str, int],
    outsiders: list[Viewer],
) -> Targets:
    """Concrete records for every kind, chosen by their relations to A, B and the partner."""
    c = company
    t = Targets()
    partnered = {p for p, acc in c.partners if acc == partner}
    a_projects = {p for p, row in c.projects.items() if row.account_id == a}
    b_projects = {p for p, row in c.projects.items() if row.account_id == b}
    a_partnered = first(a_projects & partnered)
    a_private = first(a_projects - partnered)
    elsewhere = first(p for p in partnered if c.projects[p].account_id not in (a, b))
    assert elsewhere is not None, "the partner works on no project of a third customer"
    customer_c = c.projects[elsewhere].account_id
    unrelated_project = first(
        p
        for p, row in c.projects.items()
        if p not in partnered and row.account_id not in (a, b, customer_c)
    )

    # Accounts.
    t.add(Kind.ACCOUNT, a, "account A (customer@)")
    t.add(Kind.ACCOUNT, b, "account B")
    t.add(Kind.ACCOUNT, partner, "the partner's own account")
    t.add(Kind.ACCOUNT, customer_c, "customer C of a partnered project")
    t.add(
        Kind.ACCOUNT,
        first(
            i
            for i, row in c.accounts.items()
            if i not in (a, b, partner, customer_c)
            and row.type is AccountType.CUSTOMER
            and not any(c.projects[p].account_id == i for p in partnered)
        ),
        "a customer nobody external works with",
    )
    t.add(
        Kind.ACCOUNT,
        first(
            i for i, row in c.accounts.items() if row.type is AccountType.PARTNER and i != partner
        ),
        "another partner account",
    )

    # Contacts.
    def contacts_of(account: int, but: int) -> int | None:
        return first(i for i, row in c.contacts.items() if row.account_id == account and i != but)

    t.add(Kind.CONTACT, a_login_contact, "customer@'s own contact")
    t.add(Kind.CONTACT, contacts_of(a, a_login_contact), "a colleague at A")
    t.add(Kind.CONTACT, b_login_contact, "B's signed-in contact")
    t.add(Kind.CONTACT, contacts_of(b, b_login_contact), "a colleague at B")
    t.add(Kind.CONTACT, partner_login_contact, "partner@'s own contact")
    t.add(Kind.CONTACT, contacts_of(partner, partner_login_contact), "a colleague at the partner")
    t.add(Kind.CONTACT, contacts_of(customer_c, 0), "a contact of customer C")

    # Projects.
    t.add(Kind.PROJECT, a_partnered, "a project of A the partner works on")
    t.add(Kind.PROJECT, a_private, "a project of A without the partner")
    t.add(Kind.PROJECT, elsewhere, "the partner's project for customer C")
    t.add(Kind.PROJECT, first(b_projects), "a project of B")
    t.add(Kind.PROJECT, unrelated_project, "a project of nobody external")

    # Employees.
    def manager(project: int | None) -> int | None:
        return c.projects[project].manager_id if project is not None else None

    def member(project: int | None, but: set[int]) -> int | None:
        if project is None:
            return None
        return first(e for p, e in c.members if p == project and e not in but)

    t.add(Kind.EMPLOYEE, c.accounts[a].manager_id, "A's account manager")
    t.add(Kind.EMPLOYEE, manager(a_private), "manager of A's project without the partner")
    t.add(Kind.EMPLOYEE, member(a_partnered, set()), "member of A's partnered project")
    t.add(Kind.EMPLOYEE, manager(elsewhere), "manager of the partner's project for C")
    t.add(Kind.EMPLOYEE, c.accounts[b].manager_id, "B's account manager")
    t.add(Kind.EMPLOYEE, member(first(b_projects), set()), "member of B's project")
    t.add(Kind.EMPLOYEE, c.accounts[partner].manager_id, "the partner account's manager")
    for who, employee in own_employees.items():
        t.add(Kind.EMPLOYEE, employee, f"{who}'s own employee record")
    t.add(
        Kind.EMPLOYEE,
        first(
            e
            for e in c.employees
            if not any(c.sees(v, Kind.EMPLOYEE, e) for v in outsiders)
            and e not in own_employees.values()
        ),
        "an employee on none of A's, B's or the partner's work",
    )

    # Invoices.
    def invoice(account: int, project: int | None = None) -> int | None:
        return first(
            i
            for i, row in c.invoices.items()
            if row.account_id == account and (project is None or row.project_id == project)
        )

    t.add(Kind.INVOICE, invoice(a), "an invoice of A")
    on_partnered = first(
        i for i, row in c.invoices.items() if row.account_id == a and row.project_id in partnered
    )
    if on_partnered is not None:
        t.add(Kind.INVOICE, on_partnered, "an invoice of A on a partnered project")
    t.add(Kind.INVOICE, invoice(b), "an invoice of B")
    t.add(Kind.INVOICE, invoice(customer_c), "an invoice of customer C")

    # Items.
    t.add(Kind.ITEM, first(c.items), "an item")
    t.add(Kind.ITEM, max(c.items), "another item")

    # And one of each kind that does not exist: the reference 404.
    for kind in Kind:
        assert MISSING_ID not in c.table(kind)
        t.add(kind, MISSING_ID, "a record that does not exist")
    return t


# -- the meta-test's tables -----------------------------------------------------------------------

# Every route the matrix walks, (path, method) -> its channels. HEAD comes with GET (Starlette adds
# it to every GET route and answers it with the GET handler).
CHANNEL_ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("/records/{kind}/{id:int}", "GET"): ("page",),
    ("/records/{kind}/{id:int}", "POST"): ("edit",),
    ("/records/{kind}/{id:int}/card", "GET"): ("fragment", "fragment_htmx"),
    ("/records", "GET"): ("records_index",),
    ("/records/{kind}", "GET"): ("list_page",),
    ("/records/{kind}/export.{fmt}", "GET"): ("export_csv", "export_xml"),
    ("/people", "GET"): ("people",),
    ("/api/v1/{kind}", "GET"): ("json_list",),
    ("/api/v1/{kind}/{id:int}", "GET"): ("json_item",),
}

# A request of each channel, to check that it reaches the route the table says (no shadowing).
CHANNEL_SAMPLES: dict[str, tuple[str, str]] = {
    "page": ("GET", "/records/invoices/1"),
    "edit": ("POST", "/records/accounts/1"),
    "fragment": ("GET", "/records/invoices/1/card"),
    "fragment_htmx": ("GET", "/records/invoices/1/card"),
    "records_index": ("GET", "/records"),
    "list_page": ("GET", "/records/invoices"),
    "export_csv": ("GET", "/records/invoices/export.csv"),
    "export_xml": ("GET", "/records/invoices/export.xml"),
    "people": ("GET", "/people"),
    "json_list": ("GET", "/api/v1/invoices"),
    "json_item": ("GET", "/api/v1/invoices/1"),
}

# Routes that show no record of the company by id or in a list, each with where its access is
# tested instead. A new route that shows records belongs in CHANNEL_ROUTES, not here.
EXEMPT: dict[tuple[str, str], str] = {
    # Public, shows component health only: tests/portal/test_health.py.
    ("/healthz", "GET"): "health check",
    # Signing in and out: tests/portal/test_login.py, test_sessions.py, test_csrf.py.
    ("/login", "GET"): "sign-in page",
    ("/login", "POST"): "sign-in",
    ("/logout", "POST"): "sign-out",
    # The home page, one per kind of visitor, built from the same audience-filtered queries:
    # tests/portal/test_record_cards.py (the customer and partner portal homes) and
    # tests/portal/test_guards.py. (The matrix also checks that its links stay in the audience.)
    ("/", "GET"): "home",
    # The signed-in user's own profile: tests/portal/test_profile.py.
    ("/profile", "GET"): "own profile",
    ("/profile", "POST"): "own profile",
    ("/profile/password", "POST"): "own password",
    # Staff-only placeholders with no data yet: tests/portal/test_guards.py (every section x
    # staff, externals, anonymous). They join the matrix when their areas show records.
    ("/workspaces", "GET"): "placeholder section",
    ("/notifications", "GET"): "placeholder section",
    # Administrators only: tests/portal/test_imports.py
    # (test_everyone_but_administrators_finds_no_page).
    ("/records/import", "GET"): "import (admin)",
    ("/records/import", "POST"): "import (admin)",
    # Administrators only: tests/portal/test_admin.py, whose own meta-test
    # (test_every_admin_route_is_in_the_access_tests) walks every admin route for every kind of
    # non-administrator.
    ("/admin/users", "GET"): "admin",
    ("/admin/users", "POST"): "admin",
    ("/admin/users/new", "GET"): "admin",
    ("/admin/users/{id:int}", "GET"): "admin",
    ("/admin/users/{id:int}/roles", "POST"): "admin",
    ("/admin/users/{id:int}/active", "POST"): "admin",
    ("/admin/contacts", "GET"): "admin",
    ("/admin/contacts/{id:int}/access", "GET"): "admin",
    ("/admin/contacts/{id:int}/access", "POST"): "admin",
    # Posts' files and polls: the post's audience decides, a pending upload is its uploader's
    # alone. tests/portal/test_attachments.py (a private group's file is 404 to a non-member and
    # a customer, like a missing id; someone else's pending upload too) and
    # tests/portal/test_polls.py (a poll one may not see answers 404, to voting as to reading).
    ("/attachments", "POST"): "upload a file for a post",
    ("/attachments/{id:int}/remove", "POST"): "drop one's own pending upload",
    ("/attachments/{id:int}/{filename}", "GET"): "a post's file",
    ("/posts/{id:int}/poll", "GET"): "a post's poll",
    ("/posts/{id:int}/poll", "POST"): "vote in a post's poll",
    # The live socket: events filtered by the same audience tokens, the session predicate of
    # HTTP and an Origin check. tests/portal/test_ws.py (refusals; a leak test per event kind for
    # a customer contact, a non-member and a revoked user) and tests/realtime/test_hub.py.
    ("/ws", "WEBSOCKET"): "live socket",
    # Groups: pages and JSON. Who finds a group and who sees its content is the groups domain's
    # (hidden groups 404 to non-members, a private group's posts and members only for members,
    # customers only groups shared with their account that they belong to):
    # tests/portal/test_groups.py and tests/portal/test_api_groups.py, on both backends, plus
    # tests/domain/test_groups.py for every rule.
    ("/groups", "GET"): "group list",
    ("/groups", "POST"): "create a group (staff)",
    ("/groups/new", "GET"): "new group form (staff)",
    ("/groups/{id:int}", "GET"): "a group's page and timeline",
    ("/groups/{id:int}/join", "POST"): "join, ask to join, accept an invitation",
    ("/groups/{id:int}/leave", "POST"): "leave, withdraw a request, decline an invitation",
    ("/groups/{id:int}/members", "GET"): "a group's members",
    ("/groups/{id:int}/members", "POST"): "invite or add a member (managers)",
    ("/groups/{id:int}/members/{user_id:int}", "POST"): "decide, remove, set role (managers)",
    ("/groups/{id:int}/settings", "GET"): "a group's settings (managers)",
    ("/groups/{id:int}/settings", "POST"): "edit a group (managers)",
    ("/groups/{id:int}/archive", "POST"): "archive (owners), un-archive (admins)",
    ("/groups/{id:int}/shares", "POST"): "share with accounts (owners)",
    ("/groups/{id:int}/rules", "POST"): "mandatory rules (admins)",
    ("/api/v1/groups", "GET"): "group list (JSON)",
    ("/api/v1/groups", "POST"): "create a group (JSON, staff)",
    ("/api/v1/groups/{id:int}", "GET"): "one group (JSON)",
    ("/api/v1/groups/{id:int}/join", "POST"): "join (JSON)",
    ("/api/v1/groups/{id:int}/leave", "POST"): "leave (JSON)",
    # Posts, comments, reactions, timelines and their JSON: every read goes through the post's
    # audience (a private group's post is 404 to a non-member and a customer, like a missing id,
    # on the post page and every fragment, the timelines, hashtag and person pages, the JSON API
    # and the mention autocomplete); linked records show only to who may see them.
    # tests/portal/test_posts.py, test_timeline_pages.py, test_api_posts.py and
    # test_record_walls.py (the walls ride on the record card pages, which are in the matrix).
    ("/posts", "POST"): "publish a post",
    ("/posts/new", "GET"): "the composer alone",
    ("/posts/{id:int}", "GET"): "a post's page",
    ("/posts/{id:int}/edit", "GET"): "edit a post (author)",
    ("/posts/{id:int}/edit", "POST"): "edit a post (author)",
    ("/posts/{id:int}/delete", "POST"): "delete a post (author, moderators)",
    ("/posts/{id:int}/pin", "POST"): "pin a post (group managers)",
    ("/posts/{id:int}/history", "GET"): "a post's earlier versions",
    ("/posts/{id:int}/reactions", "GET"): "who reacted",
    ("/posts/{id:int}/reactions", "POST"): "react",
    ("/posts/{id:int}/share", "GET"): "share a post",
    ("/posts/{id:int}/share", "POST"): "share a post",
    ("/posts/{id:int}/comments", "GET"): "a post's comments",
    ("/posts/{id:int}/comments", "POST"): "comment",
    ("/comments/{id:int}/edit", "POST"): "edit a comment (author)",
    ("/comments/{id:int}/delete", "POST"): "delete a comment (author, moderators)",
    ("/comments/{id:int}/history", "GET"): "a comment's earlier versions",
    ("/timeline", "GET"): "any timeline's pages",
    ("/hashtags/{tag}", "GET"): "a hashtag's posts",
    ("/people/{user_id:int}/posts", "GET"): "a person's posts",
    ("/follows", "POST"): "follow or mute",
    ("/posts/mentions", "GET"): "mention autocomplete",
    # The composer's record search: list_records's audience, as on the list pages
    # (test_posts.py::test_the_record_picker_offers_only_what_the_reader_may_see).
    ("/posts/records", "GET"): "record picker",
    ("/api/v1/posts", "POST"): "publish a post (JSON)",
    ("/api/v1/posts/{id:int}", "GET"): "a post (JSON)",
    ("/api/v1/timeline", "GET"): "a timeline (JSON)",
    ("/api/v1/posts/{id:int}/comments", "GET"): "comments (JSON)",
    ("/api/v1/posts/{id:int}/comments", "POST"): "comment (JSON)",
    ("/api/v1/comments/{id:int}", "PATCH"): "edit a comment (JSON)",
    ("/api/v1/comments/{id:int}", "DELETE"): "delete a comment (JSON)",
    ("/api/v1/posts/{id:int}/reactions", "GET"): "reactions (JSON)",
    ("/api/v1/posts/{id:int}/reaction", "PUT"): "react (JSON)",
    # Search, for everyone signed in, each caller's results filtered by their tokens inside the
    # index: tests/search/test_leaks.py (every document kind x every role, across hits,
    # snippets, suggestions and facet counts) and tests/search/test_http.py.
    ("/search", "GET"): "search",
    ("/search/suggest", "GET"): "search suggestions",
    ("/api/v1/search", "GET"): "search API",
    # Our CSS, JS and vendored libraries: no data.
    ("/static", "MOUNT"): "static files",
}
