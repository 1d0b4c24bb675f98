"""Record cards: one page per ERP record with everything related to it, the compact card that
posts, widgets and search results embed, and the staff's edits made from the card.

- ``GET /records/{kind}/{id}`` (``record_card``): the card page. Related records link to their own
  cards; a related list that was cut links to the filtered list page ("show all N").
- ``GET /records/{kind}/{id}/card`` (``record_fragment``): the compact card. An htmx request gets
  the bare fragment, to swap in anywhere (no ids, no scripts, no htmx attributes); a plain visit
  gets the same fragment in a minimal document with the stylesheet and nothing else, so the link
  still reads without JavaScript. Hence ``Vary: HX-Request``. The fragments are
  ``templates/cards/<kind>.html``; whoever embeds one renders it with ``record`` and ``summary``
  from ``domain.records.cards.record_summary`` (which loads through ``access_<kind>``).
- ``POST /records/{kind}/{id}`` (``record_edit``): staff edit accounts, contacts and projects. The
  form always sends every field it shows; an absent field counts as empty. Success answers 303 to
  the card, whose Data Log shows the change; invalid values re-render the card with the messages
  and 422, changing nothing. Externals get 404, as if the form did not exist; staff posting to a
  kind without edits get 405.

Every record is loaded through the domain's card functions, which load it with ``access_<kind>``:
a record the reader may not see answers 404 exactly like one that does not exist.

The manager fields are a ``<select>`` of every employee (about 130 in the demo company): long, but
a browser's select jumps by typed letters and needs no JavaScript, where a number field would make
people look numbers up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Principal
from domain.errors import NotFound, ValidationFailed
from domain.records.actions import do_update_account, do_update_contact, do_update_project
from domain.records.audience import RecordKind
from domain.records.cards import (
    account_card,
    contact_card,
    employee_card,
    employee_choices,
    invoice_card,
    item_card,
    project_card,
    record_summary,
)
from domain.records.projects import ProjectStatus
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.forms import read_form
from portal.i18n import gettext as _
from portal.record_kinds import SLUG_OF, kind_from_slug
from portal.routes.timelines import wall_for
from portal.state import app_state

CardLoader = Callable[[AsyncSession, Principal, int, date], Awaitable[Any]]


async def _contact(session: AsyncSession, principal: Principal, rid: int, today: date) -> Any:
    return await contact_card(session, principal, rid)


async def _employee(session: AsyncSession, principal: Principal, rid: int, today: date) -> Any:
    return await employee_card(session, principal, rid)


async def _item(session: AsyncSession, principal: Principal, rid: int, today: date) -> Any:
    return await item_card(session, principal, rid)


LOADERS: dict[RecordKind, CardLoader] = {
    RecordKind.ACCOUNT: account_card,
    RecordKind.CONTACT: _contact,
    RecordKind.PROJECT: project_card,
    RecordKind.EMPLOYEE: _employee,
    RecordKind.INVOICE: invoice_card,
    RecordKind.ITEM: _item,
}

EditAction = Callable[[AsyncSession, Principal, int, Mapping[str, str], datetime], Awaitable[Any]]


@dataclass(frozen=True)
class Edit:
    """An editable kind: its domain action, its form fields (with the longest raw text read;
    the domain has the real rules) and which of the card's records the form edits."""

    action: EditAction
    limits: dict[str, int]
    record: Callable[[Any], Any]
    chooses_employee: bool

    def initial(self, card: Any) -> dict[str, str]:
        """The form filled from the card's record: amounts in cents as the form types them
        (1250.00), everything else as its text."""
        record = self.record(card)
        values: dict[str, str] = {}
        for name in self.limits:
            value = getattr(record, name)
            values[name] = amount_text(value) if name.endswith("_cents") else _text(value)
        return values


def amount_text(cents: int | None) -> str:
    """Cents as the plain amount the edit forms show and the domain parses back: 1250.00."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(getattr(value, "value", value))


EDITS: dict[RecordKind, Edit] = {
    RecordKind.ACCOUNT: Edit(
        do_update_account,
        {
            "name": 400,
            "city": 300,
            "country": 20,
            "vat_number": 40,
            "credit_limit_cents": 40,
            "account_manager_id": 20,
        },
        lambda card: card.account,
        chooses_employee=True,
    ),
    RecordKind.CONTACT: Edit(
        do_update_contact,
        {"name": 400, "job_title": 300, "email": 300, "phone": 60},
        lambda card: card.contact,
        chooses_employee=False,
    ),
    RecordKind.PROJECT: Edit(
        do_update_project,
        {
            "name": 400,
            "status": 20,
            "manager_id": 20,
            "start_date": 20,
            "end_date": 20,
            "budget_hours": 20,
            "budget_cents": 40,
            "description": 5000,
        },
        lambda card: card.project,
        chooses_employee=True,
    ),
}


def _kind_and_id(request: Request) -> tuple[RecordKind, str, int]:
    slug = request.path_params["kind"]
    return kind_from_slug(slug), slug, int(request.path_params["id"])


async def _render_card(
    request: Request,
    principal: Principal,
    kind: RecordKind,
    record_id: int,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    state = app_state(request)
    today = date.today()
    edit = EDITS.get(kind) if principal.is_staff else None
    async with state["db"].session() as session:
        card = await LOADERS[kind](session, principal, record_id, today)
        employees = await employee_choices(session) if edit and edit.chooses_employee else []
        # The record's wall, the posts linked to it: templates/posts/_wall.html.
        wall = await wall_for(request, session, principal, kind, record_id)
    context = {
        "card": card,
        "kind": kind,
        "slug": SLUG_OF[kind],
        "today": today,
        "editable": edit is not None,
        "values": values if values is not None else (edit.initial(card) if edit else {}),
        "errors": errors or {},
        "saved": request.query_params.get("saved"),
        "employees": employees,
        "project_statuses": list(ProjectStatus),
        "wall": wall,
    }
    return state["templates"].TemplateResponse(
        request, f"records/{kind.value}.html", context, status_code=status_code
    )


async def card_page(request: Request) -> Response:
    principal = require_principal(request)
    kind, _slug, record_id = _kind_and_id(request)
    return await _render_card(request, principal, kind, record_id)


async def card_fragment(request: Request) -> Response:
    principal = require_principal(request)
    kind, _slug, record_id = _kind_and_id(request)
    state = app_state(request)
    today = date.today()
    async with state["db"].session() as session:
        summary = await record_summary(session, principal, kind, record_id, today)
    htmx = request.headers.get("hx-request") == "true"
    template = f"cards/{kind.value}.html" if htmx else "records/_fragment_page.html"
    return state["templates"].TemplateResponse(
        request,
        template,
        {"summary": summary, "record": summary.record, "kind": kind, "slug": SLUG_OF[kind]},
        headers={"Vary": "HX-Request"},
    )


async def card_edit(request: Request) -> Response:
    principal = require_principal(request)
    kind, slug, record_id = _kind_and_id(request)
    if not principal.is_staff:
        # Externals never learn that records can be edited, nor which exist.
        raise NotFound(request.url.path)
    edit = EDITS.get(kind)
    if edit is None:
        return error_response(request, 405, headers={"Allow": "GET"})
    form = await read_form(request, edit.limits)
    errors = {name: _(message) for name, message in form.errors.items()}
    changes: dict[str, Any] = {}
    if not errors:
        try:
            async with app_state(request)["db"].transaction() as session:
                changes = await edit.action(
                    session, principal, record_id, form.values, datetime.now(UTC)
                )
        except ValidationFailed as exc:
            errors = {name: _(message) for name, message in exc.errors.items()}
    if errors:
        return await _render_card(
            request,
            principal,
            kind,
            record_id,
            status_code=422,
            values=form.values,
            errors=errors,
        )
    target = request.url_for("record_card", kind=slug, id=record_id).path
    return RedirectResponse(f"{target}?saved={'1' if changes else '0'}", status_code=303)


routes = [
    Route("/records/{kind}/{id:int}", card_page, methods=["GET"], name="record_card"),
    Route("/records/{kind}/{id:int}", card_edit, methods=["POST"], name="record_edit"),
    Route("/records/{kind}/{id:int}/card", card_fragment, methods=["GET"], name="record_fragment"),
]
