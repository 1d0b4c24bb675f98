"""Importing accounts, contacts, projects, items and invoices from CSV or XML, for administrators.

All or nothing: every row is checked first — its cells (``import_formats``, with the columns of
``import_columns``), then its references (account codes, employee numbers, … looked up in a few
``IN`` queries, never one per row) and the rules that need the database. Any problem, and the
report lists every problem found and nothing is written. Otherwise every row is created or updated
in the caller's one transaction: changed fields of existing records go to the Data Log, and the
audiences of every touched record (and of employees whose accounts or projects changed hands) are
recomputed before it commits.

Each kind's file refers to records of other kinds only, so a reference must already be in the
database (import accounts before their contacts and projects, items before invoices).

Known limit: imports record no events. The catalogue has no kind for created records, and one
``record.updated`` per row of a 50,000-row file would flood the log; consumers that keep their own
copy (the search index) must be rebuilt after a large import, as after loading the demo.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import RowMapping, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.records import audience
from domain.records.audience import RecordKind
from domain.records.datalog import log_changes
from domain.records.import_columns import INVOICES, SPECS, Column, KindSpec, Ref
from domain.records.import_formats import (
    DUPLICATE_ROW,
    REQUIRED,
    Problems,
    Row,
    RowError,
    check_file,
    combine,
)
from domain.records.invoicing import Invoice, InvoiceLine, Item, line_total_cents
from domain.records.org import Employee
from domain.records.projects import Project
from domain.records.relations import Account, Contact
from domain.text import N_

__all__ = ["SPECS", "ImportReport", "RowError", "check_import", "do_import"]

CHUNK = 500  # values per IN (...): far below SQLite's and asyncpg's bind-parameter limits
REFRESH_ALL_ABOVE = 2_000  # touched records beyond which a kind's audiences are rebuilt whole
MAX_TOTAL_CENTS = 10**15  # an invoice total, well inside the 64-bit integer of both databases

UNKNOWN = {
    Ref.EMPLOYEE: N_("No employee has this number or id."),
    Ref.ACCOUNT: N_("No account has this code or id."),
    Ref.PROJECT: N_("No project has this code or id."),
    Ref.ITEM: N_("No item has this code or id."),
}
UNKNOWN_CONTACT = N_("No contact has this id.")
AMBIGUOUS_CONTACT = N_("More than one contact of this account matches this row.")
END_BEFORE_START = N_("The end date is before the start date.")
DUE_BEFORE_ISSUE = N_("The due date is before the issue date.")
PROJECT_OF_OTHER_ACCOUNT = N_("This project belongs to another account.")
TOTAL_TOO_LARGE = N_("The total of this invoice is too large.")
RACE = N_("Records changed while this file was imported. Nothing was imported; try again.")

_LOOKUPS: dict[Ref, tuple[Any, Any, tuple[Any, ...]]] = {
    # ref: (code column, id column, further columns a check needs)
    Ref.EMPLOYEE: (Employee.number, Employee.id, ()),
    Ref.ACCOUNT: (Account.code, Account.id, ()),
    Ref.PROJECT: (Project.code, Project.id, (Project.account_id,)),
    Ref.ITEM: (Item.code, Item.id, (Item.description, Item.price_cents, Item.vat_rate_bp)),
}
_MODELS: dict[RecordKind, Any] = {
    RecordKind.ACCOUNT: Account,
    RecordKind.CONTACT: Contact,
    RecordKind.PROJECT: Project,
    RecordKind.ITEM: Item,
}

T = TypeVar("T")
Changes = dict[str, tuple[Any, Any]]
Line = tuple[int | None, str, int, int, int]  # item id, description, quantity, unit price, VAT


@dataclass(frozen=True)
class ImportReport:
    ok: bool
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


def check_import(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only administrators import records")


async def do_import(
    session: AsyncSession, principal: Principal, kind: RecordKind, data: bytes, *, now: datetime
) -> ImportReport:
    """Check the whole file, then write all of it in the caller's transaction, or nothing."""
    check_import(principal)
    spec = SPECS.get(kind)
    if spec is None:
        raise NotFound(kind.value)
    await _plan_with_the_values(session)
    problems = Problems()
    rows, present = check_file(spec, data, problems)
    invoices: list[_InvoicePlan] = []
    plan: list[tuple[Row, RowMapping | None]] = []
    if rows:
        await _resolve(session, present, rows, problems)
        combine(spec, present, rows, problems)
        good = [row for row in rows if row.ok]
        if kind is RecordKind.INVOICE:
            invoices = await _plan_invoices(session, present, good, problems)
        else:
            plan = await _plan_records(session, spec, good, problems)
    if problems:
        return ImportReport(ok=False, errors=problems.report())
    try:
        if kind is RecordKind.INVOICE:
            created, updated = await _write_invoices(session, invoices, principal.user_id, now)
        else:
            created, updated = await _write_records(session, spec, plan, principal.user_id, now)
    except IntegrityError:
        # Someone created the same code in the meantime; the caller's transaction rolls back.
        raise ValidationFailed({"": RACE}) from None
    return ImportReport(ok=True, created=created, updated=updated)


async def _plan_with_the_values(session: AsyncSession) -> None:
    """Lookups run as prepared statements, ``IN`` a chunk of values. After a few runs PostgreSQL
    may switch to a generic plan; when its statistics do not yet know of a large import a
    moment ago, that plan scans the whole table comparing each row with every value in turn —
    over a minute for 50,000 codes instead of seconds. Plans made for the actual values use the
    unique indexes. ``SET LOCAL`` ends with the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _chunks(values: Iterable[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


async def _load(
    session: AsyncSession, model: Any, column: str, values: Iterable[Any]
) -> list[RowMapping]:
    """The stored rows of ``model`` whose ``column`` is one of ``values``, as plain mappings:
    they are compared, never changed in place, so nothing in the session goes stale when the
    bulk statements below write."""
    table = model.__table__
    found: list[RowMapping] = []
    for chunk in _chunks(sorted(set(values))):
        result = await session.execute(select(table).where(table.c[column].in_(chunk)))
        found.extend(result.mappings().all())
    return found


async def _ids(session: AsyncSession, model: Any, column: str, values: Iterable[Any]) -> list[int]:
    table = model.__table__
    ids: list[int] = []
    for chunk in _chunks(sorted(set(values))):
        result = await session.scalars(select(table.c.id).where(table.c[column].in_(chunk)))
        ids.extend(result.all())
    return ids


async def _resolve(
    session: AsyncSession, present: list[Column], rows: list[Row], problems: Problems
) -> None:
    """Replace each reference by the id of the record it names, keeping what checks need."""
    for column in present:
        if column.ref is None:
            continue
        code_column, id_column, extra = _LOOKUPS[column.ref]
        key = id_column if column.by_id else code_column
        wanted = {row.cells[column.name] for row in rows if row.cells.get(column.name) is not None}
        found: dict[Any, tuple[Any, ...]] = {}
        for chunk in _chunks(sorted(wanted)):
            result = await session.execute(select(key, id_column, *extra).where(key.in_(chunk)))
            found.update((record[0], tuple(record[1:])) for record in result)
        for row in rows:
            value = row.cells.get(column.name)
            if value is None:
                continue
            if value not in found:
                problems.add(row.number, column.name, UNKNOWN[column.ref])
                row.ok = False
                continue
            row.cells[column.name] = found[value][0]
            row.found[column.attr] = found[value]


# -- accounts, contacts, projects, items: one row, one record -------------------------------------


async def _plan_records(
    session: AsyncSession, spec: KindSpec, rows: list[Row], problems: Problems
) -> list[tuple[Row, RowMapping | None]]:
    """Each row with the stored record it updates, or ``None`` to create one."""
    if spec.kind is RecordKind.CONTACT:
        return await _plan_contacts(session, rows, problems)
    model = _MODELS[spec.kind]
    codes = [row.attrs["code"] for row in rows]
    existing = {r["code"]: r for r in await _load(session, model, "code", codes)}
    plan = [(row, existing.get(row.attrs["code"])) for row in rows]
    if spec.kind is RecordKind.PROJECT:
        for row, old in plan:
            start = row.attrs.get("start_date", old["start_date"] if old else None)
            end = row.attrs.get("end_date", old["end_date"] if old else None)
            if start and end and end < start:
                problems.add(row.number, "end_date", END_BEFORE_START)
    return plan


async def _plan_contacts(
    session: AsyncSession, rows: list[Row], problems: Problems
) -> list[tuple[Row, RowMapping | None]]:
    """A contact has no code: it is named by its id, else by account and email address (or by
    account and name, for a row or a stored contact without one). Two rows naming one contact,
    or a row naming two, is a problem."""
    ids = [row.attrs["id"] for row in rows if row.attrs.get("id") is not None]
    by_id = {c["id"]: c for c in await _load(session, Contact, "id", ids)}
    accounts = [row.attrs["account_id"] for row in rows]
    by_key: dict[tuple[Any, ...], list[RowMapping]] = {}
    for contact in await _load(session, Contact, "account_id", accounts):
        if contact["email"]:
            email_key = ("email", contact["account_id"], contact["email"].lower())
            by_key.setdefault(email_key, []).append(contact)
        by_key.setdefault(("name", contact["account_id"], contact["name"]), []).append(contact)
    plan: list[tuple[Row, RowMapping | None]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for row in rows:
        contact_id = row.attrs.pop("id", None)
        old: RowMapping | None = None
        if contact_id is not None:
            old = by_id.get(contact_id)
            if old is None:
                problems.add(row.number, "id", UNKNOWN_CONTACT)
                continue
            key: tuple[Any, ...] = ("id", old["id"])
        else:
            email = row.attrs.get("email")
            by = ("email", email.lower()) if email else ("name", row.attrs["name"])
            candidates = by_key.get((by[0], row.attrs["account_id"], by[1]), [])
            if email and not candidates:  # an email address given to a contact who had none
                named = by_key.get(("name", row.attrs["account_id"], row.attrs["name"]), [])
                candidates = [c for c in named if not c["email"]]
            if len(candidates) > 1:
                problems.add(row.number, by[0], AMBIGUOUS_CONTACT)
                continue
            old = candidates[0] if candidates else None
            key = ("id", old["id"]) if old else (by[0], row.attrs["account_id"], by[1])
        if key in seen:
            problems.add(row.number, None, DUPLICATE_ROW, row=seen[key])
            continue
        seen[key] = row.number
        plan.append((row, old))
    return plan


def _diff(old: RowMapping, new: dict[str, Any]) -> Changes:
    return {name: (old[name], value) for name, value in new.items() if old[name] != value}


async def _update(session: AsyncSession, model: Any, updates: list[tuple[int, Changes]]) -> None:
    """Bulk UPDATEs by primary key, one executemany per set of changed columns."""
    batches: dict[frozenset[str], list[dict[str, Any]]] = {}
    for record_id, changes in updates:
        values = {name: new for name, (_old, new) in changes.items() if name != "lines"}
        if values:
            batches.setdefault(frozenset(values), []).append({"id": record_id, **values})
    for params in batches.values():
        await session.execute(update(model), params)


def _log(
    session: AsyncSession,
    kind: RecordKind,
    updates: list[tuple[int, Changes]],
    actor: int,
    now: datetime,
) -> None:
    for record_id, changes in updates:
        log_changes(session, kind.value, record_id, changes, actor, now)


async def _refresh(session: AsyncSession, kind: RecordKind, ids: Iterable[int | None]) -> None:
    wanted = {i for i in ids if i is not None}
    if wanted:
        await audience.refresh(session, kind, None if len(wanted) > REFRESH_ALL_ABOVE else wanted)


def _old_and_new(
    attr: str, created: list[dict[str, Any]], updates: list[tuple[int, Changes]]
) -> set[Any]:
    """``attr`` of new records, and before and after on changed ones: whose audience changes."""
    values = {values.get(attr) for values in created}
    for _record_id, changes in updates:
        values.update(changes.get(attr, ()))
    return values


async def _write_records(
    session: AsyncSession,
    spec: KindSpec,
    plan: list[tuple[Row, RowMapping | None]],
    actor: int,
    now: datetime,
) -> tuple[int, int]:
    model = _MODELS[spec.kind]
    defaults = {attr: value for attr, (value, _shown) in spec.defaults.items()}
    created = [{**defaults, **row.attrs} for row, old in plan if old is None]
    updates = [
        (old["id"], c) for row, old in plan if old is not None and (c := _diff(old, row.attrs))
    ]
    if created:
        await session.execute(insert(model), created)
    await _update(session, model, updates)
    _log(session, spec.kind, updates, actor, now)
    if spec.kind is RecordKind.CONTACT:
        # New contacts are known by their account only; refreshing its other contacts is harmless.
        new_ids = await _ids(session, Contact, "account_id", (c["account_id"] for c in created))
    else:
        new_ids = await _ids(session, model, "code", (c["code"] for c in created))
    await _refresh(session, spec.kind, [*new_ids, *(record_id for record_id, _ in updates)])
    if spec.kind is RecordKind.ACCOUNT:
        managers = _old_and_new("account_manager_id", created, updates)
        await _refresh(session, RecordKind.EMPLOYEE, managers)
    if spec.kind is RecordKind.PROJECT:
        # An account's audience holds its projects' tokens; an employee's, their projects'.
        await _refresh(session, RecordKind.ACCOUNT, _old_and_new("account_id", created, updates))
        await _refresh(session, RecordKind.EMPLOYEE, _old_and_new("manager_id", created, updates))
    return len(created), len(updates)


# -- invoices: one row per line, lines grouped by invoice number -----------------------------------


@dataclass
class _InvoicePlan:
    header: dict[str, Any]
    lines: list[Line]
    total: int
    old: RowMapping | None = None
    old_lines: list[Line] = field(default_factory=list)


def _column_for(present: list[Column], attr: str) -> str:
    return next(c.name for c in present if c.attr == attr)


async def _plan_invoices(
    session: AsyncSession, present: list[Column], rows: list[Row], problems: Problems
) -> list[_InvoicePlan]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.attrs["number"], []).append(row)
    plans: list[_InvoicePlan] = []
    for lines in groups.values():
        first = lines[0]
        header = {a: v for a, v in first.attrs.items() if a in INVOICES.per_group}
        if header["due_date"] < header["issue_date"]:
            problems.add(first.number, "due_date", DUE_BEFORE_ISSUE)
        project = first.found.get("project_id")
        if project is not None and project[1] != header["account_id"]:
            problems.add(first.number, _column_for(present, "project_id"), PROJECT_OF_OTHER_ACCOUNT)
        invoice_lines = [_line(row, problems) for row in lines]
        total = sum(line_total_cents(*line[2:]) for line in invoice_lines)
        if abs(total) >= MAX_TOTAL_CENTS:
            problems.add(first.number, None, TOTAL_TOO_LARGE)
        plans.append(_InvoicePlan(header, invoice_lines, total))
    by_number = {r["number"]: r for r in await _load(session, Invoice, "number", groups)}
    old_lines: dict[int, list[Line]] = {}
    for chunk in _chunks(sorted(r["id"] for r in by_number.values())):
        result = await session.execute(
            select(
                InvoiceLine.invoice_id,
                InvoiceLine.item_id,
                InvoiceLine.description,
                InvoiceLine.quantity,
                InvoiceLine.unit_price_cents,
                InvoiceLine.vat_rate_bp,
            )
            .where(InvoiceLine.invoice_id.in_(chunk))
            .order_by(InvoiceLine.id)
        )
        for invoice_id, *line in result:
            old_lines.setdefault(invoice_id, []).append(tuple(line))  # type: ignore[arg-type]
    for plan in plans:
        plan.old = by_number.get(plan.header["number"])
        if plan.old is not None:
            plan.old_lines = old_lines.get(plan.old["id"], [])
    return plans


def _line(row: Row, problems: Problems) -> Line:
    """A line's values; what the row leaves empty comes from its item, if it names one."""
    item = row.found.get("item_id")
    description = row.attrs.get("description") or (item[1] if item else None)
    price = row.attrs.get("unit_price_cents")
    if price is None and item:
        price = item[2]
    vat = row.attrs.get("vat_rate_bp")
    if vat is None:
        vat = item[3] if item else 2100
    if description is None:
        problems.add(row.number, "description", REQUIRED)
    if price is None:
        problems.add(row.number, "unit_price", REQUIRED)
    return (row.attrs.get("item_id"), description or "", row.attrs["quantity"], price or 0, vat)


def _summary(lines: list[Line]) -> str:
    """The lines as the Data Log keeps them, old and new, when an import replaces them."""
    return "; ".join(
        f"{quantity} × {description} @ {Decimal(price) / 100:.2f} ({Decimal(vat) / 100:g}%)"
        for _item, description, quantity, price, vat in lines
    )


async def _write_invoices(
    session: AsyncSession, plans: list[_InvoicePlan], actor: int, now: datetime
) -> tuple[int, int]:
    created: list[dict[str, Any]] = []
    updates: list[tuple[int, Changes]] = []
    new_lines: dict[str, list[Line]] = {}
    for plan in plans:
        values = {**plan.header, "total_cents": plan.total}
        if plan.old is None:
            created.append({**values, "paid_cents": 0})
            new_lines[values["number"]] = plan.lines
            continue
        changes = _diff(plan.old, values)
        if plan.lines != plan.old_lines:
            changes["lines"] = (_summary(plan.old_lines), _summary(plan.lines))
            new_lines[values["number"]] = plan.lines
        if changes:
            updates.append((plan.old["id"], changes))
    if created:
        await session.execute(insert(Invoice), created)
    replaced = [plan.old["id"] for plan in plans if plan.old and plan.header["number"] in new_lines]
    for chunk in _chunks(replaced):
        await session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(chunk)))
    await _update(session, Invoice, updates)
    invoice_ids = {r["number"]: r["id"] for r in await _load(session, Invoice, "number", new_lines)}
    line_rows = [
        {
            "invoice_id": invoice_ids[number],
            "item_id": item_id,
            "description": description,
            "quantity": quantity,
            "unit_price_cents": price,
            "vat_rate_bp": vat,
        }
        for number, lines in new_lines.items()
        for item_id, description, quantity, price, vat in lines
    ]
    if line_rows:
        await session.execute(insert(InvoiceLine), line_rows)
    _log(session, RecordKind.INVOICE, updates, actor, now)
    new_ids = [invoice_ids[c["number"]] for c in created]
    await _refresh(session, RecordKind.INVOICE, [*new_ids, *(i for i, _ in updates)])
    return len(created), len(updates)
