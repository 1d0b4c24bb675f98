"""What the home page shows each kind of user, read with the audience rules.

Staff see the company at a glance and their own projects. A customer contact sees their account,
its recent invoices with the totals per status, its projects with their progress, and the people
who serve them (the account manager, the managers and members of their projects). A partner
contact sees only the projects their account partners on and the customers of those projects —
no invoices, no people, not even their own account manager.

Every external read is filtered on the reader's audience (``visible``) as well as on their
account, so the home page can never show more than the cards it links to would.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Principal
from domain.records.audience import RecordKind, visible
from domain.records.cards import (
    AccountRow,
    InvoiceRow,
    Related,
    invoice_rows,
    progress,
    realised_by_project,
)
from domain.records.invoicing import Invoice, InvoiceStatus, invoice_status_sql
from domain.records.org import Employee
from domain.records.projects import Project, ProjectMember, ProjectPartner, ProjectStatus
from domain.records.relations import Account, AccountType

PROJECT_LIMIT = 12
INVOICE_LIMIT = 10
PEOPLE_LIMIT = 24
CUSTOMER_LIMIT = 24

# Projects that need attention first; finished ones last.
STATUS_ORDER = case(
    {
        ProjectStatus.ACTIVE: 0,
        ProjectStatus.ON_HOLD: 1,
        ProjectStatus.PLANNED: 2,
        ProjectStatus.COMPLETED: 3,
        ProjectStatus.CANCELLED: 4,
    },
    value=Project.status,
    else_=5,
)


@dataclass(frozen=True)
class ProjectLine:
    id: int
    code: str
    name: str
    status: ProjectStatus
    account_name: str
    end_date: date | None
    account_id: int | None = None
    budget_hours: int = 0
    realised_hours: int = 0

    @property
    def hours_progress(self) -> int | None:
        return progress(self.realised_hours, self.budget_hours)


@dataclass(frozen=True)
class InvoiceTotals:
    count: int = 0
    open_cents: int = 0


class ServiceRole(enum.StrEnum):
    """What an employee does for a customer, the most direct role first."""

    ACCOUNT_MANAGER = "account_manager"
    PROJECT_MANAGER = "project_manager"
    PROJECT_MEMBER = "project_member"


@dataclass(frozen=True)
class ServingPerson:
    id: int
    name: str
    job_title: str
    email: str
    work_phone: str | None
    role: ServiceRole


@dataclass
class Overview:
    account: Account | None = None
    account_manager: ServingPerson | None = None
    projects: list[ProjectLine] = field(default_factory=list)
    invoices: dict[InvoiceStatus, InvoiceTotals] = field(default_factory=dict)
    recent_invoices: Related[InvoiceRow] = field(default_factory=lambda: Related([], 0))
    people: list[ServingPerson] = field(default_factory=list)
    # A partner's view: the customers of the projects they work on.
    partner_customers: list[AccountRow] = field(default_factory=list)
    customers: int = 0
    active_projects: int = 0
    employees: int = 0


async def _projects(session: AsyncSession, *conditions: object) -> list[ProjectLine]:
    rows = await session.execute(
        select(
            Project.id,
            Project.code,
            Project.name,
            Project.status,
            Account.name,
            Project.end_date,
            Project.account_id,
            Project.budget_hours,
        )
        .join(Account, Account.id == Project.account_id)
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(STATUS_ORDER, Project.end_date.desc().nulls_last(), Project.id.desc())
        .limit(PROJECT_LIMIT)
    )
    return [ProjectLine(*row) for row in rows]


async def _with_progress(session: AsyncSession, lines: list[ProjectLine]) -> list[ProjectLine]:
    realised = await realised_by_project(session, [line.id for line in lines])
    return [
        ProjectLine(
            line.id,
            line.code,
            line.name,
            line.status,
            line.account_name,
            line.end_date,
            line.account_id,
            line.budget_hours,
            realised.get(line.id, (0, 0))[0],
        )
        for line in lines
    ]


async def _invoice_totals(
    session: AsyncSession, today: date, *conditions: object
) -> dict[InvoiceStatus, InvoiceTotals]:
    status = invoice_status_sql(today)
    rows = await session.execute(
        select(status, func.count(), func.sum(Invoice.total_cents - Invoice.paid_cents))
        .where(*conditions)  # type: ignore[arg-type]
        .group_by(status)
    )
    return {InvoiceStatus(s): InvoiceTotals(c, int(o or 0)) for s, c, o in rows}


async def _staff_overview(
    session: AsyncSession, principal: Principal, today: date, overview: Overview
) -> Overview:
    if principal.employee_id is not None:
        managed_or_member = or_(
            Project.manager_id == principal.employee_id,
            Project.id.in_(
                select(ProjectMember.project_id).where(
                    ProjectMember.employee_id == principal.employee_id
                )
            ),
        )
        overview.projects = await _projects(session, managed_or_member)
    overview.customers = (
        await session.scalar(select(func.count()).where(Account.type == AccountType.CUSTOMER))
    ) or 0
    overview.active_projects = (
        await session.scalar(select(func.count()).where(Project.status == ProjectStatus.ACTIVE))
    ) or 0
    overview.employees = (await session.scalar(select(func.count(Employee.id)))) or 0
    overview.invoices = await _invoice_totals(session, today)
    return overview


async def _people(
    session: AsyncSession, principal: Principal, account: Account
) -> list[ServingPerson]:
    """The employees the reader may see who work for their account, in one query."""
    manages = (
        select(func.count(Project.id))
        .where(Project.manager_id == Employee.id, Project.account_id == account.id)
        .scalar_subquery()
    )
    member_of = (
        select(func.count(ProjectMember.project_id))
        .join(Project, Project.id == ProjectMember.project_id)
        .where(ProjectMember.employee_id == Employee.id, Project.account_id == account.id)
        .scalar_subquery()
    )
    is_manager = (
        Employee.id == account.account_manager_id
        if account.account_manager_id is not None
        else literal(False)
    )
    rank = case((is_manager, 0), (manages > 0, 1), (member_of > 0, 2), else_=3)
    rows = await session.execute(
        select(
            Employee.id,
            Employee.name,
            Employee.job_title,
            Employee.email,
            Employee.work_phone,
            rank,
        )
        .where(visible(RecordKind.EMPLOYEE, principal.tokens, Employee.id), rank < 3)
        .order_by(rank, Employee.name, Employee.id)
        .limit(PEOPLE_LIMIT)
    )
    roles = list(ServiceRole)
    return [
        ServingPerson(id_, name, title, email, phone, roles[rank_])
        for id_, name, title, email, phone, rank_ in rows
    ]


async def _customer_overview(
    session: AsyncSession, principal: Principal, today: date, overview: Overview, account: Account
) -> Overview:
    visible_invoices = visible(RecordKind.INVOICE, principal.tokens, Invoice.id)
    overview.projects = await _with_progress(
        session,
        await _projects(
            session,
            Project.account_id == account.id,
            visible(RecordKind.PROJECT, principal.tokens, Project.id),
        ),
    )
    overview.invoices = await _invoice_totals(
        session, today, Invoice.account_id == account.id, visible_invoices
    )
    overview.recent_invoices = await invoice_rows(
        session, principal, today, Invoice.account_id == account.id, limit=INVOICE_LIMIT
    )
    overview.people = await _people(session, principal, account)
    overview.account_manager = next(
        (p for p in overview.people if p.role is ServiceRole.ACCOUNT_MANAGER), None
    )
    return overview


async def _partner_overview(
    session: AsyncSession, principal: Principal, overview: Overview, account: Account
) -> Overview:
    partnered = Project.id.in_(
        select(ProjectPartner.project_id).where(ProjectPartner.account_id == account.id)
    )
    visible_projects = visible(RecordKind.PROJECT, principal.tokens, Project.id)
    overview.projects = await _with_progress(
        session, await _projects(session, partnered, visible_projects)
    )
    rows = await session.execute(
        select(Account.id, Account.code, Account.name)
        .where(
            Account.id.in_(select(Project.account_id).where(partnered, visible_projects)),
            visible(RecordKind.ACCOUNT, principal.tokens, Account.id),
        )
        .order_by(Account.name, Account.id)
        .limit(CUSTOMER_LIMIT)
    )
    overview.partner_customers = [AccountRow(*row) for row in rows]
    return overview


async def overview_for(session: AsyncSession, principal: Principal, today: date) -> Overview:
    overview = Overview()
    if principal.is_staff:
        return await _staff_overview(session, principal, today, overview)
    if principal.account_id is None:
        return overview
    account = await session.scalar(
        select(Account).where(
            Account.id == principal.account_id,
            visible(RecordKind.ACCOUNT, principal.tokens, Account.id),
        )
    )
    if account is None:
        return overview
    overview.account = account
    if account.type is AccountType.PARTNER:
        return await _partner_overview(session, principal, overview, account)
    return await _customer_overview(session, principal, today, overview, account)
