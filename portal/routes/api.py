"""The JSON API, version 1: record lists and single records.

- ``GET /api/v1/{kind}?<filters>&sort=&cursor=&limit=`` → ``{"items": [...], "next": cursor}``:
  the same filters, sorts and keyset cursors as the list pages (``next`` is null on the last
  page); ``limit`` is 1 to 200, 50 by default.
- ``GET /api/v1/{kind}/{id}`` → the record's fields, loaded through ``access_record``.

The rules are the pages' rules: the reader's audience decides which records exist for them,
externals may list only the kinds in ``records_lists.EXTERNAL_KINDS`` (but may read any single
record their audience lets them see, as on its card page: a customer its own account), and they
get no staff-only
fields (a list's ``staff_only_columns``, plus a contact's sign-in link); employees go through
``masking.view_employee``, so HR-private fields reach only HR and the employee themself.

Every record has ``id``; accounts, projects, employees and items have ``name`` (an item's is its
description). Dates are ISO 8601 strings; money is integer cents in fields ending in ``_cents``.
Errors are ``{"error": {"status": ..., "message": ...}}``: 400 with a message that starts with
the parameter's name, 401 when nobody is signed in, 404 for unknown kinds and for ids the reader
may not see — the same answer as for ids that do not exist.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.access import Principal
from domain.errors import NotFound, ValidationFailed
from domain.records.audience import RecordKind
from domain.records.invoicing import Invoice, Item
from domain.records.lists import DEFAULT_LIMIT, MAX_LIMIT, SPECS, list_records
from domain.records.masking import view_employee
from domain.records.org import Employee
from domain.records.queries import access_record
from domain.text import N_
from portal.auth.guards import require_principal
from portal.errors import error_response
from portal.i18n import gettext as _
from portal.record_kinds import kind_from_slug
from portal.routes.records_lists import CURSOR_MAX, FILTER_MAX, listable_kind, read_filters
from portal.state import app_state

BAD_LIMIT = N_("Expected a whole number from 1 to 200.")
# Fields externals never get, beyond the kind's list's staff-only columns.
STAFF_ONLY_FIELDS: dict[RecordKind, frozenset[str]] = {
    RecordKind.CONTACT: frozenset({"user_id"}),
}
# Employee fields that ``view_employee`` shows to staff only, and to HR and the employee only.
EMPLOYEE_STAFF_ONLY = frozenset({"number", "department_id", "manager_id", "hired_on"})
EMPLOYEE_PRIVATE = frozenset({"private_address", "date_of_birth"})


def jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def record_fields(
    principal: Principal, kind: RecordKind, record: Any, today: date
) -> dict[str, Any]:
    """The fields of one record that this principal may read, ready for JSON."""
    if isinstance(record, Employee):
        view = view_employee(principal, record)
        fields = {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}
        hidden = {"shows_private"}
        if not view.shows_private:
            hidden |= EMPLOYEE_PRIVATE
        if not principal.is_staff:
            hidden |= EMPLOYEE_STAFF_ONLY
    else:
        fields = {
            attr.key: getattr(record, attr.key) for attr in inspect(type(record)).column_attrs
        }
        hidden = set()
        if not principal.is_staff:
            hidden |= SPECS[kind].staff_only_columns | STAFF_ONLY_FIELDS.get(kind, frozenset())
    if isinstance(record, Item):
        fields["name"] = record.name
    if isinstance(record, Invoice):
        fields["status"] = record.status_on(today)
        fields["open_cents"] = record.open_cents
    return {key: jsonable(value) for key, value in fields.items() if key not in hidden}


def read_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed({"limit": BAD_LIMIT}) from None
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationFailed({"limit": BAD_LIMIT})
    return value


def bad_request(request: Request, exc: ValidationFailed) -> Response:
    message = "; ".join(f"{name}: {_(text)}" for name, text in exc.errors.items())
    return error_response(request, 400, message)


async def record_list(request: Request) -> Response:
    principal = require_principal(request)
    kind = listable_kind(principal, request.path_params["kind"])
    params = request.query_params
    try:
        limit = read_limit(params.get("limit"))
        async with app_state(request)["db"].session() as session:
            page = await list_records(
                session,
                principal,
                kind,
                today=date.today(),
                filters=read_filters(kind, params),
                sort=params.get("sort", "")[:FILTER_MAX] or None,
                cursor=params.get("cursor", "")[:CURSOR_MAX] or None,
                limit=limit,
            )
    except ValidationFailed as exc:
        return bad_request(request, exc)
    items = [{key: jsonable(value) for key, value in row.items()} for row in page.rows]
    return JSONResponse({"items": items, "next": page.next})


async def record_detail(request: Request) -> Response:
    principal = require_principal(request)
    # One record follows its card page's rule (the audience alone), not the list's: a customer
    # reads its own account here though accounts are not a list for them.
    kind = kind_from_slug(request.path_params["kind"])
    record_id: int = request.path_params["id"]
    if not 0 < record_id < 2**31:  # no such id can exist; the database would refuse it
        raise NotFound(str(record_id))
    async with app_state(request)["db"].session() as session:
        record = await access_record(session, principal, kind, record_id)
    return JSONResponse(record_fields(principal, kind, record, date.today()))


routes = [
    Route("/api/v1/{kind}", record_list, methods=["GET"], name="api_record_list"),
    Route("/api/v1/{kind}/{id:int}", record_detail, methods=["GET"], name="api_record"),
]
