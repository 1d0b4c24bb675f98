"""Everything a record's card shows: the record and its related records, as one principal may
see them.

Each card costs a fixed number of queries however many related rows exist: related lists are
single audience-filtered queries with a limit, and sums are computed in SQL. Lists that are cut
carry their full count so the card can link to the filtered list page.

Besides the audience filter on every related list, a card says which of its sections its reader
may see at all (``insider``, ``shows_amounts``): an account's contacts and invoices are for staff
and that account's own contacts, a project's money figures for staff. A section a reader may not
see is not queried, rather than queried and found empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.people.models import User
from domain.records.audience import RecordKind, visible
from domain.records.datalog import RecordChange, changes_of
from domain.records.invoicing import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Item,
    Payment,
    invoice_status_sql,
)
from domain.records.masking import EmployeeView, view_employee
from domain.records.org import Department, Employee, EmployeeSkill
from domain.records.projects import Project, ProjectMember, ProjectPartner
from domain.records.queries import (
    access_account,
    access_contact,
    access_employee,
    access_invoice,
    access_item,
    access_project,
    access_record,
)
from domain.records.relations import Account, Contact

RELATED_LIMIT = 50
# Invoices pile up: a card shows the newest and links to the list for the rest.
INVOICE_LIMIT = 20
T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]
HOURS_PER_UNIT = {"uur": 1, "hour": 1, "h": 1, "dagdeel": 4, "dag": 8, "day": 8}


@dataclass(frozen=True)
class Related(Generic[T]):
    items: list[T]
    total: int

    @property
    def more(self) -> bool:
        return self.total > len(self.items)


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    issue_date: date
    due_date: date
    total_cents: int
    open_cents: int
    status: InvoiceStatus
    currency: str


@dataclass(frozen=True)
class ProjectRow:
    id: int
    code: str
    name: str
    status: str
    end_date: date | None
    account_id: int | None = None


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    job_title: str
    role: str | None = None


@dataclass(frozen=True)
class AccountRow:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class ChangeRow:
    field: str
    old_value: str | None
    new_value: str | None
    actor: str | None
    change: RecordChange
    # For fields holding an employee id: the employee's name then and now, when known.
    old_name: str | None = None
    new_name: str | None = None


# Data Log fields whose values are employee ids, shown by name.
EMPLOYEE_FIELDS = frozenset({"account_manager_id", "manager_id"})


@dataclass
class AccountCard:
    account: Account
    manager: PersonRow | None
    contacts: Related[Contact]
    projects: Related[ProjectRow]
    invoices: Related[InvoiceRow]
    open_cents: int
    overdue_cents: int
    # Staff, or a contact of this very account: sees its contacts, invoices and open amounts.
    insider: bool = False
    log: list[ChangeRow] = field(default_factory=list)


@dataclass
class ContactCard:
    contact: Contact
    portal_active: bool
    account: AccountRow | None
    log: list[ChangeRow] = field(default_factory=list)


@dataclass
class ProjectCard:
    project: Project
    customer: AccountRow | None
    manager: PersonRow | None
    members: Related[PersonRow]
    partners: Related[AccountRow]
    invoices: Related[InvoiceRow]
    realised_hours: int
    realised_cents: int
    # Staff, or a contact of the project's customer: sees the project's invoices.
    insider: bool = False
    # Staff only: the money budget and what has been invoiced against it.
    shows_amounts: bool = False
    log: list[ChangeRow] = field(default_factory=list)

    @property
    def hours_progress(self) -> int | None:
        return progress(self.realised_hours, self.project.budget_hours)

    @property
    def amount_progress(self) -> int | None:
        if not self.shows_amounts:
            return None
        return progress(self.realised_cents, self.project.budget_cents)


@dataclass
class EmployeeCard:
    employee: EmployeeView
    department: Department | None
    manager: PersonRow | None
    reports: Related[PersonRow]
    projects: Related[ProjectRow]
    skills: list[str]


@dataclass
class InvoiceCard:
    invoice: Invoice
    status: InvoiceStatus
    account: AccountRow | None
    project: ProjectRow | None
    lines: list[InvoiceLine]
    payments: list[Payment]
    net_cents: int
    vat_cents: int


@dataclass
class ItemCard:
    item: Item
    times_invoiced: int
    revenue_cents: int


@dataclass(frozen=True)
class RecordSummary:
    """What a compact card shows: the record (an employee as the reader may see them) and the
    account it belongs to, if any and if visible."""

    kind: RecordKind
    record: Account | Contact | Project | EmployeeView | Invoice | Item
    account: AccountRow | None = None
    status: InvoiceStatus | None = None


def progress(realised: int, budget: int | None) -> int | None:
    """Realised as a whole percentage of budget; None without a budget. May exceed 100."""
    if not budget:
        return None
    return round(100 * realised / budget)


@dataclass(frozen=True)
class EmployeeChoice:
    id: int
    name: str
    number: str


async def _related(
    session: AsyncSession, stmt: AnySelect, limit: int = RELATED_LIMIT
) -> tuple[list[Any], int]:
    """Rows of a related list (at most ``limit``) and how many there are, in one query."""
    counted = stmt.add_columns(func.count().over().label("_total")).limit(limit)
    rows = (await session.execute(counted)).all()
    total = rows[0][-1] if rows else 0
    return [tuple(r)[:-1] for r in rows], total


async def _person(
    session: AsyncSession, principal: Principal, employee_id: int | None
) -> PersonRow | None:
    if employee_id is None:
        return None
    row = (
        await session.execute(
            select(Employee.id, Employee.name, Employee.job_title).where(
                Employee.id == employee_id,
                visible(RecordKind.EMPLOYEE, principal.tokens, Employee.id),
            )
        )
    ).first()
    return PersonRow(*row) if row else None


async def _account_row(
    session: AsyncSession, principal: Principal, account_id: int | None
) -> AccountRow | None:
    if account_id is None:
        return None
    row = (
        await session.execute(
            select(Account.id, Account.code, Account.name).where(
                Account.id == account_id,
                visible(RecordKind.ACCOUNT, principal.tokens, Account.id),
            )
        )
    ).first()
    return AccountRow(*row) if row else None


async def invoice_rows(
    session: AsyncSession,
    principal: Principal,
    today: date,
    *where: Any,
    limit: int = INVOICE_LIMIT,
) -> Related[InvoiceRow]:
    """The reader's invoices matching ``where``, newest first, at most ``limit``, with the count."""
    status = invoice_status_sql(today)
    rows, total = await _related(
        session,
        select(
            Invoice.id,
            Invoice.number,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.total_cents,
            Invoice.total_cents - Invoice.paid_cents,
            status,
            Invoice.currency,
        )
        .where(visible(RecordKind.INVOICE, principal.tokens, Invoice.id), *where)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc()),
        limit,
    )
    return Related(
        [
            InvoiceRow(r[0], r[1], r[2], r[3], r[4], max(r[5], 0), InvoiceStatus(r[6]), r[7])
            for r in rows
        ],
        total,
    )


async def _projects(
    session: AsyncSession, principal: Principal, *where: Any
) -> Related[ProjectRow]:
    rows, total = await _related(
        session,
        select(
            Project.id,
            Project.code,
            Project.name,
            Project.status,
            Project.end_date,
            Project.account_id,
        )
        .where(visible(RecordKind.PROJECT, principal.tokens, Project.id), *where)
        .order_by(Project.start_date.desc(), Project.id.desc()),
    )
    return Related([ProjectRow(r[0], r[1], r[2], str(r[3]), r[4], r[5]) for r in rows], total)


async def _log(
    session: AsyncSession, principal: Principal, kind: RecordKind, record_id: int
) -> list[ChangeRow]:
    if not principal.is_staff:
        return []
    changes = await changes_of(session, kind.value, record_id)
    ids = {
        int(value)
        for c, _actor in changes
        if c.field in EMPLOYEE_FIELDS
        for value in (c.old_value, c.new_value)
        if value and value.isdigit()
    }
    names: dict[str, str] = {}
    if ids:
        # One query for every employee the log names, however long the log.
        rows = await session.execute(
            select(Employee.id, Employee.name).where(Employee.id.in_(sorted(ids)))
        )
        names = {str(employee_id): name for employee_id, name in rows}

    def name(c: RecordChange, value: str | None) -> str | None:
        return names.get(value) if value and c.field in EMPLOYEE_FIELDS else None

    return [
        ChangeRow(
            c.field,
            c.old_value,
            c.new_value,
            actor,
            c,
            name(c, c.old_value),
            name(c, c.new_value),
        )
        for c, actor in changes
    ]


async def realised_by_project(
    session: AsyncSession, project_ids: Iterable[int]
) -> dict[int, tuple[int, int]]:
    """Hours and net amount invoiced per project, in one grouped query.

    Hours count the invoice lines whose item is sold by a unit of time (``HOURS_PER_UNIT``).
    Callers pass only projects their reader may see; the sums are of the projects, not of the
    reader's invoices.
    """
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    hours_case = case(
        *[
            (Item.unit == unit, InvoiceLine.quantity * factor)
            for unit, factor in HOURS_PER_UNIT.items()
        ],
        else_=0,
    )
    rows = await session.execute(
        select(
            Invoice.project_id,
            func.coalesce(func.sum(hours_case), 0),
            func.coalesce(func.sum(InvoiceLine.quantity * InvoiceLine.unit_price_cents), 0),
        )
        .select_from(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .outerjoin(Item, Item.id == InvoiceLine.item_id)
        .where(Invoice.project_id.in_(ids))
        .group_by(Invoice.project_id)
    )
    return {int(pid): (int(hours), int(cents)) for pid, hours, cents in rows}


async def employee_choices(session: AsyncSession) -> list[EmployeeChoice]:
    """Every employee, by name: the choices of an edit form's manager field (staff only)."""
    rows = await session.execute(
        select(Employee.id, Employee.name, Employee.number).order_by(Employee.name, Employee.id)
    )
    return [EmployeeChoice(*row) for row in rows]


async def account_card(
    session: AsyncSession, principal: Principal, account_id: int, today: date
) -> AccountCard:
    account = await access_account(session, principal, account_id)
    projects = await _projects(
        session,
        principal,
        (Project.account_id == account.id)
        | Project.id.in_(
            select(ProjectPartner.project_id).where(ProjectPartner.account_id == account.id)
        ),
    )
    manager = await _person(session, principal, account.account_manager_id)
    log = await _log(session, principal, RecordKind.ACCOUNT, account.id)
    if not (principal.is_staff or principal.account_id == account.id):
        return AccountCard(
            account=account,
            manager=manager,
            contacts=Related([], 0),
            projects=projects,
            invoices=Related([], 0),
            open_cents=0,
            overdue_cents=0,
            log=log,
        )
    contacts, contacts_total = await _related(
        session,
        select(Contact)
        .where(
            Contact.account_id == account.id,
            visible(RecordKind.CONTACT, principal.tokens, Contact.id),
        )
        .order_by(Contact.name, Contact.id),
    )
    status = invoice_status_sql(today)
    sums = (
        await session.execute(
            select(
                func.coalesce(
                    func.sum(
                        case(
                            (
                                status == InvoiceStatus.OPEN.value,
                                Invoice.total_cents - Invoice.paid_cents,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
                func.coalesce(
                    func.sum(
                        case(
                            (
                                status == InvoiceStatus.OVERDUE.value,
                                Invoice.total_cents - Invoice.paid_cents,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
            ).where(
                Invoice.account_id == account.id,
                visible(RecordKind.INVOICE, principal.tokens, Invoice.id),
            )
        )
    ).one()
    return AccountCard(
        account=account,
        manager=manager,
        contacts=Related([c[0] for c in contacts], contacts_total),
        projects=projects,
        invoices=await invoice_rows(session, principal, today, Invoice.account_id == account.id),
        open_cents=int(sums[0]),
        overdue_cents=int(sums[1]),
        insider=True,
        log=log,
    )


async def contact_card(session: AsyncSession, principal: Principal, contact_id: int) -> ContactCard:
    contact = await access_contact(session, principal, contact_id)
    portal_active = False
    if principal.is_staff and contact.user_id is not None:
        portal_active = bool(
            await session.scalar(select(User.is_active).where(User.id == contact.user_id))
        )
    return ContactCard(
        contact=contact,
        portal_active=portal_active,
        account=await _account_row(session, principal, contact.account_id),
        log=await _log(session, principal, RecordKind.CONTACT, contact.id),
    )


async def project_card(
    session: AsyncSession, principal: Principal, project_id: int, today: date
) -> ProjectCard:
    project = await access_project(session, principal, project_id)
    members, members_total = await _related(
        session,
        select(Employee.id, Employee.name, Employee.job_title, ProjectMember.role)
        .join(ProjectMember, ProjectMember.employee_id == Employee.id)
        .where(
            ProjectMember.project_id == project.id,
            visible(RecordKind.EMPLOYEE, principal.tokens, Employee.id),
        )
        .order_by(Employee.name, Employee.id),
    )
    partners, partners_total = await _related(
        session,
        select(Account.id, Account.code, Account.name)
        .join(ProjectPartner, ProjectPartner.account_id == Account.id)
        .where(
            ProjectPartner.project_id == project.id,
            visible(RecordKind.ACCOUNT, principal.tokens, Account.id),
        )
        .order_by(Account.name),
    )
    hours, cents = (await realised_by_project(session, [project.id])).get(project.id, (0, 0))
    insider = principal.is_staff or principal.account_id == project.account_id
    invoices: Related[InvoiceRow] = Related([], 0)
    if insider:
        invoices = await invoice_rows(session, principal, today, Invoice.project_id == project.id)
    return ProjectCard(
        project=project,
        customer=await _account_row(session, principal, project.account_id),
        manager=await _person(session, principal, project.manager_id),
        members=Related([PersonRow(*m) for m in members], members_total),
        partners=Related([AccountRow(*p) for p in partners], partners_total),
        invoices=invoices,
        realised_hours=hours,
        # Externals get no money figures at all, not merely a hidden column.
        realised_cents=cents if principal.is_staff else 0,
        insider=insider,
        shows_amounts=principal.is_staff,
        log=await _log(session, principal, RecordKind.PROJECT, project.id),
    )


async def employee_card(
    session: AsyncSession, principal: Principal, employee_id: int
) -> EmployeeCard:
    employee = await access_employee(session, principal, employee_id)
    view = view_employee(principal, employee)
    department = None
    if principal.is_staff and employee.department_id is not None:
        department = await session.get(Department, employee.department_id)
    reports: Related[PersonRow] = Related([], 0)
    skills: list[str] = []
    if principal.is_staff:
        rows, total = await _related(
            session,
            select(Employee.id, Employee.name, Employee.job_title)
            .where(Employee.manager_id == employee.id)
            .order_by(Employee.name, Employee.id),
        )
        reports = Related([PersonRow(*r) for r in rows], total)
        skills = list(
            (
                await session.scalars(
                    select(EmployeeSkill.skill)
                    .where(EmployeeSkill.employee_id == employee.id)
                    .order_by(EmployeeSkill.skill)
                )
            ).all()
        )
    projects = await _projects(
        session,
        principal,
        (Project.manager_id == employee.id)
        | Project.id.in_(
            select(ProjectMember.project_id).where(ProjectMember.employee_id == employee.id)
        ),
    )
    return EmployeeCard(
        employee=view,
        department=department,
        manager=await _person(session, principal, view.manager_id),
        reports=reports,
        projects=projects,
        skills=skills,
    )


async def invoice_card(
    session: AsyncSession, principal: Principal, invoice_id: int, today: date
) -> InvoiceCard:
    invoice = await access_invoice(session, principal, invoice_id)
    lines = list(
        (
            await session.scalars(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == invoice.id)
                .order_by(InvoiceLine.id)
            )
        ).all()
    )
    payments = list(
        (
            await session.scalars(
                select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.paid_on)
            )
        ).all()
    )
    project = None
    if invoice.project_id is not None:
        found = await _projects(session, principal, Project.id == invoice.project_id)
        project = found.items[0] if found.items else None
    return InvoiceCard(
        invoice=invoice,
        status=invoice.status_on(today),
        account=await _account_row(session, principal, invoice.account_id),
        project=project,
        lines=lines,
        payments=payments,
        net_cents=sum(line.net_cents for line in lines),
        vat_cents=sum(line.vat_cents for line in lines),
    )


async def item_card(session: AsyncSession, principal: Principal, item_id: int) -> ItemCard:
    item = await access_item(session, principal, item_id)
    usage = (
        await session.execute(
            select(
                func.count(func.distinct(InvoiceLine.invoice_id)),
                func.coalesce(func.sum(InvoiceLine.quantity * InvoiceLine.unit_price_cents), 0),
            ).where(InvoiceLine.item_id == item.id)
        )
    ).one()
    return ItemCard(item=item, times_invoiced=int(usage[0]), revenue_cents=int(usage[1]))


async def record_summary(
    session: AsyncSession, principal: Principal, kind: RecordKind, record_id: int, today: date
) -> RecordSummary:
    """The compact card of any record, in at most two queries; ``NotFound`` when not visible."""
    record = await access_record(session, principal, kind, record_id)
    if isinstance(record, Employee):
        return RecordSummary(kind, view_employee(principal, record))
    if isinstance(record, Contact | Project):
        account = await _account_row(session, principal, record.account_id)
        return RecordSummary(kind, record, account)
    if isinstance(record, Invoice):
        account = await _account_row(session, principal, record.account_id)
        return RecordSummary(kind, record, account, record.status_on(today))
    return RecordSummary(kind, record)
