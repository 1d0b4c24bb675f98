"""Record lists: filters, sorting and keyset pagination, always inside the reader's audience.

One ``ListSpec`` per kind declares its columns (what a list row holds, also what the JSON API
and exports give), its filters (each parses and validates its raw text) and its sort keys. A page
is one query: ``WHERE audience AND filters AND (sort, id) after cursor ORDER BY sort, id LIMIT n+1``
— so page 1,000 costs what page 1 costs. Cursors are opaque base64 of the last row's sort key,
its id and the sort's name; a cursor that does not fit the sort is refused as a bad value.

Externals see neither the staff-only columns nor the staff-only filters of a kind.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Enum,
    Integer,
    String,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import ValidationFailed
from domain.matching import contains_or_all
from domain.records.audience import RecordKind, visible
from domain.records.invoicing import Invoice, InvoiceStatus, Item, invoice_status_sql
from domain.records.org import Department, Employee, EmployeeSkill
from domain.records.projects import Project, ProjectMember, ProjectStatus
from domain.records.relations import Account, AccountType, Contact
from domain.text import N_

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
BAD_CURSOR = N_("This page link is no longer valid. Start from the first page.")

Filter = Callable[[str, date], ColumnElement[bool]]


@dataclass(frozen=True)
class ListSpec:
    kind: RecordKind
    model: Any
    columns: Callable[[date], dict[str, Any]]
    sorts: dict[str, Callable[[date], Any]]
    default_sort: str
    filters: dict[str, Filter] = field(default_factory=dict)
    joins: tuple[tuple[Any, Any], ...] = ()
    staff_only_columns: frozenset[str] = frozenset()
    # Filters on what externals may not read (a manager, a department, skills): for them these
    # are ignored like unknown filters, or a filter would reveal the hidden value row by row.
    staff_only_filters: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next: str | None
    sort: str
    filters: dict[str, str]


# -- filter parsers: each raises ValidationFailed naming the filter ------------------------------


def _int(name: str) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValidationFailed({name: N_("Expected a whole number.")}) from None
        if not 0 < value < 2**31:
            raise ValidationFailed({name: N_("Expected a whole number.")})
        return value

    return parse


def _date(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed({name: N_("Expected a date like 2026-01-31.")}) from None


def _choice(name: str, raw: str, choices: set[str]) -> str:
    if raw not in choices:
        raise ValidationFailed({name: N_("This is not one of the allowed values.")})
    return raw


def _contains(*columns: Any) -> Filter:
    def build(raw: str, today: date) -> ColumnElement[bool]:
        return contains_or_all(raw, *columns, limit=100)

    return build


def _equals_int(name: str, column: Any) -> Filter:
    parse = _int(name)
    return lambda raw, today: column == parse(raw)


def _equals_choice(name: str, column: Any, choices: type[enum.Enum]) -> Filter:
    values = {c.value for c in choices}
    return lambda raw, today: column == choices(_choice(name, raw, values))


def _sorts(**keys: Any) -> dict[str, Callable[[date], Any]]:
    """Sort keys that are the same whatever the day."""

    def fixed(key: Any) -> Callable[[date], Any]:
        return lambda today: key

    return {name: fixed(key) for name, key in keys.items()}


def _status_filter(raw: str, today: date) -> ColumnElement[bool]:
    value = _choice("status", raw, {s.value for s in InvoiceStatus})
    return invoice_status_sql(today) == value


# -- the kinds ------------------------------------------------------------------------------------

SPECS: dict[RecordKind, ListSpec] = {
    RecordKind.ACCOUNT: ListSpec(
        kind=RecordKind.ACCOUNT,
        model=Account,
        columns=lambda today: {
            "id": Account.id,
            "code": Account.code,
            "name": Account.name,
            "type": Account.type,
            "city": Account.city,
            "country": Account.country,
            "vat_number": Account.vat_number,
            "credit_limit_cents": Account.credit_limit_cents,
            "account_manager_id": Account.account_manager_id,
        },
        sorts=_sorts(name=Account.name, code=Account.code, city=func.coalesce(Account.city, "")),
        default_sort="name",
        filters={
            "q": _contains(Account.name, Account.code),
            "type": _equals_choice("type", Account.type, AccountType),
            "city": lambda raw, today: func.lower(Account.city) == raw.strip().lower(),
            "country": lambda raw, today: Account.country == raw.strip().upper()[:2],
            "manager": _equals_int("manager", Account.account_manager_id),
        },
        staff_only_columns=frozenset({"credit_limit_cents", "account_manager_id"}),
        staff_only_filters=frozenset({"manager"}),
    ),
    RecordKind.CONTACT: ListSpec(
        kind=RecordKind.CONTACT,
        model=Contact,
        columns=lambda today: {
            "id": Contact.id,
            "name": Contact.name,
            "job_title": Contact.job_title,
            "email": Contact.email,
            "phone": Contact.phone,
            "account_id": Contact.account_id,
            "account_name": Account.name,
        },
        sorts=_sorts(name=Contact.name, account=Account.name),
        default_sort="name",
        filters={
            "q": _contains(Contact.name, Contact.email),
            "account": _equals_int("account", Contact.account_id),
        },
        joins=((Account, Account.id == Contact.account_id),),
    ),
    RecordKind.PROJECT: ListSpec(
        kind=RecordKind.PROJECT,
        model=Project,
        columns=lambda today: {
            "id": Project.id,
            "code": Project.code,
            "name": Project.name,
            "status": Project.status,
            "account_id": Project.account_id,
            "account_name": Account.name,
            "manager_id": Project.manager_id,
            "start_date": Project.start_date,
            "end_date": Project.end_date,
            "budget_hours": Project.budget_hours,
            "budget_cents": Project.budget_cents,
        },
        sorts=_sorts(
            code=Project.code,
            name=Project.name,
            account=Account.name,
            status=Project.status,
            end_date=func.coalesce(Project.end_date, date(9999, 12, 31)),
        ),
        default_sort="code",
        filters={
            "q": _contains(Project.name, Project.code, Account.name),
            "status": _equals_choice("status", Project.status, ProjectStatus),
            "manager": _equals_int("manager", Project.manager_id),
            "account": _equals_int("account", Project.account_id),
            "member": lambda raw, today: Project.id.in_(
                select(ProjectMember.project_id).where(
                    ProjectMember.employee_id == _int("member")(raw)
                )
            ),
        },
        joins=((Account, Account.id == Project.account_id),),
        staff_only_columns=frozenset({"budget_cents", "manager_id"}),
        staff_only_filters=frozenset({"manager"}),
    ),
    RecordKind.EMPLOYEE: ListSpec(
        kind=RecordKind.EMPLOYEE,
        model=Employee,
        columns=lambda today: {
            "id": Employee.id,
            "name": Employee.name,
            "job_title": Employee.job_title,
            "email": Employee.email,
            "work_phone": Employee.work_phone,
            "department_id": Employee.department_id,
            "department_name": Department.name,
            "manager_id": Employee.manager_id,
        },
        sorts=_sorts(name=Employee.name, job_title=Employee.job_title),
        default_sort="name",
        filters={
            "q": _contains(Employee.name, Employee.job_title, Employee.email),
            "department": _equals_int("department", Employee.department_id),
            "manager": _equals_int("manager", Employee.manager_id),
            "skill": lambda raw, today: Employee.id.in_(
                select(EmployeeSkill.employee_id).where(
                    func.lower(EmployeeSkill.skill) == raw.strip().lower()[:80]
                )
            ),
        },
        joins=((Department, Department.id == Employee.department_id),),
        staff_only_columns=frozenset({"department_id", "department_name", "manager_id"}),
        # Skills are shown to staff only (the employee card), so searching them is staff-only.
        staff_only_filters=frozenset({"department", "manager", "skill"}),
    ),
    RecordKind.INVOICE: ListSpec(
        kind=RecordKind.INVOICE,
        model=Invoice,
        columns=lambda today: {
            "id": Invoice.id,
            "number": Invoice.number,
            "account_id": Invoice.account_id,
            "account_name": Account.name,
            "project_id": Invoice.project_id,
            "currency": Invoice.currency,
            "issue_date": Invoice.issue_date,
            "due_date": Invoice.due_date,
            "total_cents": Invoice.total_cents,
            "paid_cents": Invoice.paid_cents,
            "status": invoice_status_sql(today),
        },
        sorts=_sorts(
            issue_date=Invoice.issue_date,
            due_date=Invoice.due_date,
            number=Invoice.number,
            account=Account.name,
            total=Invoice.total_cents,
        ),
        default_sort="-issue_date",
        filters={
            "q": _contains(Invoice.number, Account.name),
            "status": _status_filter,
            "account": _equals_int("account", Invoice.account_id),
            "project": _equals_int("project", Invoice.project_id),
            "from": lambda raw, today: Invoice.issue_date >= _date("from", raw),
            "to": lambda raw, today: Invoice.issue_date <= _date("to", raw),
        },
        joins=((Account, Account.id == Invoice.account_id),),
    ),
    RecordKind.ITEM: ListSpec(
        kind=RecordKind.ITEM,
        model=Item,
        columns=lambda today: {
            "id": Item.id,
            "code": Item.code,
            "name": Item.description,
            "description": Item.description,
            "unit": Item.unit,
            "price_cents": Item.price_cents,
            "vat_rate_bp": Item.vat_rate_bp,
        },
        sorts=_sorts(code=Item.code, description=Item.description, price=Item.price_cents),
        default_sort="code",
        filters={
            "q": _contains(Item.code, Item.description),
            "unit": lambda raw, today: Item.unit == raw.strip()[:20],
        },
    ),
}


def encode_cursor(value: Any, record_id: int, sort: str = "") -> str:
    """The position after a row: its sort value and id, and the sort they belong to."""
    if isinstance(value, date):
        key: list[Any] = ["d", value.isoformat(), record_id, sort]
    else:
        key = ["v", getattr(value, "value", value), record_id, sort]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str = "", sort_type: Any = None) -> tuple[Any, int]:
    """Read a cursor made by ``encode_cursor`` for this sort. Cursors come from URLs, so anything
    else — another sort's cursor, a value of the wrong type for the sort column, an id out of
    range — is refused here rather than reaching the database as a type error."""
    try:
        if len(cursor) > 4096:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, value, record_id, cursor_sort = json.loads(raw)
        if cursor_sort != sort or tag not in ("d", "v"):
            raise ValueError(cursor)
        if type(record_id) is not int or not 0 <= record_id < 2**31:
            raise ValueError(cursor)
        if tag == "d":
            value = date.fromisoformat(value)
        if sort_type is not None and not _fits(value, sort_type):
            raise ValueError(cursor)
        if not isinstance(value, str | int | date):
            raise ValueError(cursor)
        return value, record_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationFailed({"cursor": BAD_CURSOR}) from None


def _fits(value: Any, sort_type: Any) -> bool:
    """Whether a cursor value can be compared with a sort column of this SQL type."""
    if isinstance(sort_type, Date):
        return isinstance(value, date)
    if isinstance(sort_type, Integer):
        return type(value) is int and -(2**63) <= value < 2**63
    if isinstance(sort_type, Enum):
        return value in sort_type.enums
    if isinstance(sort_type, String):
        return isinstance(value, str) and "\x00" not in value
    return False


def visible_columns(spec: ListSpec, principal: Principal, today: date) -> dict[str, Any]:
    columns = spec.columns(today)
    if not principal.is_staff:
        columns = {k: v for k, v in columns.items() if k not in spec.staff_only_columns}
    return columns


def principal_may_filter(spec: ListSpec, principal: Principal, name: str) -> bool:
    return principal.is_staff or name not in spec.staff_only_filters


async def list_records(
    session: AsyncSession,
    principal: Principal,
    kind: RecordKind,
    *,
    today: date,
    filters: dict[str, str] | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """One page of a kind's records that the principal may see. Unknown filters are ignored
    (links stay valid as filters evolve); bad values raise ``ValidationFailed``, naming every
    bad filter at once so a form can mark them all."""
    spec = SPECS[kind]
    sort = sort or spec.default_sort
    descending = sort.startswith("-")
    sort_name = sort[1:] if descending else sort
    if sort_name not in spec.sorts:
        raise ValidationFailed({"sort": N_("This is not one of the allowed values.")})
    limit = max(1, min(limit, MAX_LIMIT))
    sort_key = spec.sorts[sort_name](today)
    id_column = spec.model.id

    columns = visible_columns(spec, principal, today)
    stmt = select(*[c.label(n) for n, c in columns.items()], sort_key.label("_sort"))
    stmt = stmt.select_from(spec.model)
    for target, on in spec.joins:
        stmt = stmt.outerjoin(target, on)
    stmt = stmt.where(visible(kind, principal.tokens, id_column))

    applied: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, raw in (filters or {}).items():
        if name not in spec.filters or not principal_may_filter(spec, principal, name):
            continue
        # PostgreSQL refuses NUL in text; it can only come from a hand-made URL.
        raw = raw.replace("\x00", "")
        if raw.strip():
            try:
                stmt = stmt.where(spec.filters[name](raw, today))
            except ValidationFailed as exc:
                errors.update(exc.errors)
            applied[name] = raw.strip()
    if errors:
        raise ValidationFailed(errors)

    if cursor:
        after_value, after_id = decode_cursor(cursor, sort, sort_key.type)
        typed_value: Any = literal(after_value, type_=sort_key.type)
        if descending:
            stmt = stmt.where(
                or_(sort_key < typed_value, and_(sort_key == typed_value, id_column < after_id))
            )
        else:
            stmt = stmt.where(
                or_(sort_key > typed_value, and_(sort_key == typed_value, id_column > after_id))
            )
    if descending:
        stmt = stmt.order_by(sort_key.desc(), id_column.desc())
    else:
        stmt = stmt.order_by(sort_key, id_column)
    stmt = stmt.limit(limit + 1)

    result = (await session.execute(stmt)).mappings().all()
    rows = [dict(r) for r in result[:limit]]
    next_cursor = None
    if len(result) > limit:
        last = rows[-1]
        next_cursor = encode_cursor(last["_sort"], last["id"], sort)
    for row in rows:
        row.pop("_sort", None)
        for key, value in row.items():
            if hasattr(value, "value") and not isinstance(value, date):
                row[key] = value.value
    return Page(rows=rows, next=next_cursor, sort=sort, filters=applied)


# -- choices for the filters that pick one of a few known values ---------------------------------

Options = list[tuple[str, str]]


# A <select> of thousands of accounts costs more to build and send than the page's rows (45 ms of
# a staff invoice list at 20x the demo), and is no way to pick one anyway: past this many choices a
# filter has none, and the form shows a plain input for it (``filter_options``). A few hundred (the
# demo company's 244 accounts) still make a select that jumps by typed letters.
MAX_OPTIONS = 500


async def _options(session: AsyncSession, stmt: Any) -> Options:
    return [(str(value), str(label)) for value, label in (await session.execute(stmt)).all()]


async def _few_options(session: AsyncSession, stmt: Any) -> Options | None:
    """The choices of ``stmt``, or None when there are more than ``MAX_OPTIONS``."""
    options = await _options(session, stmt.limit(MAX_OPTIONS + 1))
    return None if len(options) > MAX_OPTIONS else options


def _accounts_of(kind: RecordKind, principal: Principal, account_id: Any) -> Any:
    """The accounts, by name, that the principal may see and that occur in their rows of a
    kind. Staff see every row of every kind, so for them "has a row" is enough — checking each
    row's audience would cost a pass over all of them (every invoice) per page view."""
    rows = select(account_id).where(account_id == Account.id)
    if not principal.is_staff:
        rows = rows.where(visible(kind, principal.tokens, SPECS[kind].model.id))
    return (
        select(Account.id, Account.name)
        .where(visible(RecordKind.ACCOUNT, principal.tokens, Account.id), exists(rows))
        .order_by(Account.name, Account.id)
    )


def _employees_in(employee_id: Any) -> Any:
    """The employees, by name, that a column names (the managers of accounts or projects)."""
    return (
        select(Employee.id, Employee.name)
        .where(Employee.id.in_(select(employee_id)))
        .order_by(Employee.name, Employee.id)
    )


async def filter_options(
    session: AsyncSession, principal: Principal, kind: RecordKind
) -> dict[str, Options]:
    """(value, label) choices for a kind's filters that name another record or a fixed
    vocabulary — accounts, managers, departments, skills, units — limited to what occurs in the
    principal's own rows, so a choice never names a record they may not see. A filter with more
    than ``MAX_OPTIONS`` accounts to choose from (staff, at scale) gets no choices: its value is
    typed instead."""
    options: dict[str, Options] = {}
    staff = principal.is_staff
    account_id = {
        RecordKind.INVOICE: Invoice.account_id,
        RecordKind.CONTACT: Contact.account_id,
        RecordKind.PROJECT: Project.account_id,
    }.get(kind)
    if account_id is not None:
        accounts = await _few_options(session, _accounts_of(kind, principal, account_id))
        if accounts is not None:
            options["account"] = accounts
    if kind is RecordKind.PROJECT and staff:
        options["manager"] = await _options(session, _employees_in(Project.manager_id))
    elif kind is RecordKind.ACCOUNT and staff:
        options["manager"] = await _options(session, _employees_in(Account.account_manager_id))
    elif kind is RecordKind.EMPLOYEE and staff:
        options["department"] = await _options(
            session, select(Department.id, Department.name).order_by(Department.name)
        )
        skills = select(EmployeeSkill.skill).distinct().order_by(EmployeeSkill.skill)
        options["skill"] = [(s, s) for s in (await session.scalars(skills)).all()]
    elif kind is RecordKind.ITEM and staff:
        units = select(Item.unit).distinct().order_by(Item.unit)
        options["unit"] = [(u, u) for u in (await session.scalars(units)).all()]
    return options
