"""Record lists: the index of kinds, one list page per kind, its exports, and the people directory.

A list page is a GET form of filters, a table with sortable headers and keyset pagination
("Load more" is a plain link to ``?cursor=…``; htmx fetches the next rows into the table
instead). An htmx request gets only the rows fragment, and both answers carry
``Vary: HX-Request``. Rows come from ``domain.records.lists.list_records``, which keeps every
reader inside their audience and hides staff-only columns and filters from externals.

Which kinds externals may list (``EXTERNAL_KINDS``): invoices and projects (their own), employees
(the people who work with them) and contacts (their colleagues). Accounts are not a list for them
— their own account is on their home page — nor are items; those answer 404, like staff-only
pages. The JSON API follows the same rule.

The people directory lives here too, as the employee list in another shape; it is staff-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from domain.access import Principal
from domain.errors import NotFound, ValidationFailed
from domain.records.audience import RecordKind
from domain.records.lists import (
    MAX_LIMIT,
    SPECS,
    Options,
    Page,
    filter_options,
    list_records,
    principal_may_filter,
    visible_columns,
)
from domain.text import N_
from portal.auth.guards import require_principal, require_staff
from portal.errors import error_response
from portal.exports import FORMATS, export_chunks, make_writer
from portal.i18n import gettext as _
from portal.record_kinds import SLUG_OF, kind_from_slug
from portal.state import app_state

EXTERNAL_KINDS = frozenset(
    {RecordKind.CONTACT, RecordKind.PROJECT, RecordKind.EMPLOYEE, RecordKind.INVOICE}
)
FILTER_MAX = 200  # longer filter values are cut; no filter needs more
CURSOR_MAX = 4096  # a cursor holds a sort value: up to 200 characters, JSON-escaped, in base64

TITLES = {
    RecordKind.ACCOUNT: N_("Accounts"),
    RecordKind.CONTACT: N_("Contacts"),
    RecordKind.PROJECT: N_("Projects"),
    RecordKind.EMPLOYEE: N_("Employees"),
    RecordKind.INVOICE: N_("Invoices"),
    RecordKind.ITEM: N_("Items"),
}
DESCRIPTIONS = {
    RecordKind.ACCOUNT: N_("Customers and partners."),
    RecordKind.CONTACT: N_("The people at our customers and partners."),
    RecordKind.PROJECT: N_("Projects for customers, with their status and budget."),
    RecordKind.EMPLOYEE: N_("Our colleagues, by department."),
    RecordKind.INVOICE: N_("Sales invoices: open, overdue and paid."),
    RecordKind.ITEM: N_("The items and services we sell."),
}
# Labels of stored values shown as badges and in selects.
VALUE_LABELS = {
    "open": N_("Open"),
    "paid": N_("Paid"),
    "overdue": N_("Overdue"),
    "planned": N_("Planned"),
    "active": N_("Active"),
    "on_hold": N_("On hold"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
    "customer": N_("Customer"),
    "partner": N_("Partner"),
}
# Names of the parameters a message can be about that have no control of their own in a form.
PARAMETER_LABELS = {
    "cursor": N_("Page"),
    "sort": N_("Sort by"),
    "project": N_("Project"),
    "member": N_("Team member"),
    "manager": N_("Manager"),
}


@dataclass(frozen=True)
class Column:
    """A column of a list table: the row key, its heading, its sort key (if sortable) and how
    to show it: text, link (to the card), code, date, money, badge, email, phone, percent."""

    key: str
    label: str
    sort: str | None = None
    show: str = "text"


@dataclass(frozen=True)
class FilterField:
    """A control of the filter form. ``choices`` are fixed values (labelled by
    ``VALUE_LABELS``); a select without them takes its choices from
    ``domain.records.lists.filter_options``. ``hint`` is a placeholder saying what is searched."""

    name: str
    label: str
    control: str = "text"  # text | search | select | date | list (text with suggestions)
    choices: tuple[str, ...] = ()
    hint: str = ""


COLUMNS: dict[RecordKind, tuple[Column, ...]] = {
    RecordKind.ACCOUNT: (
        Column("code", N_("Code"), "code", "code"),
        Column("name", N_("Name"), "name", "link"),
        Column("type", N_("Type"), None, "badge"),
        Column("city", N_("City"), "city"),
        Column("country", N_("Country")),
        Column("credit_limit_cents", N_("Credit limit"), None, "money"),
    ),
    RecordKind.CONTACT: (
        Column("name", N_("Name"), "name", "link"),
        Column("job_title", N_("Job title")),
        Column("account_name", N_("Account"), "account"),
        Column("email", N_("Email"), None, "email"),
        Column("phone", N_("Phone"), None, "phone"),
    ),
    RecordKind.PROJECT: (
        Column("code", N_("Code"), "code", "code"),
        Column("name", N_("Project"), "name", "link"),
        Column("account_name", N_("Customer"), "account"),
        Column("status", N_("Status"), "status", "badge"),
        Column("start_date", N_("Starts"), None, "date"),
        Column("end_date", N_("Ends"), "end_date", "date"),
        Column("budget_cents", N_("Budget"), None, "money"),
    ),
    RecordKind.EMPLOYEE: (
        Column("name", N_("Name"), "name", "link"),
        Column("job_title", N_("Job title"), "job_title"),
        Column("department_name", N_("Department")),
        Column("email", N_("Email"), None, "email"),
        Column("work_phone", N_("Phone"), None, "phone"),
    ),
    RecordKind.INVOICE: (
        Column("number", N_("Number"), "number", "link"),
        Column("account_name", N_("Customer"), "account"),
        Column("issue_date", N_("Issued"), "issue_date", "date"),
        Column("due_date", N_("Due"), "due_date", "date"),
        Column("total_cents", N_("Total"), "total", "money"),
        Column("status", N_("Status"), None, "badge"),
    ),
    RecordKind.ITEM: (
        Column("code", N_("Code"), "code", "code"),
        Column("description", N_("Description"), "description", "link"),
        Column("unit", N_("Unit")),
        Column("price_cents", N_("Price"), "price", "money"),
        Column("vat_rate_bp", N_("VAT"), None, "percent"),
    ),
}


def search(hint: str) -> FilterField:
    return FilterField("q", N_("Search"), "search", hint=hint)


FILTERS: dict[RecordKind, tuple[FilterField, ...]] = {
    RecordKind.ACCOUNT: (
        search(N_("Name or code")),
        FilterField("type", N_("Type"), "select", ("customer", "partner")),
        FilterField("city", N_("City")),
        FilterField("country", N_("Country")),
        FilterField("manager", N_("Account manager"), "select"),
    ),
    RecordKind.CONTACT: (
        search(N_("Name or email address")),
        FilterField("account", N_("Account"), "select"),
    ),
    RecordKind.PROJECT: (
        search(N_("Name, code or customer")),
        FilterField(
            "status",
            N_("Status"),
            "select",
            ("planned", "active", "on_hold", "completed", "cancelled"),
        ),
        FilterField("account", N_("Customer"), "select"),
        FilterField("manager", N_("Project manager"), "select"),
    ),
    RecordKind.EMPLOYEE: (
        search(N_("Name, job title or email address")),
        FilterField("department", N_("Department"), "select"),
        FilterField("skill", N_("Skill"), "list"),
    ),
    RecordKind.INVOICE: (
        search(N_("Invoice number or customer")),
        FilterField("status", N_("Status"), "select", ("open", "overdue", "paid")),
        FilterField("account", N_("Customer"), "select"),
        FilterField("from", N_("Issued from"), "date"),
        FilterField("to", N_("Issued until"), "date"),
    ),
    RecordKind.ITEM: (
        search(N_("Code or description")),
        FilterField("unit", N_("Unit"), "select"),
    ),
}


# -- reading a request ---------------------------------------------------------------------------


def listable_kind(principal: Principal, slug: str) -> RecordKind:
    """The kind named in the URL, if this principal may list it; else 404."""
    kind = kind_from_slug(slug)
    if principal.is_external and kind not in EXTERNAL_KINDS:
        raise NotFound(slug)
    return kind


def read_filters(kind: RecordKind, params: Mapping[str, str]) -> dict[str, str]:
    """The kind's filters present in the query (unknown parameters are ignored)."""
    return {name: params[name][:FILTER_MAX] for name in SPECS[kind].filters if params.get(name, "")}


def translated(exc: ValidationFailed) -> dict[str, str]:
    return {name: _(message) for name, message in exc.errors.items()}


def labels_of(kind: RecordKind) -> dict[str, str]:
    """Labels (untranslated) of every parameter a message may name, for the error list."""
    return PARAMETER_LABELS | {f.name: f.label for f in FILTERS[kind]}


def wants_fragment(request: Request) -> bool:
    """An htmx request for rows — not a boosted navigation or a history restore, which need
    the whole page."""
    headers = request.headers
    return (
        "hx-request" in headers
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def path_with(request: Request, name: str, params: Mapping[str, str], **path: Any) -> str:
    """A local URL of a named route with a query of the non-empty ``params``."""
    query = urlencode({k: v for k, v in params.items() if v})
    target = request.url_for(name, **path).path
    return f"{target}?{query}" if query else target


def card_paths(request: Request, slug: str) -> Callable[[int], str]:
    """Paths of record cards (route ``record_card``) for many rows: the route is looked up once,
    not once per row — ``url_for`` walks the whole route table each time."""
    sample = request.url_for("record_card", kind=slug, id=0).path
    if not sample.endswith("/0"):
        raise RuntimeError(f"record_card paths no longer end in the id: {sample}")
    prefix = sample.removesuffix("0")
    return lambda record_id: f"{prefix}{int(record_id)}"


@dataclass(frozen=True)
class Listing:
    """One list page as asked for: the kind, its filters, sort and cursor, and whether htmx
    wants only the rows. ``url`` builds links to the same page with another query."""

    request: Request
    principal: Principal
    kind: RecordKind
    filters: dict[str, str]
    sort: str  # "" for the kind's default
    cursor: str
    url: Callable[[Mapping[str, str]], str]

    @classmethod
    def read(
        cls,
        request: Request,
        principal: Principal,
        kind: RecordKind,
        route: str,
        path: Mapping[str, str] | None = None,
    ) -> Listing:
        """The query of a list page served by ``route`` (with these path parameters)."""
        params = request.query_params
        sort = params.get("sort", "")[:FILTER_MAX]
        return cls(
            request=request,
            principal=principal,
            kind=kind,
            filters=read_filters(kind, params),
            sort="" if sort == SPECS[kind].default_sort else sort,
            cursor=params.get("cursor", "")[:CURSOR_MAX],
            url=lambda query: path_with(request, route, query, **(path or {})),
        )

    @property
    def fragment(self) -> bool:
        return wants_fragment(self.request)

    @property
    def kept(self) -> dict[str, str]:
        """The query that names this list (not its page): filters and a non-default sort."""
        return {**self.filters, "sort": self.sort}

    async def load(self) -> tuple[Page | None, dict[str, str], dict[str, Options]]:
        """The page of rows (None when the query is bad), the translated messages about the
        query, and — for a full page — the choices of the filter form."""
        page, errors, options = None, {}, {}
        async with app_state(self.request)["db"].session() as session:
            try:
                page = await list_records(
                    session,
                    self.principal,
                    self.kind,
                    today=date.today(),
                    filters=self.filters,
                    sort=self.sort or None,
                    cursor=self.cursor or None,
                )
            except ValidationFailed as exc:
                errors = translated(exc)
            if not self.fragment:
                options = await filter_options(session, self.principal, self.kind)
        return page, errors, options

    def rows_context(self, page: Page | None, errors: dict[str, str]) -> dict[str, Any]:
        """What the rows fragment needs: rows, messages, and the next page's link."""
        more = self.url({**self.kept, "cursor": page.next}) if page and page.next else None
        return {"rows": page.rows if page else [], "errors": errors, "more_url": more}

    def form_context(self, errors: dict[str, str], options: dict[str, Options]) -> dict[str, Any]:
        """What the filter form and the page around the rows need."""
        spec = SPECS[self.kind]
        fields = [
            f for f in FILTERS[self.kind] if principal_may_filter(spec, self.principal, f.name)
        ]
        shown = {f.name for f in fields}
        labels = labels_of(self.kind)
        carried = [
            {
                "name": name,
                "value": value,
                "label": labels.get(name, name),
                "remove_url": self.url({k: v for k, v in self.kept.items() if k != name}),
            }
            for name, value in self.filters.items()
            if name not in shown
        ]
        return {
            "fields": fields,
            "labels": labels,
            "values": self.filters,
            "options": options,
            # Filters in the URL without a control of their own (a card's "show all" link
            # filters invoices by project, say): kept as hidden fields, shown, removable.
            "carried": carried,
            "sort": self.sort or spec.default_sort,
            "form_action": self.url({}),
            "clear_url": self.url({}),
            "first_url": self.url(self.kept) if self.cursor and not errors else None,
            "value_labels": VALUE_LABELS,
        }


def respond(request: Request, template: str, context: dict[str, Any]) -> Response:
    """A page or fragment; 400 when the query was bad. Caches must keep the two apart."""
    status = 400 if context["errors"] else 200
    response = app_state(request)["templates"].TemplateResponse(
        request, template, context, status_code=status
    )
    response.headers.add_vary_header("HX-Request")
    return response


# -- pages -----------------------------------------------------------------------------------------


async def records_index(request: Request) -> Response:
    require_staff(request)
    kinds = [(SLUG_OF[kind], TITLES[kind], DESCRIPTIONS[kind]) for kind in RecordKind]
    return app_state(request)["templates"].TemplateResponse(
        request, "records/index.html", {"kinds": kinds}
    )


def sort_link(listing: Listing, column: Column) -> dict[str, str]:
    """The header link of a sortable column: ascending first, then flipping direction."""
    assert column.sort is not None
    current = listing.sort or SPECS[listing.kind].default_sort
    state = ""
    if current == column.sort:
        state = "ascending"
    elif current == "-" + column.sort:
        state = "descending"
    target = "-" + column.sort if state == "ascending" else column.sort
    return {"href": listing.url({**listing.filters, "sort": target}), "state": state}


async def record_list(request: Request) -> Response:
    principal = require_principal(request)
    slug = request.path_params["kind"]
    kind = listable_kind(principal, slug)
    listing = Listing.read(request, principal, kind, "record_list", {"kind": slug})
    page, errors, options = await listing.load()

    shown = visible_columns(SPECS[kind], principal, date.today())
    columns = [c for c in COLUMNS[kind] if c.key in shown]
    context = {
        "slug": slug,
        "title": TITLES[kind],
        "columns": columns,
        "value_labels": VALUE_LABELS,
        "card_url": card_paths(request, slug),
        **listing.rows_context(page, errors),
    }
    if listing.fragment:
        return respond(request, "records/_rows.html", context)
    sortable = [c for c in columns if c.sort]
    context |= listing.form_context(errors, options) | {
        "sorts": {c.key: sort_link(listing, c) for c in sortable},
        "sort_choices": sortable,
        "exports": {
            fmt: path_with(request, "record_export", listing.kept, kind=slug, fmt=fmt)
            for fmt in FORMATS
        },
    }
    return respond(request, "records/list.html", context)


async def record_export(request: Request) -> Response:
    principal = require_principal(request)
    fmt = request.path_params["fmt"]
    if fmt not in FORMATS:
        raise NotFound(fmt)
    slug = request.path_params["kind"]
    kind = listable_kind(principal, slug)
    spec = SPECS[kind]
    db = app_state(request)["db"]
    today = date.today()
    filters = read_filters(kind, request.query_params)
    sort = request.query_params.get("sort", "")[:FILTER_MAX] or None

    async def page_after(cursor: str | None) -> Page:
        async with db.session() as session:
            return await list_records(
                session,
                principal,
                kind,
                today=today,
                filters=filters,
                sort=sort,
                cursor=cursor,
                limit=MAX_LIMIT,
            )

    try:
        first = await page_after(None)  # bad filters fail here, before the response starts
    except ValidationFailed as exc:
        labels = labels_of(kind)
        message = "; ".join(f"{_(labels.get(k, k))}: {v}" for k, v in translated(exc).items())
        return error_response(request, 400, message)

    async def next_rows(cursor: str) -> tuple[list[dict[str, Any]], str | None]:
        page = await page_after(cursor)
        return page.rows, page.next

    writer = make_writer(
        fmt, visible_columns(spec, principal, today), root=slug, element=kind.value
    )
    filename = f"{slug}-{today.isoformat()}.{fmt}"
    return StreamingResponse(
        export_chunks(writer, first.rows, first.next, next_rows),
        media_type=writer.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def people(request: Request) -> Response:
    """The employee directory: people as cards, searched by name, skill and department."""
    principal = require_staff(request)
    listing = Listing.read(request, principal, RecordKind.EMPLOYEE, "people")
    page, errors, options = await listing.load()
    context = listing.rows_context(page, errors) | {"card_url": card_paths(request, "employees")}
    if listing.fragment:
        return respond(request, "people/_results.html", context)
    context |= listing.form_context(errors, options) | {"sort_choices": []}
    return respond(request, "people/index.html", context)


routes = [
    Route("/records", records_index, methods=["GET"], name="records"),
    Route("/records/{kind}", record_list, methods=["GET"], name="record_list"),
    Route("/records/{kind}/export.{fmt}", record_export, methods=["GET"], name="record_export"),
    Route("/people", people, methods=["GET"], name="people"),
]
